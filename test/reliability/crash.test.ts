/** Reduced crash torture (runs in `npm test`): ~5 SIGKILLs of the controller in under a minute. */
import { crashSuite } from './lib/parts';

jest.setTimeout(120_000);
crashSuite({ label: 'reduced', file: 'crash-reduced', kills: 5, seed: Number(process.env.ACICTL_CRASH_SEED ?? 8), maxUpMs: 5000, timeoutMs: 110_000 });
