/**
 * DST cases of DESIGN §2 with the exact UTC instants expected (2026 transitions):
 *  Europe/Berlin     spring 2026-03-29 01:00Z (02:00 CET → 03:00 CEST), fall 2026-10-25 01:00Z (03:00 CEST → 02:00 CET)
 *  America/New_York  spring 2026-03-08 07:00Z (02:00 EST → 03:00 EDT),  fall 2026-11-01 06:00Z (02:00 EDT → 01:00 EST)
 * Shared by the library tests and the `acictl next` tests (which must show the same slots).
 */
export interface DstCase {
  name: string;
  expression: string;
  timeZone: string;
  /** Slots strictly after this instant. */
  from: string;
  /** The next slots, UTC. */
  expected: string[];
}

export const DST_CASES: DstCase[] = [
  // Europe/Berlin, spring forward: 02:00-03:00 local does not exist on 2026-03-29.
  { name: 'Berlin spring, 30 2: the skipped 02:30 runs once at the jump (03:00 CEST)', expression: '30 2 * * *', timeZone: 'Europe/Berlin', from: '2026-03-27T12:00:00Z',
    expected: ['2026-03-28T01:30:00Z', '2026-03-29T01:00:00Z', '2026-03-30T00:30:00Z'] },
  { name: 'Berlin spring, 0 2: the skipped 02:00 runs at the jump', expression: '0 2 * * *', timeZone: 'Europe/Berlin', from: '2026-03-27T12:00:00Z',
    expected: ['2026-03-28T01:00:00Z', '2026-03-29T01:00:00Z', '2026-03-30T00:00:00Z'] },
  { name: 'Berlin spring, 30 1: before the gap, unaffected', expression: '30 1 * * *', timeZone: 'Europe/Berlin', from: '2026-03-27T12:00:00Z',
    expected: ['2026-03-28T00:30:00Z', '2026-03-29T00:30:00Z', '2026-03-29T23:30:00Z'] },
  { name: 'Berlin spring, */30: every real half hour, none in the gap', expression: '*/30 * * * *', timeZone: 'Europe/Berlin', from: '2026-03-28T23:30:00Z',
    expected: ['2026-03-29T00:00:00Z', '2026-03-29T00:30:00Z', '2026-03-29T01:00:00Z', '2026-03-29T01:30:00Z', '2026-03-29T02:00:00Z', '2026-03-29T02:30:00Z'] },
  { name: 'Berlin spring, 0 *: every real hour', expression: '0 * * * *', timeZone: 'Europe/Berlin', from: '2026-03-28T23:30:00Z',
    expected: ['2026-03-29T00:00:00Z', '2026-03-29T01:00:00Z', '2026-03-29T02:00:00Z', '2026-03-29T03:00:00Z'] },
  // Europe/Berlin, fall back: 02:00-03:00 local occurs twice on 2026-10-25.
  { name: 'Berlin fall, 30 2: once, at the first 02:30 (CEST)', expression: '30 2 * * *', timeZone: 'Europe/Berlin', from: '2026-10-23T12:00:00Z',
    expected: ['2026-10-24T00:30:00Z', '2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z'] },
  { name: 'Berlin fall, 0 2: once, at the first 02:00', expression: '0 2 * * *', timeZone: 'Europe/Berlin', from: '2026-10-23T12:00:00Z',
    expected: ['2026-10-24T00:00:00Z', '2026-10-25T00:00:00Z', '2026-10-26T01:00:00Z'] },
  { name: 'Berlin fall, 30 1: before the repeated hour, unaffected', expression: '30 1 * * *', timeZone: 'Europe/Berlin', from: '2026-10-23T12:00:00Z',
    expected: ['2026-10-23T23:30:00Z', '2026-10-24T23:30:00Z', '2026-10-26T00:30:00Z'] },
  { name: 'Berlin fall, */30: both passes of the repeated hour', expression: '*/30 * * * *', timeZone: 'Europe/Berlin', from: '2026-10-24T23:00:00Z',
    expected: ['2026-10-24T23:30:00Z', '2026-10-25T00:00:00Z', '2026-10-25T00:30:00Z', '2026-10-25T01:00:00Z', '2026-10-25T01:30:00Z', '2026-10-25T02:00:00Z', '2026-10-25T02:30:00Z'] },
  { name: 'Berlin fall, 0 *: 02:00 CEST and 02:00 CET both run', expression: '0 * * * *', timeZone: 'Europe/Berlin', from: '2026-10-24T23:00:00Z',
    expected: ['2026-10-25T00:00:00Z', '2026-10-25T01:00:00Z', '2026-10-25T02:00:00Z', '2026-10-25T03:00:00Z'] },
  // America/New_York, spring forward: 02:00-03:00 local does not exist on 2026-03-08.
  { name: 'New York spring, 30 2: at the jump (03:00 EDT)', expression: '30 2 * * *', timeZone: 'America/New_York', from: '2026-03-06T12:00:00Z',
    expected: ['2026-03-07T07:30:00Z', '2026-03-08T07:00:00Z', '2026-03-09T06:30:00Z'] },
  { name: 'New York spring, 0 2: at the jump', expression: '0 2 * * *', timeZone: 'America/New_York', from: '2026-03-06T12:00:00Z',
    expected: ['2026-03-07T07:00:00Z', '2026-03-08T07:00:00Z', '2026-03-09T06:00:00Z'] },
  { name: 'New York spring, 30 1: unaffected', expression: '30 1 * * *', timeZone: 'America/New_York', from: '2026-03-06T12:00:00Z',
    expected: ['2026-03-07T06:30:00Z', '2026-03-08T06:30:00Z', '2026-03-09T05:30:00Z'] },
  { name: 'New York spring, */30: every real half hour', expression: '*/30 * * * *', timeZone: 'America/New_York', from: '2026-03-08T05:30:00Z',
    expected: ['2026-03-08T06:00:00Z', '2026-03-08T06:30:00Z', '2026-03-08T07:00:00Z', '2026-03-08T07:30:00Z', '2026-03-08T08:00:00Z'] },
  { name: 'New York spring, 0 *: every real hour', expression: '0 * * * *', timeZone: 'America/New_York', from: '2026-03-08T05:30:00Z',
    expected: ['2026-03-08T06:00:00Z', '2026-03-08T07:00:00Z', '2026-03-08T08:00:00Z', '2026-03-08T09:00:00Z'] },
  // America/New_York, fall back: 01:00-02:00 local occurs twice on 2026-11-01.
  { name: 'New York fall, 30 2: after the repeated hour, unaffected', expression: '30 2 * * *', timeZone: 'America/New_York', from: '2026-10-30T12:00:00Z',
    expected: ['2026-10-31T06:30:00Z', '2026-11-01T07:30:00Z', '2026-11-02T07:30:00Z'] },
  { name: 'New York fall, 0 2: 02:00 EST, once', expression: '0 2 * * *', timeZone: 'America/New_York', from: '2026-10-30T12:00:00Z',
    expected: ['2026-10-31T06:00:00Z', '2026-11-01T07:00:00Z', '2026-11-02T07:00:00Z'] },
  { name: 'New York fall, 30 1: once, at the first 01:30 (EDT)', expression: '30 1 * * *', timeZone: 'America/New_York', from: '2026-10-30T12:00:00Z',
    expected: ['2026-10-31T05:30:00Z', '2026-11-01T05:30:00Z', '2026-11-02T06:30:00Z'] },
  { name: 'New York fall, */30: both passes', expression: '*/30 * * * *', timeZone: 'America/New_York', from: '2026-11-01T04:00:00Z',
    expected: ['2026-11-01T04:30:00Z', '2026-11-01T05:00:00Z', '2026-11-01T05:30:00Z', '2026-11-01T06:00:00Z', '2026-11-01T06:30:00Z', '2026-11-01T07:00:00Z'] },
  { name: 'New York fall, 0 *: 01:00 EDT and 01:00 EST both run', expression: '0 * * * *', timeZone: 'America/New_York', from: '2026-11-01T04:00:00Z',
    expected: ['2026-11-01T05:00:00Z', '2026-11-01T06:00:00Z', '2026-11-01T07:00:00Z', '2026-11-01T08:00:00Z'] },
  // Vixie's classification: only a minute/hour (or seconds) field starting with '*' makes a wildcard job.
  { name: 'Berlin spring, 0 0-23/2 is fixed-time: 02:00 runs at the jump (croner alone would skip it)', expression: '0 0-23/2 * * *', timeZone: 'Europe/Berlin', from: '2026-03-28T22:00:00Z',
    expected: ['2026-03-28T23:00:00Z', '2026-03-29T01:00:00Z', '2026-03-29T02:00:00Z'] },
  { name: 'Berlin spring, 30 2,14 is fixed-time', expression: '30 2,14 * * *', timeZone: 'Europe/Berlin', from: '2026-03-28T12:00:00Z',
    expected: ['2026-03-28T13:30:00Z', '2026-03-29T01:00:00Z', '2026-03-29T12:30:00Z'] },
  { name: 'Berlin spring, */15 2 is a wildcard job: nothing on the spring day', expression: '*/15 2 * * *', timeZone: 'Europe/Berlin', from: '2026-03-28T12:00:00Z',
    expected: ['2026-03-30T00:00:00Z', '2026-03-30T00:15:00Z', '2026-03-30T00:30:00Z', '2026-03-30T00:45:00Z', '2026-03-31T00:00:00Z'] },
  { name: 'Berlin fall, */15 2 is a wildcard job: both passes', expression: '*/15 2 * * *', timeZone: 'Europe/Berlin', from: '2026-10-24T23:00:00Z',
    expected: ['2026-10-25T00:00:00Z', '2026-10-25T00:15:00Z', '2026-10-25T00:30:00Z', '2026-10-25T00:45:00Z', '2026-10-25T01:00:00Z', '2026-10-25T01:15:00Z', '2026-10-25T01:30:00Z', '2026-10-25T01:45:00Z', '2026-10-26T01:00:00Z'] },
  { name: 'Berlin spring, 0,30 2: two skipped times run once at the jump', expression: '0,30 2 * * *', timeZone: 'Europe/Berlin', from: '2026-03-28T12:00:00Z',
    expected: ['2026-03-29T01:00:00Z', '2026-03-30T00:00:00Z', '2026-03-30T00:30:00Z'] },
  { name: 'Berlin spring, 0 2,3: the skipped 02:00 and the real 03:00 are one slot', expression: '0 2,3 * * *', timeZone: 'Europe/Berlin', from: '2026-03-28T12:00:00Z',
    expected: ['2026-03-29T01:00:00Z', '2026-03-30T00:00:00Z', '2026-03-30T01:00:00Z'] },
  { name: 'Berlin fall, 0,30 2: first pass only', expression: '0,30 2 * * *', timeZone: 'Europe/Berlin', from: '2026-10-24T12:00:00Z',
    expected: ['2026-10-25T00:00:00Z', '2026-10-25T00:30:00Z', '2026-10-26T01:00:00Z'] },
  { name: 'Berlin spring, seconds field fixed (0 30 2 * * *): at the jump', expression: '0 30 2 * * *', timeZone: 'Europe/Berlin', from: '2026-03-28T12:00:00Z',
    expected: ['2026-03-29T01:00:00Z', '2026-03-30T00:30:00Z'] },
  { name: 'Berlin spring, seconds field wild (*/20 30 2 * * *): skipped', expression: '*/20 30 2 * * *', timeZone: 'Europe/Berlin', from: '2026-03-28T12:00:00Z',
    expected: ['2026-03-30T00:30:00Z', '2026-03-30T00:30:20Z', '2026-03-30T00:30:40Z'] },
  { name: 'Lord Howe spring (30-minute DST), 15 2: at the jump to 02:30', expression: '15 2 * * *', timeZone: 'Australia/Lord_Howe', from: '2026-10-02T12:00:00Z',
    expected: ['2026-10-02T15:45:00Z', '2026-10-03T15:30:00Z', '2026-10-04T15:15:00Z'] },
];
