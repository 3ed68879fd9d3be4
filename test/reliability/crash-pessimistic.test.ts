/**
 * Reduced crash torture (runs in `npm test`) with the pessimistic reading of ACI (issue 18):
 * If-None-Match ignored (a repeated create PUT updates and restarts the group) and creates visible
 * in list only after 2 s. ~5 SIGKILLs.
 */
import { crashSuite } from './lib/parts';
import { PESSIMISTIC } from './lib/torture';

jest.setTimeout(120_000);
crashSuite({ label: 'reduced', file: 'crash-reduced-pessimistic', kills: 5, seed: Number(process.env.ACICTL_CRASH_SEED ?? 18), maxUpMs: 5000, timeoutMs: 110_000, reading: PESSIMISTIC });
