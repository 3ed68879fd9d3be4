import { compileSchedule, formatSlot } from '../../src/schedule';
import { DST_CASES } from './dst-cases';

const ms = (iso: string): number => Date.parse(iso);
const iso = (t: number): string => new Date(t).toISOString().replace('.000Z', 'Z');

describe('DST (DESIGN §2): exact UTC instants', () => {
  test.each(DST_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const s = compileSchedule(c.expression, { timeZone: c.timeZone });
    // next() step by step
    const got: string[] = [];
    let t = ms(c.from);
    for (const _ of c.expected) {
      const n = s.next(t);
      expect(n).not.toBeNull();
      got.push(iso(n!));
      t = n!;
    }
    expect(got).toEqual(c.expected);
    // between() gives the same slots in one call
    expect(s.between(ms(c.from), ms(c.expected[c.expected.length - 1]), 100).map(iso)).toEqual(c.expected);
    // latest() walks the same slots backwards
    const back: string[] = [];
    let at = ms(c.expected[c.expected.length - 1]);
    for (const _ of c.expected) {
      const l = s.latest(at);
      expect(l).not.toBeNull();
      back.push(iso(l!));
      at = l! - 1;
    }
    expect(back.reverse()).toEqual(c.expected);
    // and latest() between two slots is the earlier one
    for (let i = 0; i + 1 < c.expected.length; i++) {
      expect(iso(s.latest(ms(c.expected[i + 1]) - 1)!)).toBe(c.expected[i]);
    }
  });
});

describe('DST: local rendering of the slots', () => {
  test('Berlin spring fixed-time slot shows as 03:00+02:00', () => {
    const s = compileSchedule('30 2 * * *', { timeZone: 'Europe/Berlin' });
    expect(formatSlot(s.next(ms('2026-03-28T12:00:00Z'))!, 'Europe/Berlin')).toBe('2026-03-29T03:00:00+02:00');
  });
  test('Berlin fall wildcard slots show the repeated hour twice, with different offsets', () => {
    const s = compileSchedule('0 * * * *', { timeZone: 'Europe/Berlin' });
    const slots = s.between(ms('2026-10-24T23:30:00Z'), ms('2026-10-25T02:00:00Z'), 10);
    expect(slots.map((t) => formatSlot(t, 'Europe/Berlin'))).toEqual(['2026-10-25T02:00:00+02:00', '2026-10-25T02:00:00+01:00', '2026-10-25T03:00:00+01:00']);
  });
  test('New York fall fixed-time 01:30 shows once, as EDT', () => {
    const s = compileSchedule('30 1 * * *', { timeZone: 'America/New_York' });
    const slots = s.between(ms('2026-11-01T00:00:00Z'), ms('2026-11-01T12:00:00Z'), 10);
    expect(slots.map((t) => formatSlot(t, 'America/New_York'))).toEqual(['2026-11-01T01:30:00-04:00']);
  });
});

describe('DST: data intervals stay contiguous across transitions', () => {
  test.each(DST_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const s = compileSchedule(c.expression, { timeZone: c.timeZone });
    for (let i = 1; i < c.expected.length; i++) {
      const di = s.dataInterval(ms(c.expected[i]));
      expect([iso(di.start), iso(di.end)]).toEqual([c.expected[i - 1], c.expected[i]]);
    }
  });
});

describe('DST: queries from inside a gap or a repeated hour', () => {
  test('next() from inside the repeated hour (second pass) of a fixed-time job goes to the next day', () => {
    const s = compileSchedule('30 2 * * *', { timeZone: 'Europe/Berlin' });
    // 01:10Z = 02:10 CET, second pass; 02:30 CET would be a second run of the day.
    expect(iso(s.next(ms('2026-10-25T01:10:00Z'))!)).toBe('2026-10-26T01:30:00Z');
    expect(iso(s.latest(ms('2026-10-25T01:40:00Z'))!)).toBe('2026-10-25T00:30:00Z');
  });
  test('next() from the first pass of the repeated hour, wildcard job, finds the second pass', () => {
    const s = compileSchedule('0 * * * *', { timeZone: 'Europe/Berlin' });
    // 00:40Z = 02:40 CEST; the next real hour start is 02:00 CET = 01:00Z.
    expect(iso(s.next(ms('2026-10-25T00:40:00Z'))!)).toBe('2026-10-25T01:00:00Z');
  });
  test('next() exactly at the jump instant is strictly after it', () => {
    const s = compileSchedule('30 2 * * *', { timeZone: 'Europe/Berlin' });
    expect(iso(s.next(ms('2026-03-29T01:00:00Z'))!)).toBe('2026-03-30T00:30:00Z');
    expect(iso(s.next(ms('2026-03-29T01:00:00Z') - 1)!)).toBe('2026-03-29T01:00:00Z');
    expect(iso(s.latest(ms('2026-03-29T01:00:00Z'))!)).toBe('2026-03-29T01:00:00Z');
    expect(iso(s.latest(ms('2026-03-29T01:00:00Z') - 1)!)).toBe('2026-03-28T01:30:00Z');
  });
  test('a startTime after the jump instant excludes the jump slot', () => {
    const s = compileSchedule('30 2 * * *', { timeZone: 'Europe/Berlin', startTime: ms('2026-03-29T01:00:01Z') });
    expect(iso(s.next(0)!)).toBe('2026-03-30T00:30:00Z');
  });
  test('a startTime exactly at the jump instant includes it', () => {
    const s = compileSchedule('30 2 * * *', { timeZone: 'Europe/Berlin', startTime: ms('2026-03-29T01:00:00Z') });
    expect(iso(s.next(0)!)).toBe('2026-03-29T01:00:00Z');
  });
});
