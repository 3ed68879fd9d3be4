/** A short run of bench/aci-throttle.ts: creates through the budget meet no 429 and stay under it. */
import { run } from '../../bench/aci-throttle';

test('creates under the Azure preset: no 429, never more than the window budgets', async () => {
  const lines: string[] = [];
  // 250 creates need 100 + 100 + (wait for the next 5-minute window) 50: ~10 emulated minutes.
  const r = await run({ creates: 250, timeFactor: 600, log: (l) => lines.push(l) });
  expect(r.throttled429).toBe(0);
  expect(r.createdInEmulator).toBe(250);
  expect(r.maxCreatesIn5Min).toBeLessThanOrEqual(100);
  expect(r.maxCreatesIn1h).toBeLessThanOrEqual(300);
  expect(Number(r.emulatedMinutes)).toBeGreaterThanOrEqual(10);
  expect(lines.join('\n')).toMatch(/time compressed 600x/);
}, 30_000);
