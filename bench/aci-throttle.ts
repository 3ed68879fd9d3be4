/**
 * Benchmark: push N creates (default 500) through AciContainerGroups against the emulator with the
 * `azure` throttling preset, and show that the client-side budget meets no 429 while staying under
 * the configured rate.
 *
 * To keep it short, time is compressed by `timeFactor` on both sides by the same factor: the
 * emulator's throttling clock runs `timeFactor`× faster than real time, and the adapter's limits are
 * `scaleLimits(AZURE_RATE_LIMITS, timeFactor)` on the real clock. One emulated hour then takes
 * 3600/timeFactor real seconds. All rates below are in emulated time.
 *
 *   npx node dist/bench/aci-throttle.js [creates=500] [timeFactor=…]
 */
import { AciContainerGroups } from '../src/aci/adapter';
import { createCredential } from '../src/aci/credentials';
import { AZURE_RATE_LIMITS, scaleLimits } from '../src/aci/rate-limit';
import { mapSecretResolver } from '../src/aci/secrets';
import { TAG_JOB, TAG_MANAGED_BY, TAG_RUN, TAG_SCHEDULED_TIME, TAG_SPEC_HASH } from '../src/api/names';
import { startEmulator } from '../src/emulator';
import { main, progress } from './lib/common';

export interface ThrottleBenchOptions {
  creates?: number;
  /** Emulated seconds per real second (default 600: an emulated hour in 6 s). */
  timeFactor?: number;
  log?: (line: string) => void;
}

const MIN = 60_000;

/** The most timestamps inside any window of `windowMs` (sorted input). */
function maxInWindow(times: number[], windowMs: number): number {
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi] - times[lo] >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

/** Earliest finish (emulated ms) of n instantaneous creates under sliding windows: t_i = max(t_{i-1}, t_{i-limit} + window). */
function idealMs(n: number, windows: { limit: number; windowMs: number }[]): number {
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    let at = i > 0 ? t[i - 1] : 0;
    for (const w of windows) if (i >= w.limit) at = Math.max(at, t[i - w.limit] + w.windowMs);
    t.push(at);
  }
  return t[n - 1] ?? 0;
}

export async function run(opts: ThrottleBenchOptions = {}): Promise<Record<string, number | string>> {
  const creates = opts.creates ?? 500;
  const factor = opts.timeFactor ?? 600;
  const t0 = Date.now();
  const scaledClock = { now: () => t0 + (Date.now() - t0) * factor };
  const emu = await startEmulator({ runtime: 'simulate', simulate: { durationMs: 500 }, throttling: 'azure', clock: scaledClock, lroDelayMs: 10 });
  try {
    const limits = scaleLimits(AZURE_RATE_LIMITS, factor);
    const outcomes: Record<string, number> = {};
    const aci = new AciContainerGroups({
      subscriptionId: emu.subscriptionId,
      instanceId: 'bench',
      credential: createCredential({ kind: 'emulator', env: emu.env }),
      endpoint: emu.endpoint,
      ca: emu.ca,
      secrets: mapSecretResolver({}),
      limits,
      onCall: (op, outcome) => {
        const k = `${op}:${outcome}`;
        outcomes[k] = (outcomes[k] ?? 0) + 1;
      },
    });
    const template = {
      resourceGroup: 'bench',
      location: 'eastus',
      osType: 'Linux' as const,
      restartPolicy: 'Never' as const,
      priority: 'Regular' as const,
      containers: [{ name: 'main', image: 'busybox', resources: { requests: { cpu: 0.1, memoryInGB: 0.1 } } }],
    };
    const startReal = Date.now();
    const startScaled = scaledClock.now();
    await Promise.all(
      Array.from({ length: creates }, (_, i) => {
        const name = `bench-${String(i).padStart(4, '0')}`;
        return aci.createOrUpdate(
          {
            ref: { subscriptionId: emu.subscriptionId, resourceGroup: 'bench', name },
            location: 'eastus',
            template,
            tags: { [TAG_MANAGED_BY]: 'bench', [TAG_JOB]: 'bench', [TAG_RUN]: name, [TAG_SCHEDULED_TIME]: new Date(t0).toISOString(), [TAG_SPEC_HASH]: 'x' },
            runEnv: {},
          },
          { ifNoneMatch: true },
        );
      }),
    );
    const realMs = Date.now() - startReal;
    const scaledMs = scaledClock.now() - startScaled;
    const stats = emu.stats();
    const times = stats.creations.map((c) => Date.parse(c.time)).sort((a, b) => a - b);
    const result: Record<string, number | string> = {
      creates,
      timeFactor: factor,
      note:
        `time compressed ${factor}x on both sides (emulator throttling clock and adapter budget); rates are in emulated time. ` +
        'The budget is windowed (100 per 5 min AND 300 per sliding hour), so the average over a run longer than an hour may exceed 300/h; ' +
        'a window counts a create until one window after its response, so each window boundary also costs one request latency (x the time factor here)',
      createdInEmulator: stats.creations.length,
      throttled429: stats.throttled,
      putRequests: stats.requests.put ?? stats.requests.PUT ?? Object.entries(stats.requests).filter(([k]) => /put/i.test(k)).reduce((a, [, v]) => a + v, 0),
      totalRequests: Object.values(stats.requests).reduce((a, b) => a + b, 0),
      realSeconds: +(realMs / 1000).toFixed(2),
      emulatedMinutes: +(scaledMs / MIN).toFixed(1),
      idealEmulatedMinutes: +(idealMs(creates, AZURE_RATE_LIMITS.aciCreates) / MIN).toFixed(1),
      maxCreatesIn5Min: maxInWindow(times, 5 * MIN),
      budgetCreatesPer5Min: 100,
      maxCreatesIn1h: maxInWindow(times, 60 * MIN),
      budgetCreatesPer1h: 300,
      averageCreatesPerHourOverRun: +((creates / scaledMs) * 60 * MIN).toFixed(1),
      clientOutcomes: Object.entries(outcomes).map(([k, v]) => `${k}=${v}`).join(' '),
    };
    for (const [k, v] of Object.entries(result)) (opts.log ?? console.log)(`${k}: ${v}`);
    return result;
  } finally {
    await emu.close();
  }
}

if (require.main === module) {
  main((o) =>
    run({
      creates: typeof o.creates === 'number' ? o.creates : undefined,
      timeFactor: typeof o.timeFactor === 'number' ? o.timeFactor : undefined,
      log: progress, // stdout carries the result only
    }),
  );
}
