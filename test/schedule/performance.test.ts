/**
 * The controller computes next slots for 10,000 jobs: compile once (cached per expression + zone)
 * and keep next() cheap. Target: >= 50,000 next() calls per second for typical expressions.
 * Measured as the best of three rounds so that a busy machine does not make the test flaky.
 */
import { compileSchedule, Schedule } from '../../src/schedule';

const TYPICAL = ['@hourly', '@daily', '@weekly', '@monthly', '@yearly', '*/5 * * * *', '*/15 * * * *', '0 * * * *', '30 2 * * *', '0 9 * * 1-5', '0 0 1 * *', '15 3 * * 0', '0 */6 * * *', '*/30 * * * * *'];
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'Australia/Sydney', 'Asia/Kolkata'];
const JOBS = 10_000;
const BASE = Date.parse('2026-01-01T00:00:00Z');

function jobs(): Schedule[] {
  return Array.from({ length: JOBS }, (_, i) => compileSchedule(TYPICAL[i % TYPICAL.length], { timeZone: ZONES[i % ZONES.length], startTime: Date.parse('2020-12-01T00:00:00Z') }));
}

/** Calls per second of fn over all jobs, best of `rounds`. */
function rate(schedules: Schedule[], fn: (s: Schedule, t: number) => unknown, rounds = 3): number {
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < schedules.length; i++) fn(schedules[i], BASE + r * 86_400_000 + i * 7_919_000);
    best = Math.max(best, schedules.length / ((performance.now() - t0) / 1000));
  }
  return best;
}

test('compiling 10,000 jobs is cached per (expression, zone)', () => {
  const t0 = performance.now();
  const s = jobs();
  const ms = performance.now() - t0;
  expect(s).toHaveLength(JOBS);
  // 84 distinct (expression, zone) pairs; the rest are cache hits.
  expect(ms).toBeLessThan(2000);
});

test('next() and latest() for 10,000 jobs: >= 50,000 calls/s', () => {
  const s = jobs();
  rate(s, (x, t) => x.next(t), 1); // warm the zone caches for the years touched
  const next = rate(s, (x, t) => x.next(t));
  const latest = rate(s, (x, t) => x.latest(t));
  const between = rate(s, (x, t) => x.between(t, t + 86_400_000, 5));
  process.stdout.write(`schedule performance: next ${Math.round(next)}/s, latest ${Math.round(latest)}/s, between(1 day, limit 5) ${Math.round(between)}/s\n`);
  expect(next).toBeGreaterThanOrEqual(50_000);
  expect(latest).toBeGreaterThanOrEqual(50_000);
});
