/**
 * Property-based tests (fast-check) of the schedule library, including an independent brute-force
 * oracle: walk every real minute around a DST transition, read the wall clock with Intl, and apply
 * the Vixie rules literally. The library (croner + offset pieces) must agree with it exactly.
 */
import fc from 'fast-check';
import { compileSchedule } from '../../src/schedule';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

// ---- random cron expressions, with the set of values each field matches --------------------------

interface Field {
  text: string;
  values: Set<number>;
}

function range(lo: number, hi: number, step = 1): number[] {
  const out: number[] = [];
  for (let v = lo; v <= hi; v += step) out.push(v);
  return out;
}

/** One list item of a field with values lo..hi (dow: lo 0, hi 6). */
function itemArb(lo: number, hi: number, bias: number[]): fc.Arbitrary<Field> {
  const val = fc.oneof(fc.constantFrom(...bias), fc.integer({ min: lo, max: hi }));
  const step = fc.integer({ min: 1, max: Math.max(1, Math.min(hi - lo + 1, 30)) });
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant({ text: '*', values: new Set(range(lo, hi)) }) },
    { weight: 2, arbitrary: step.map((s) => ({ text: `*/${s}`, values: new Set(range(lo, hi, s)) })) },
    { weight: 4, arbitrary: val.map((v) => ({ text: String(v), values: new Set([v]) })) },
    { weight: 2, arbitrary: fc.tuple(val, val).map(([a, b]) => { const [x, y] = a <= b ? [a, b] : [b, a]; return { text: `${x}-${y}`, values: new Set(range(x, y)) }; }) },
    { weight: 1, arbitrary: fc.tuple(val, val, step).map(([a, b, s]) => { const [x, y] = a <= b ? [a, b] : [b, a]; return { text: `${x}-${y}/${s}`, values: new Set(range(x, y, s)) }; }) },
  );
}

function fieldArb(lo: number, hi: number, bias: number[]): fc.Arbitrary<Field> {
  return fc.array(itemArb(lo, hi, bias), { minLength: 1, maxLength: 3 }).map((items) => ({
    text: items.map((i) => i.text).join(','),
    values: new Set(items.flatMap((i) => [...i.values])),
  }));
}

interface Cron5 {
  text: string;
  minute: Field;
  hour: Field;
  dom: Field;
  month: Field;
  dow: Field;
}

/** 5-field expressions biased towards the DST hours (1-3 local) and unrestricted days. */
const cron5Arb: fc.Arbitrary<Cron5> = fc
  .record({
    minute: fieldArb(0, 59, [0, 15, 30, 45]),
    hour: fieldArb(0, 23, [1, 2, 3]),
    dom: fc.oneof({ weight: 4, arbitrary: fc.constant({ text: '*', values: new Set(range(1, 31)) }) }, { weight: 1, arbitrary: fieldArb(1, 31, [1, 8, 25, 29]) }),
    month: fc.oneof({ weight: 4, arbitrary: fc.constant({ text: '*', values: new Set(range(1, 12)) }) }, { weight: 1, arbitrary: fieldArb(1, 12, [3, 10, 11]) }),
    dow: fc.oneof({ weight: 4, arbitrary: fc.constant({ text: '*', values: new Set(range(0, 6)) }) }, { weight: 1, arbitrary: fieldArb(0, 6, [0, 6]) }),
  })
  .filter((c) => {
    // Skip day fields that can never fire (the library rejects them, tested elsewhere).
    const domOnly = c.dow.text === '*' || ((c.dom.text.startsWith('*') || c.dow.text.startsWith('*')) && c.dom.text !== '*');
    const lens = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    return !domOnly || [...c.month.values].some((m) => [...c.dom.values].some((d) => d <= lens[m - 1]));
  })
  .map((c) => ({ ...c, text: [c.minute.text, c.hour.text, c.dom.text, c.month.text, c.dow.text].join(' ') }));

/** Any expression the library accepts: 5 fields, 6 with seconds, or a macro. */
const anyExprArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: cron5Arb.map((c) => c.text) },
  { weight: 2, arbitrary: fc.tuple(fieldArb(0, 59, [0, 30]), cron5Arb).map(([s, c]) => `${s.text} ${c.text}`) },
  { weight: 1, arbitrary: fc.constantFrom('@hourly', '@daily', '@weekly', '@monthly', '@yearly') },
);

// ---- the oracle ----------------------------------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();
const wallClocks = new Map<string, number>();
/** The wall-clock time at instant t in tz, as naive epoch milliseconds (memoised: runs share minutes). */
function wallClock(t: number, tz: string): number {
  const key = `${tz} ${t}`;
  const hit = wallClocks.get(key);
  if (hit !== undefined) return hit;
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(tz, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(t)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const local = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  wallClocks.set(key, local);
  return local;
}

function matchesLocal(c: Cron5, local: number): boolean {
  const d = new Date(local);
  if (!c.minute.values.has(d.getUTCMinutes()) || !c.hour.values.has(d.getUTCHours()) || !c.month.values.has(d.getUTCMonth() + 1)) return false;
  const dom = c.dom.values.has(d.getUTCDate());
  const dow = c.dow.values.has(d.getUTCDay());
  // Vixie: a day field starting with '*' makes the day match an AND, otherwise OR.
  return c.dom.text.startsWith('*') || c.dow.text.startsWith('*') ? dom && dow : dom || dow;
}

/** Every slot in [from, to] by walking each real minute and applying DESIGN §2 literally. */
function oracle(c: Cron5, tz: string, from: number, to: number): number[] {
  const wild = c.minute.text.startsWith('*') || c.hour.text.startsWith('*');
  const out: number[] = [];
  for (let t = from; t <= to; t += MIN) {
    const here = wallClock(t, tz);
    const offset = here - t;
    const prevOffset = wallClock(t - MIN, tz) - (t - MIN);
    if (!wild && offset > prevOffset) {
      // t is the jump of a spring-forward: skipped wall-clock times of a fixed-time job run now.
      let skipped = false;
      for (let l = t + prevOffset; l < here; l += MIN) skipped ||= matchesLocal(c, l);
      if (skipped) {
        out.push(t);
        continue;
      }
    }
    if (!matchesLocal(c, here)) continue;
    if (!wild) {
      // A fixed-time job runs only at the first real occurrence of a wall-clock time: is there an
      // earlier instant, under the offset of three hours ago, that showed the same wall clock?
      const olderOffset = wallClock(t - 3 * HOUR, tz) - (t - 3 * HOUR);
      const twin = here - olderOffset;
      if (olderOffset !== offset && twin < t && wallClock(twin, tz) === here) continue;
    }
    out.push(t);
  }
  return out;
}

const TRANSITIONS: [string, string][] = [
  ['Europe/Berlin', '2026-03-29T01:00:00Z'],
  ['Europe/Berlin', '2026-10-25T01:00:00Z'],
  ['America/New_York', '2026-03-08T07:00:00Z'],
  ['America/New_York', '2026-11-01T06:00:00Z'],
  // Lord Howe Island moves by 30 minutes: 02:00 → 02:30 in October, 02:00 → 01:30 in April.
  ['Australia/Lord_Howe', '2026-10-03T15:30:00Z'],
  ['Australia/Lord_Howe', '2026-04-04T15:00:00Z'],
];

describe('library == brute-force oracle around DST transitions', () => {
  test.each(TRANSITIONS)('%s %s', (tz, at) => {
    const from = Date.parse(at) - 14 * HOUR;
    const to = Date.parse(at) + 14 * HOUR;
    fc.assert(
      fc.property(cron5Arb, (c) => {
        const s = compileSchedule(c.text, { timeZone: tz });
        const got = s.between(from - 1, to, 10_000);
        expect(got.map((t) => new Date(t).toISOString())).toEqual(oracle(c, tz, from, to).map((t) => new Date(t).toISOString()));
      }),
      { numRuns: 100 },
    );
  });
});

// ---- structural properties -----------------------------------------------------------------------

const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'America/Sao_Paulo', 'Pacific/Chatham'];
const T0 = Date.parse('2020-01-01T00:00:00Z');
const T1 = Date.parse('2031-01-01T00:00:00Z');
/** Instants anywhere in 2020-2030, or within two days of a 2026 DST transition. */
const instantArb = fc.oneof(
  fc.integer({ min: T0, max: T1 }),
  fc.tuple(fc.constantFrom(...TRANSITIONS.map(([, at]) => Date.parse(at))), fc.integer({ min: -2 * DAY, max: 2 * DAY })).map(([a, d]) => a + d),
);
const caseArb = fc.record({ expr: anyExprArb, tz: fc.constantFrom(...ZONES), t: instantArb });

describe('properties', () => {
  test('next() is strictly increasing: never two slots at one instant', () => {
    fc.assert(
      fc.property(caseArb, ({ expr, tz, t }) => {
        const s = compileSchedule(expr, { timeZone: tz });
        let prev = t;
        for (let i = 0; i < 40; i++) {
          const n = s.next(prev);
          if (n === null) break;
          expect(n).toBeGreaterThan(prev);
          prev = n;
        }
      }),
      { numRuns: 300 },
    );
  });

  test('between() equals iterating next()', () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 1, max: 3 * DAY }), fc.integer({ min: 0, max: 60 }), ({ expr, tz, t }, span, limit) => {
        const s = compileSchedule(expr, { timeZone: tz });
        const iterated: number[] = [];
        for (let x = s.next(t); x !== null && x <= t + span && iterated.length < limit; x = s.next(x)) iterated.push(x);
        expect(s.between(t, t + span, limit)).toEqual(iterated);
      }),
      { numRuns: 200 },
    );
  });

  test('latest(next(t)) == next(t), and nothing lies between latest(t) and next(t)', () => {
    fc.assert(
      fc.property(caseArb, ({ expr, tz, t }) => {
        const s = compileSchedule(expr, { timeZone: tz });
        const n = s.next(t);
        if (n !== null) expect(s.latest(n)).toBe(n);
        const l = s.latest(t);
        if (l !== null) {
          expect(l).toBeLessThanOrEqual(t);
          expect(s.next(l)).toBe(n);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('startTime/endTime only cut: bounded slots are the unbounded slots inside [start, end]', () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 0, max: 6 * HOUR }), fc.integer({ min: 0, max: 6 * HOUR }), ({ expr, tz, t }, a, b) => {
        const start = t + a;
        const end = start + b;
        const free = compileSchedule(expr, { timeZone: tz });
        const bounded = compileSchedule(expr, { timeZone: tz, startTime: start, endTime: end });
        // Large enough a limit for a per-second schedule over the whole window (at most 14 h).
        const all = free.between(t - HOUR, end + HOUR, 100_000);
        const inside = all.filter((x) => x >= start && x <= end);
        expect(bounded.between(t - HOUR, end + HOUR, 100_000)).toEqual(inside);
        expect(bounded.latest(end + HOUR)).toBe(inside.length ? inside[inside.length - 1] : null);
        expect(bounded.next(t - HOUR)).toBe(inside.length ? inside[0] : null);
      }),
      { numRuns: 100 },
    );
  });

  test('data intervals tile time: each ends at its slot and starts at the previous slot', () => {
    fc.assert(
      fc.property(caseArb, ({ expr, tz, t }) => {
        const s = compileSchedule(expr, { timeZone: tz });
        const slots = s.between(t, t + 3 * DAY, 20);
        for (let i = 1; i < slots.length; i++) expect(s.dataInterval(slots[i])).toEqual({ start: slots[i - 1], end: slots[i] });
      }),
      { numRuns: 100 },
    );
  });
});
