/** Long crash torture (`npm run test:reliability`): ≥ 50 seeded SIGKILLs of the controller. */
import { crashSuite } from './lib/parts';

jest.setTimeout(1_200_000);
crashSuite({ label: 'long', file: 'crash-long', kills: Number(process.env.ACICTL_CRASH_KILLS ?? 50), seed: Number(process.env.ACICTL_CRASH_SEED ?? 20261124), maxUpMs: 5000, timeoutMs: 1_150_000 });
