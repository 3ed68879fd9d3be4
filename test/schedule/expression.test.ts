import { ScheduleError, checkSchedule, compileSchedule } from '../../src/schedule';
import { parseExpression } from '../../src/schedule/expression';

describe('parseExpression: accepted expressions', () => {
  const cases: [string, string, boolean][] = [
    // expression, croner pattern (seconds first), wildcard job?
    ['* * * * *', '0 * * * * *', true],
    ['30 2 * * *', '0 30 2 * * *', false],
    ['0 * * * *', '0 0 * * * *', true],
    ['*/15 2 * * *', '0 */15 2 * * *', true],
    ['0 0-23/2 * * *', '0 0 0-23/2 * * *', false],
    ['30 2,14 * * *', '0 30 2,14 * * *', false],
    ['0 9 * * MON-FRI', '0 0 9 * * 1-5', false],
    ['0 9 * JAN,jul sun', '0 0 9 * 1,7 0', false],
    ['0 0 * * FRI-SUN', '0 0 0 * * 5-7', false],
    ['0 0 1 * 1', '0 0 0 1 * 1', false],
    // Vixie: a day field starting with '*' makes the day match an AND (croner's '+' modifier)
    ['0 0 */2 * 1', '0 0 0 */2 * +1', false],
    ['0 0 13 * */2', '0 0 0 13 * +*/2', false],
    ['*/20 * * * * *', '*/20 * * * * *', true],
    ['0 30 2 * * *', '0 30 2 * * *', false],
    ['*/10 30 2 * * *', '*/10 30 2 * * *', true],
    ['@hourly', '0 0 * * * *', true],
    ['@daily', '0 0 0 * * *', false],
    ['@midnight', '0 0 0 * * *', false],
    ['@weekly', '0 0 0 * * 0', false],
    ['@monthly', '0 0 0 1 * *', false],
    ['@yearly', '0 0 0 1 1 *', false],
    ['@ANNUALLY', '0 0 0 1 1 *', false],
    ['  0   3  * * *  ', '0 0 3 * * *', false],
    ['0 0 29 2 *', '0 0 0 29 2 *', false],
  ];
  test.each(cases)('%s', (expr, pattern, wild) => {
    const p = parseExpression(expr);
    expect(p.pattern).toBe(pattern);
    expect(p.wild).toBe(wild);
    expect(checkSchedule(expr, 'UTC')).toBeNull();
  });
});

describe('parseExpression: rejected expressions name the problem', () => {
  const cases: [string, string][] = [
    ['', 'empty schedule'],
    ['* * * *', 'expected 5 fields'],
    ['* * * * * * *', 'found 7'],
    ['@every 1h', 'unknown macro @every 1h'],
    ['@reboot', 'unknown macro @reboot'],
    ['@fortnightly', 'unknown macro'],
    ['60 * * * *', 'minute field: 60 is out of range 0-59'],
    ['0 24 * * *', 'hour field: 24 is out of range 0-23'],
    ['0 0 0 * *', 'day-of-month field: 0 is out of range 1-31'],
    ['0 0 32 * *', 'day-of-month field: 32'],
    ['0 0 1 13 *', 'month field: 13 is out of range 1-12'],
    ['0 0 * * 8', 'day-of-week field: 8 is out of range 0-7'],
    ['60 0 * * * *', 'second field: 60'],
    ['0 0 * FOO *', 'month field: "FOO" is neither a number nor one of JAN'],
    ['0 0 * * MONDAY', 'day-of-week field: "MONDAY"'],
    ['MON 0 * * *', 'minute field: "MON" is not a number'],
    ['5/15 * * * *', 'a step needs a range or *'],
    ['*/0 * * * *', 'step 0 must be between 1 and 60'],
    ['*/61 * * * *', 'step 61'],
    ['0 20-10 * * *', 'range 20-10 runs backwards'],
    ['0 0 L * *', 'day-of-month field: "L"'],
    ['0 0 ? * *', 'day-of-month field: "?"'],
    ['0 0 * * 1#2', 'day-of-week field: "1#2"'],
    ['0 0 15W * *', 'day-of-month field: "15W"'],
    ['0 0 * * +1', 'day-of-week field: "+1"'],
    ['0,,5 * * * *', 'empty list element'],
    ['0 0 30 2 *', 'never fires'],
    ['0 0 31 4,6,9,11 *', 'never fires'],
    ['0 0 31 2 */7', 'never fires'],
  ];
  test.each(cases)('%j', (expr, message) => {
    expect(() => parseExpression(expr)).toThrow(ScheduleError);
    expect(() => parseExpression(expr)).toThrow(message);
    const msg = checkSchedule(expr, 'UTC');
    expect(msg).toContain(message);
    expect(msg).toContain(`invalid schedule "${expr}"`);
  });

  test('OR with a weekday can always fire, even on a day of the month that never exists', () => {
    expect(checkSchedule('0 0 30 2 1', 'UTC')).toBeNull();
    const s = compileSchedule('0 0 30 2 1', { timeZone: 'UTC' });
    // Mondays in February (Feb 2, 2026 is a Monday).
    expect(new Date(s.next(Date.parse('2026-01-01T00:00:00Z'))!).toISOString()).toBe('2026-02-02T00:00:00.000Z');
  });
});

describe('time zones', () => {
  test.each(['UTC', 'Etc/UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'US/Eastern'])('%s is accepted', (tz) => {
    expect(checkSchedule('@daily', tz)).toBeNull();
  });
  test.each([
    ['Mars/Olympus', 'unknown time zone "Mars/Olympus"'],
    ['Europe/Berln', 'unknown time zone'],
    ['', 'IANA name'],
    ['+02:00', 'is an offset, not an IANA name'],
    ['-0500', 'is an offset'],
  ])('%j is rejected', (tz, message) => {
    expect(checkSchedule('@daily', tz)).toContain(message);
    expect(() => compileSchedule('@daily', { timeZone: tz })).toThrow(ScheduleError);
  });

  test('a bad expression and a bad zone both throw ScheduleError from compileSchedule', () => {
    expect(() => compileSchedule('nope', { timeZone: 'UTC' })).toThrow(ScheduleError);
    expect(() => compileSchedule('@daily', { timeZone: 'UTC', startTime: Number.NaN })).toThrow('startTime must be epoch milliseconds');
  });

  test('compiled schedules keep the expression and zone as written', () => {
    const s = compileSchedule(' @Daily ', { timeZone: 'Europe/Berlin' });
    expect(s.expression).toBe(' @Daily ');
    expect(s.timeZone).toBe('Europe/Berlin');
  });
});
