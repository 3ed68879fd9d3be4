/** describe's one time form, and the watch's row-per-real-change rule (issue 21, item 5). */
import { readableDuration, readableTime } from '../../src/cli/output/time';
import { WatchRows } from '../../src/cli/output/watch-rows';

const NOW = Date.parse('2026-12-02T21:45:00Z');

test('an instant reads "2026-12-03 00:00 UTC (in 2h15m)": minutes, seconds only when set, no milliseconds', () => {
  expect(readableTime('2026-12-03T00:00:00.000Z', NOW)).toBe('2026-12-03 00:00 UTC (in 2h15m)');
  expect(readableTime(Date.parse('2026-12-02T21:40:30.250Z'), NOW)).toBe('2026-12-02 21:40:30 UTC (4m29s ago)');
  expect(readableTime(NOW, NOW)).toBe('2026-12-02 21:45 UTC (now)');
  expect(readableTime(undefined, NOW)).toBeUndefined();
  expect(readableTime('not a time', NOW)).toBeUndefined();
});

test('durations name the two largest units, never "135m"', () => {
  expect(readableDuration(135 * 60_000)).toBe('2h15m');
  expect(readableDuration(45_000)).toBe('45s');
  expect(readableDuration(2 * 3600_000 + 5_000)).toBe('2h');
  expect(readableDuration((3 * 24 + 4) * 3600_000 + 59_000)).toBe('3d4h');
  expect(readableDuration(400 * 86400_000)).toBe('1y35d');
  expect(readableDuration(0)).toBe('0s');
});

test('watch rows: an event that shows nothing new prints nothing; a deletion is marked', () => {
  type O = { metadata: { name: string }; phase: string; rv: number };
  const rows = new WatchRows<O>((o) => `${o.metadata.name} ${o.phase}`);
  const o = (name: string, phase: string, rv: number): O => ({ metadata: { name }, phase, rv });
  rows.seed([o('a', 'Pending', 1)]);
  const verdicts = [
    rows.next('MODIFIED', o('a', 'Pending', 2)), // a status write that changed no column
    rows.next('MODIFIED', o('a', 'Running', 3)),
    rows.next('MODIFIED', o('a', 'Running', 4)),
    rows.next('ADDED', o('b', 'Pending', 5)),
    rows.next('MODIFIED', o('a', 'Succeeded', 6)),
    rows.next('DELETED', o('a', 'Succeeded', 7)), // pruned by the history limit
    rows.next('ADDED', o('a', 'Pending', 8)), // the same name again is a new row
  ];
  expect(verdicts).toEqual(['unchanged', 'changed', 'unchanged', 'changed', 'changed', 'deleted', 'changed']);
});
