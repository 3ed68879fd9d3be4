/**
 * Reduced fault torture (runs in `npm test`) with the pessimistic reading of ACI (issue 18):
 * If-None-Match ignored, creates listed only after 2 s, and responses lost after the request was
 * processed (`lost`), so retried create PUTs meet groups that exist.
 */
import { faultSuite } from './lib/parts';
import { PESSIMISTIC } from './lib/torture';

jest.setTimeout(150_000);
const seed = Number(process.env.ACICTL_FAULT_SEED ?? 18);
faultSuite({
  label: 'reduced',
  file: 'faults-reduced-pessimistic',
  durationMs: 30_000,
  seed,
  periods: [1, 2],
  timeoutMs: 140_000,
  maxRequestsPerRun: 25,
  reading: PESSIMISTIC,
  faults: `429=0.1,500=0.025,503=0.025,reset=0.02,lost=0.03,latency=0-100ms,seed=${seed}`,
});
