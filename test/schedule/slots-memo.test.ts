/**
 * Slots remembers spans it knows to be slot-free; answers must be exactly those of a fresh search.
 * Random queries clustered around a few instants (as a controller asks them), across DST changes.
 */
import { parseExpression } from '../../src/schedule/expression';
import { Slots } from '../../src/schedule/slots';
import { zoneFor } from '../../src/schedule/zone';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const CASES: [string, string][] = [
  ['30 2 * * *', 'America/New_York'], // in the spring-forward gap, repeated at fall-back
  ['0 1 * * *', 'Europe/London'],
  ['*/7 * * * *', 'UTC'],
  ['15 */3 * * 1-5', 'Australia/Lord_Howe'], // 30-minute DST shift
  ['0 0 29 2 *', 'UTC'], // leap days only
  ['@hourly', 'Asia/Kolkata'],
];

describe.each(CASES)('%s in %s', (expression, zone) => {
  test('memoised next/latest equal a fresh search for 1,000 clustered queries', () => {
    const parsed = parseExpression(expression);
    const memo = new Slots(parsed, zoneFor(zone));
    const rand = rng(expression.length * 7919 + zone.length);
    const base = Date.UTC(2026, 0, 1);
    const centres = Array.from({ length: 6 }, () => base + Math.floor(rand() * 2 * 365 * 86_400_000));
    let compared = 0;
    for (let i = 0; i < 1000; i++) {
      const c = centres[Math.floor(rand() * centres.length)]!;
      const t = c + Math.floor((rand() - 0.5) * 4 * 86_400_000);
      const op = Math.floor(rand() * 3);
      const fresh = new Slots(parsed, zoneFor(zone));
      if (op === 0) expect(memo.next(t, false)).toBe(fresh.next(t, false));
      else if (op === 1) expect(memo.next(t, true)).toBe(fresh.next(t, true));
      else expect(memo.latest(t)).toBe(fresh.latest(t));
      compared++;
      // exact slot instants and their neighbours, where the inclusive/exclusive edges are
      const s = fresh.next(t, false);
      if (s !== null) {
        for (const u of [s - 1, s, s + 1]) {
          expect(memo.next(u, false)).toBe(new Slots(parsed, zoneFor(zone)).next(u, false));
          expect(memo.next(u, true)).toBe(new Slots(parsed, zoneFor(zone)).next(u, true));
          expect(memo.latest(u)).toBe(new Slots(parsed, zoneFor(zone)).latest(u));
        }
      }
    }
    expect(compared).toBe(1000);
  });
});
