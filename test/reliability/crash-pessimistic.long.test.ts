/**
 * Long crash torture (`npm run test:reliability`), ≥ 50 seeded SIGKILLs, in the pessimistic readings
 * of ACI (issue 18): If-None-Match ignored; and ignored with creates listed only after 2 s.
 */
import { crashSuite } from './lib/parts';
import { PESSIMISTIC } from './lib/torture';

jest.setTimeout(2_400_000);
const kills = Number(process.env.ACICTL_CRASH_KILLS ?? 50);
crashSuite({ label: 'long', file: 'crash-long-ignore', kills, seed: Number(process.env.ACICTL_CRASH_SEED ?? 18181), maxUpMs: 5000, timeoutMs: 1_150_000, reading: { ifNoneMatch: 'ignore' } });
crashSuite({ label: 'long', file: 'crash-long-pessimistic', kills, seed: Number(process.env.ACICTL_CRASH_SEED ?? 18182), maxUpMs: 5000, timeoutMs: 1_150_000, reading: PESSIMISTIC });
