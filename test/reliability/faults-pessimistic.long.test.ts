/** Long fault torture (`npm run test:reliability`) in the pessimistic reading of ACI (issue 18), with lost responses. */
import { faultSuite } from './lib/parts';
import { PESSIMISTIC } from './lib/torture';

jest.setTimeout(1_200_000);
const seed = Number(process.env.ACICTL_FAULT_SEED ?? 181818);
faultSuite({
  label: 'long',
  file: 'faults-long-pessimistic',
  durationMs: Number(process.env.ACICTL_FAULT_MS ?? 300_000),
  seed,
  periods: [10, 15],
  timeoutMs: 1_100_000,
  maxRequestsPerRun: 25,
  reading: PESSIMISTIC,
  faults: `429=0.1,500=0.025,503=0.025,reset=0.02,lost=0.03,latency=0-100ms,seed=${seed}`,
});
