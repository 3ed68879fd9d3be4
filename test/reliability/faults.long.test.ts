/** Long fault torture (`npm run test:reliability`): several minutes of injected faults. */
import { faultSuite } from './lib/parts';

jest.setTimeout(1_200_000);
faultSuite({
  label: 'long',
  file: 'faults-long',
  durationMs: Number(process.env.ACICTL_FAULT_MS ?? 240_000),
  seed: Number(process.env.ACICTL_FAULT_SEED ?? 424242),
  timeoutMs: 1_100_000,
  maxRequestsPerRun: 25,
});
