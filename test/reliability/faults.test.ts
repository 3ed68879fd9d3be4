/** Reduced fault torture (runs in `npm test`): ~30 s of 429/500/503/resets/latency from the emulator. */
import { faultSuite } from './lib/parts';

jest.setTimeout(150_000);
faultSuite({ label: 'reduced', file: 'faults-reduced', durationMs: 30_000, seed: Number(process.env.ACICTL_FAULT_SEED ?? 7), periods: [1, 2], timeoutMs: 140_000, maxRequestsPerRun: 25 });
