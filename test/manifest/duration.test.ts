import { formatDuration, isDuration, parseDuration } from '../../src/api/duration';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['1m', 60_000],
    ['1h30m', 5_400_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1d2h3m4s5ms', 86_400_000 + 7_200_000 + 180_000 + 4000 + 5],
    ['1.5h', 5_400_000],
    ['0', 0],
    ['0s', 0],
    ['90m', 5_400_000],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', ' 1m', '1m ', '1', 'm', '1x', '-1m', '+1m', '1e3s', '30m1h', '1m1m', '1h 30m', '1.s', '.5s', '99999999d'])(
    'rejects %j',
    (text) => {
      expect(() => parseDuration(text)).toThrow(/duration/);
      expect(isDuration(text)).toBe(false);
    },
  );

  it('rejects non-strings', () => {
    expect(() => parseDuration(30 as unknown as string)).toThrow(/must be a string/);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [500, '500ms'],
    [1500, '1s500ms'],
    [60_000, '1m'],
    [5_400_000, '1h30m'],
    [90_000_000, '1d1h'],
    [-30_000, '-30s'],
  ])('%d → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips through parseDuration', () => {
    for (const ms of [1, 999, 1000, 61_001, 3_600_000, 86_400_001, 123_456_789]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});
