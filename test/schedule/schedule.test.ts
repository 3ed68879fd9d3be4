import { MAX_TIMER_MS, WAIT_CAP_MS } from '../../src/api/clock';
import { ScheduleOptions, compileSchedule, formatSlot, nextSlots } from '../../src/schedule';

const ms = (iso: string): number => Date.parse(iso);
const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString().replace('.000Z', 'Z'));

/** The first n slots after `from` by repeated next(). */
function nexts(expr: string, opts: ScheduleOptions, from: string, n: number): (string | null)[] {
  const s = compileSchedule(expr, opts);
  const out: (string | null)[] = [];
  let t = ms(from);
  for (let i = 0; i < n; i++) {
    const x = s.next(t);
    out.push(iso(x));
    if (x === null) break;
    t = x;
  }
  return out;
}

const UTC = { timeZone: 'UTC' };

describe('next(): macros, seconds, ranges, steps, lists, names, day matching', () => {
  const cases: [string, string, ScheduleOptions, string, string[]][] = [
    ['@hourly', '@hourly', UTC, '2026-01-01T00:30:00Z', ['2026-01-01T01:00:00Z', '2026-01-01T02:00:00Z', '2026-01-01T03:00:00Z']],
    ['@daily is strictly after', '@daily', UTC, '2026-01-01T00:00:00Z', ['2026-01-02T00:00:00Z', '2026-01-03T00:00:00Z']],
    ['@midnight', '@midnight', UTC, '2026-01-01T12:00:00Z', ['2026-01-02T00:00:00Z']],
    ['@daily in Berlin', '@daily', { timeZone: 'Europe/Berlin' }, '2026-01-01T12:00:00Z', ['2026-01-01T23:00:00Z', '2026-01-02T23:00:00Z']],
    ['@daily in New York (summer)', '@daily', { timeZone: 'America/New_York' }, '2026-07-01T12:00:00Z', ['2026-07-02T04:00:00Z']],
    ['@daily in Kolkata (+05:30)', '@daily', { timeZone: 'Asia/Kolkata' }, '2026-01-01T00:00:00Z', ['2026-01-01T18:30:00Z']],
    ['@weekly (Sundays)', '@weekly', UTC, '2026-01-01T00:00:00Z', ['2026-01-04T00:00:00Z', '2026-01-11T00:00:00Z']],
    ['@monthly', '@monthly', UTC, '2026-01-15T00:00:00Z', ['2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z']],
    ['@yearly', '@yearly', UTC, '2026-01-01T00:00:00Z', ['2027-01-01T00:00:00Z', '2028-01-01T00:00:00Z']],
    ['@annually', '@annually', UTC, '2026-06-01T00:00:00Z', ['2027-01-01T00:00:00Z']],
    ['seconds field */20', '*/20 * * * * *', UTC, '2026-01-01T00:00:00.500Z', ['2026-01-01T00:00:20Z', '2026-01-01T00:00:40Z', '2026-01-01T00:01:00Z']],
    ['seconds field fixed', '15 30 * * * *', UTC, '2026-01-01T00:00:00Z', ['2026-01-01T00:30:15Z', '2026-01-01T01:30:15Z']],
    ['every second', '* * * * * *', UTC, '2026-01-01T00:00:00.999Z', ['2026-01-01T00:00:01Z', '2026-01-01T00:00:02Z']],
    ['range of hours', '0 9-11 * * *', UTC, '2026-01-01T00:00:00Z', ['2026-01-01T09:00:00Z', '2026-01-01T10:00:00Z', '2026-01-01T11:00:00Z', '2026-01-02T09:00:00Z']],
    ['range with step', '0 0-23/6 * * *', UTC, '2026-01-01T00:00:00Z', ['2026-01-01T06:00:00Z', '2026-01-01T12:00:00Z', '2026-01-01T18:00:00Z', '2026-01-02T00:00:00Z']],
    ['step that does not divide 60', '*/25 * * * *', UTC, '2026-01-01T00:00:00Z', ['2026-01-01T00:25:00Z', '2026-01-01T00:50:00Z', '2026-01-01T01:00:00Z']],
    ['list', '0 8,12,18 * * *', UTC, '2026-01-01T10:00:00Z', ['2026-01-01T12:00:00Z', '2026-01-01T18:00:00Z', '2026-01-02T08:00:00Z']],
    ['list of ranges and steps', '0,30 1-2,20-22/2 * * *', UTC, '2026-01-01T00:00:00Z', ['2026-01-01T01:00:00Z', '2026-01-01T01:30:00Z', '2026-01-01T02:00:00Z', '2026-01-01T02:30:00Z', '2026-01-01T20:00:00Z', '2026-01-01T20:30:00Z', '2026-01-01T22:00:00Z']],
    ['weekday names (Fri → Mon)', '0 9 * * MON-FRI', UTC, '2026-01-02T10:00:00Z', ['2026-01-05T09:00:00Z', '2026-01-06T09:00:00Z']],
    ['day 7 is Sunday', '0 9 * * 7', UTC, '2026-01-01T00:00:00Z', ['2026-01-04T09:00:00Z']],
    ['month names', '0 0 1 JUN,dec *', UTC, '2026-01-01T00:00:00Z', ['2026-06-01T00:00:00Z', '2026-12-01T00:00:00Z', '2027-06-01T00:00:00Z']],
    ['day-of-month OR day-of-week (Vixie)', '0 12 1 * MON', UTC, '2026-01-01T00:00:00Z',
      ['2026-01-01T12:00:00Z', '2026-01-05T12:00:00Z', '2026-01-12T12:00:00Z', '2026-01-19T12:00:00Z', '2026-01-26T12:00:00Z', '2026-02-01T12:00:00Z', '2026-02-02T12:00:00Z']],
    ['stepped day-of-month with a weekday is an AND (Vixie)', '0 0 */2 * 1', UTC, '2026-01-01T00:00:00Z', ['2026-01-05T00:00:00Z', '2026-01-19T00:00:00Z', '2026-02-09T00:00:00Z', '2026-02-23T00:00:00Z']],
    ['day 31 skips short months', '0 0 31 * *', UTC, '2026-01-01T00:00:00Z', ['2026-01-31T00:00:00Z', '2026-03-31T00:00:00Z', '2026-05-31T00:00:00Z']],
    ['Feb 29', '0 0 29 2 *', UTC, '2026-01-01T00:00:00Z', ['2028-02-29T00:00:00Z', '2032-02-29T00:00:00Z']],
    ['Feb 29 on a Sunday (28 years apart)', '0 0 29 2 */7', UTC, '2026-01-01T00:00:00Z', ['2032-02-29T00:00:00Z', '2060-02-29T00:00:00Z']],
  ];
  test.each(cases)('%s', (_name, expr, opts, from, expected) => {
    expect(nexts(expr, opts, from, expected.length)).toEqual(expected);
  });
});

describe('latest()', () => {
  const cases: [string, string, ScheduleOptions, string, string | null][] = [
    ['@daily, mid-day', '@daily', UTC, '2026-01-05T12:00:00Z', '2026-01-05T00:00:00Z'],
    ['@daily, exactly at a slot (inclusive)', '@daily', UTC, '2026-01-05T00:00:00Z', '2026-01-05T00:00:00Z'],
    ['@daily, 1 ms before a slot', '@daily', UTC, '2026-01-04T23:59:59.999Z', '2026-01-04T00:00:00Z'],
    ['@yearly', '@yearly', UTC, '2026-06-01T00:00:00Z', '2026-01-01T00:00:00Z'],
    ['@yearly in New York', '@yearly', { timeZone: 'America/New_York' }, '2026-06-01T00:00:00Z', '2026-01-01T05:00:00Z'],
    ['@monthly', '@monthly', UTC, '2026-03-15T00:00:00Z', '2026-03-01T00:00:00Z'],
    ['@weekly', '@weekly', UTC, '2026-01-10T00:00:00Z', '2026-01-04T00:00:00Z'],
    ['seconds', '*/20 * * * * *', UTC, '2026-01-01T00:00:59Z', '2026-01-01T00:00:40Z'],
    ['weekdays over a weekend', '0 9 * * 1-5', UTC, '2026-01-04T12:00:00Z', '2026-01-02T09:00:00Z'],
    ['OR day matching', '0 12 1 * MON', UTC, '2026-02-01T11:00:00Z', '2026-01-26T12:00:00Z'],
    ['Feb 29', '0 0 29 2 *', UTC, '2027-01-01T00:00:00Z', '2024-02-29T00:00:00Z'],
    ['before startTime: none', '@daily', { timeZone: 'UTC', startTime: ms('2026-01-10T00:00:00Z') }, '2026-01-09T12:00:00Z', null],
    ['at startTime', '@daily', { timeZone: 'UTC', startTime: ms('2026-01-10T00:00:00Z') }, '2026-01-10T00:00:00Z', '2026-01-10T00:00:00Z'],
    ['after endTime: the last slot', '@daily', { timeZone: 'UTC', endTime: ms('2026-01-10T06:00:00Z') }, '2026-02-01T00:00:00Z', '2026-01-10T00:00:00Z'],
  ];
  test.each(cases)('%s', (_name, expr, opts, at, expected) => {
    expect(iso(compileSchedule(expr, opts).latest(ms(at)))).toBe(expected);
  });
});

describe('startTime and endTime', () => {
  test('startTime is inclusive: a slot at startTime is the first slot', () => {
    expect(nexts('@daily', { timeZone: 'UTC', startTime: ms('2026-01-10T00:00:00Z') }, '2026-01-01T00:00:00Z', 2)).toEqual(['2026-01-10T00:00:00Z', '2026-01-11T00:00:00Z']);
  });
  test('a startTime between slots starts at the next slot', () => {
    expect(nexts('@daily', { timeZone: 'UTC', startTime: ms('2026-01-10T12:00:00Z') }, '2026-01-01T00:00:00Z', 1)).toEqual(['2026-01-11T00:00:00Z']);
  });
  test('next() after startTime ignores it', () => {
    expect(nexts('@daily', { timeZone: 'UTC', startTime: ms('2020-12-01T00:00:00Z') }, '2026-01-01T12:00:00Z', 1)).toEqual(['2026-01-02T00:00:00Z']);
  });
  test('endTime is inclusive, then there are no more slots', () => {
    expect(nexts('@daily', { timeZone: 'UTC', endTime: ms('2026-01-03T00:00:00Z') }, '2026-01-01T00:00:00Z', 4)).toEqual(['2026-01-02T00:00:00Z', '2026-01-03T00:00:00Z', null]);
  });
  test('start and end together; startTime == endTime on a slot gives exactly one slot', () => {
    const at = ms('2026-01-05T00:00:00Z');
    const s = compileSchedule('@daily', { timeZone: 'UTC', startTime: at, endTime: at });
    expect(s.between(0, Number.MAX_SAFE_INTEGER, 10)).toEqual([at]);
    expect(s.latest(Number.MAX_SAFE_INTEGER)).toBe(at);
    expect(s.next(at)).toBeNull();
  });
  test('an end before the start: no slots at all', () => {
    const s = compileSchedule('@hourly', { timeZone: 'UTC', startTime: ms('2026-02-01T00:00:00Z'), endTime: ms('2026-01-01T00:00:00Z') });
    expect(s.next(0)).toBeNull();
    expect(s.latest(ms('2027-01-01T00:00:00Z'))).toBeNull();
  });
});

describe('between()', () => {
  const s = compileSchedule('@hourly', UTC);
  test('(from, to]: exclusive start, inclusive end, oldest first', () => {
    expect(s.between(ms('2026-01-01T00:00:00Z'), ms('2026-01-01T03:00:00Z'), 100).map(iso)).toEqual(['2026-01-01T01:00:00Z', '2026-01-01T02:00:00Z', '2026-01-01T03:00:00Z']);
  });
  test('limit keeps the oldest', () => {
    expect(s.between(ms('2026-01-01T00:00:00Z'), ms('2026-01-02T00:00:00Z'), 2).map(iso)).toEqual(['2026-01-01T01:00:00Z', '2026-01-01T02:00:00Z']);
  });
  test('empty range and zero limit', () => {
    expect(s.between(ms('2026-01-01T00:10:00Z'), ms('2026-01-01T00:50:00Z'), 10)).toEqual([]);
    expect(s.between(ms('2026-01-01T00:00:00Z'), ms('2026-01-01T05:00:00Z'), 0)).toEqual([]);
    expect(s.between(ms('2026-01-01T05:00:00Z'), ms('2026-01-01T00:00:00Z'), 10)).toEqual([]);
  });
  test('bounded by startTime and endTime', () => {
    const b = compileSchedule('@hourly', { timeZone: 'UTC', startTime: ms('2026-01-01T02:00:00Z'), endTime: ms('2026-01-01T04:00:00Z') });
    expect(b.between(ms('2026-01-01T00:00:00Z'), ms('2026-01-02T00:00:00Z'), 100).map(iso)).toEqual(['2026-01-01T02:00:00Z', '2026-01-01T03:00:00Z', '2026-01-01T04:00:00Z']);
  });
  test('nextSlots is between() from an instant', () => {
    expect(nextSlots('@daily', UTC, ms('2026-01-01T00:00:00Z'), 3).map(iso)).toEqual(['2026-01-02T00:00:00Z', '2026-01-03T00:00:00Z', '2026-01-04T00:00:00Z']);
    expect(nextSlots('@daily', { timeZone: 'UTC', endTime: ms('2026-01-02T00:00:00Z') }, ms('2026-01-01T00:00:00Z'), 3).map(iso)).toEqual(['2026-01-02T00:00:00Z']);
  });
});

describe('dataInterval(): [previous slot, slot)', () => {
  const cases: [string, string, ScheduleOptions, string, string, string][] = [
    ['@daily run at D+1 covers day D', '@daily', UTC, '2026-01-02T00:00:00Z', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'],
    ['@hourly', '@hourly', UTC, '2026-01-02T05:00:00Z', '2026-01-02T04:00:00Z', '2026-01-02T05:00:00Z'],
    ['@monthly covers the previous month', '@monthly', UTC, '2026-03-01T00:00:00Z', '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z'],
    ['@yearly covers the previous year', '@yearly', UTC, '2026-01-01T00:00:00Z', '2025-01-01T00:00:00Z', '2026-01-01T00:00:00Z'],
    ['weekdays: Monday covers from Friday', '0 9 * * 1-5', UTC, '2026-01-05T09:00:00Z', '2026-01-02T09:00:00Z', '2026-01-05T09:00:00Z'],
    ['first slot after startTime: one period back', '@daily', { timeZone: 'UTC', startTime: ms('2020-12-01T00:00:00Z') }, '2020-12-01T00:00:00Z', '2020-11-30T00:00:00Z', '2020-12-01T00:00:00Z'],
    ['first weekday slot: next-minus-slot back', '0 9 * * 1-5', { timeZone: 'UTC', startTime: ms('2026-01-05T00:00:00Z') }, '2026-01-05T09:00:00Z', '2026-01-04T09:00:00Z', '2026-01-05T09:00:00Z'],
    ['@daily over the spring-forward day in Berlin is 23 h', '@daily', { timeZone: 'Europe/Berlin' }, '2026-03-29T22:00:00Z', '2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z'],
    ['@daily over the fall-back day in Berlin is 25 h', '@daily', { timeZone: 'Europe/Berlin' }, '2026-10-25T23:00:00Z', '2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z'],
  ];
  test.each(cases)('%s', (_name, expr, opts, slot, start, end) => {
    const di = compileSchedule(expr, opts).dataInterval(ms(slot));
    expect([iso(di.start), iso(di.end)]).toEqual([start, end]);
  });
  test('the only slot (start == end): one unbounded period back', () => {
    const at = ms('2026-01-05T00:00:00Z');
    const di = compileSchedule('@daily', { timeZone: 'UTC', startTime: at, endTime: at }).dataInterval(at);
    expect([iso(di.start), iso(di.end)]).toEqual(['2026-01-04T00:00:00Z', '2026-01-05T00:00:00Z']);
  });
});

describe('far slots: @yearly and @monthly', () => {
  test('ten @yearly slots in New York, each local midnight on Jan 1 (EST)', () => {
    const slots = nextSlots('@yearly', { timeZone: 'America/New_York' }, ms('2026-06-01T00:00:00Z'), 10);
    expect(slots.map((t) => formatSlot(t, 'America/New_York'))).toEqual(Array.from({ length: 10 }, (_, i) => `${2027 + i}-01-01T00:00:00-05:00`));
  });
  test('24 @monthly slots in Berlin switch between +01:00 and +02:00 with DST', () => {
    const slots = nextSlots('@monthly', { timeZone: 'Europe/Berlin' }, ms('2026-01-15T00:00:00Z'), 24);
    const text = slots.map((t) => formatSlot(t, 'Europe/Berlin'));
    expect(text[0]).toBe('2026-02-01T00:00:00+01:00');
    expect(text[2]).toBe('2026-04-01T00:00:00+02:00');
    expect(text[8]).toBe('2026-10-01T00:00:00+02:00');
    expect(text[9]).toBe('2026-11-01T00:00:00+01:00');
    expect(text[23]).toBe('2028-01-01T00:00:00+01:00');
    for (const t of text) expect(t).toMatch(/^\d{4}-\d{2}-01T00:00:00\+0[12]:00$/);
  });
  test('a @yearly slot centuries ahead and back', () => {
    const s = compileSchedule('@yearly', { timeZone: 'Europe/Berlin' });
    expect(formatSlot(s.next(ms('2400-06-01T00:00:00Z'))!, 'Europe/Berlin')).toBe('2401-01-01T00:00:00+01:00');
    expect(formatSlot(s.latest(ms('1990-06-01T00:00:00Z'))!, 'Europe/Berlin')).toBe('1990-01-01T00:00:00+01:00');
  });
  test('a @yearly slot from just before the new year, and exactly at it', () => {
    const s = compileSchedule('@yearly', UTC);
    expect(iso(s.next(ms('2026-12-31T23:59:59.999Z')))).toBe('2027-01-01T00:00:00Z');
    expect(iso(s.next(ms('2027-01-01T00:00:00Z')))).toBe('2028-01-01T00:00:00Z');
    expect(iso(s.latest(ms('2027-01-01T00:00:00Z')))).toBe('2027-01-01T00:00:00Z');
  });
});

describe('formatSlot', () => {
  test.each([
    ['2026-03-29T01:00:00Z', 'Europe/Berlin', '2026-03-29T03:00:00+02:00'],
    ['2026-03-29T00:59:59Z', 'Europe/Berlin', '2026-03-29T01:59:59+01:00'],
    ['2026-11-01T06:30:00Z', 'America/New_York', '2026-11-01T01:30:00-05:00'],
    ['2026-11-01T05:30:00Z', 'America/New_York', '2026-11-01T01:30:00-04:00'],
    ['2026-01-01T00:00:00Z', 'UTC', '2026-01-01T00:00:00+00:00'],
    ['2026-01-01T00:00:00.250Z', 'UTC', '2026-01-01T00:00:00.250+00:00'],
    ['2026-01-01T00:00:00Z', 'Asia/Kathmandu', '2026-01-01T05:45:00+05:45'],
    ['2026-01-01T00:00:00Z', 'America/St_Johns', '2025-12-31T20:30:00-03:30'],
    ['1850-01-01T00:00:00Z', 'Europe/Berlin', '1850-01-01T00:53:28+00:53:28'],
  ])('%s in %s', (at, tz, text) => {
    expect(formatSlot(ms(at), tz)).toBe(text);
    // The text is a valid ISO 8601 instant that parses back to the same instant (minute offsets).
    if (!/:\d\d:\d\d$/.test(text.slice(19))) expect(Date.parse(text)).toBe(ms(at));
  });
});

describe('inputs outside the supported range', () => {
  const s = compileSchedule('@daily', UTC);
  test('non-finite instants give null instead of hanging', () => {
    expect(s.next(Number.NaN)).toBeNull();
    expect(s.next(Number.POSITIVE_INFINITY)).toBeNull();
    expect(s.latest(Number.NaN)).toBeNull();
    expect(s.latest(Number.NEGATIVE_INFINITY)).toBeNull();
    expect(s.between(Number.NaN, ms('2026-01-01T00:00:00Z'), 5)).toEqual([]);
  });
  test('latest(+Infinity) is the last slot of the supported range', () => {
    expect(iso(compileSchedule('@yearly', UTC).latest(Number.POSITIVE_INFINITY))).toBe('9999-01-01T00:00:00Z');
  });
  test('a slot near the epoch and before it', () => {
    expect(iso(s.next(-1))).toBe('1970-01-01T00:00:00Z');
    expect(iso(s.latest(-1))).toBe('1969-12-31T00:00:00Z');
  });
});

describe('long waits through the timer cap (DESIGN §7.8) with a fake clock', () => {
  test.each([
    ['@yearly', 'America/New_York', ['2027-01-01T05:00:00Z', '2028-01-01T05:00:00Z', '2029-01-01T05:00:00Z']],
    ['@monthly', 'Europe/Berlin', ['2026-01-31T23:00:00Z', '2026-02-28T23:00:00Z', '2026-03-31T22:00:00Z']],
  ])('%s in %s fires exactly at its slots, waking at least once per capped wait', (expr, tz, expected) => {
    const s = compileSchedule(expr, { timeZone: tz });
    let now = ms('2026-01-15T12:34:56Z');
    const fired: string[] = [];
    let wakes = 0;
    while (fired.length < expected.length) {
      const due = s.next(now - 1);
      if (due !== null && due <= now) {
        fired.push(iso(due)!);
        now += 1; // the run starts; plan again just after it
        continue;
      }
      const wait = Math.min(due! - now, WAIT_CAP_MS);
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(MAX_TIMER_MS);
      now += wait;
      wakes++;
    }
    expect(fired).toEqual(expected);
    // One wake per cap interval plus the wake at each slot.
    expect(wakes).toBeGreaterThanOrEqual(Math.floor((ms(expected[expected.length - 1]) - ms('2026-01-15T12:34:56Z')) / WAIT_CAP_MS));
  });
});
