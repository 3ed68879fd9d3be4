/** Long fault torture (`npm run test:reliability`): several minutes of injected faults. */
import { faultSuite } from './lib/parts';

jest.setTimeout(1_200_000);
faultSuite({
  label: 'long',
  file: 'faults-long',
  durationMs: Number(process.env.ACICTL_FAULT_MS ?? 300_000),
  seed: Number(process.env.ACICTL_FAULT_SEED ?? 424242),
  // ACI allows 100 creates per 5 minutes (the controller enforces it): slower schedules for a long run.
  periods: [10, 15],
  timeoutMs: 1_100_000,
  maxRequestsPerRun: 25,
});
