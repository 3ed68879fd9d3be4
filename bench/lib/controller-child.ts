/**
 * A controller in a process of its own, so its time and peak memory are its own (the emulator and
 * the bench stay in the parent). Started by bench/scale.ts with one JSON argument:
 *   {manifests, stateDir, endpoint, caFile, subscriptionId, identityEndpoint, identityHeader, timeoutMs, store?}
 * It runs `startController` as `acictl controller --once` does, waits until every job is Ready, and
 * prints one line `BENCH_CHILD {json}` with phase times (ms), peak RSS (getrusage maxRSS = VmHWM)
 * and the number of manifest files the watcher validated (the rest came from the validation cache
 * in the state dir: a second start on the same state dir validates only what changed).
 */
import { readFileSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';
import { startController } from '../../src/controller/controller';
import { defaultValidatorStats } from '../../src/controller/watcher';
import { benchLogger, readyCount, round, sleep } from './common';

interface ChildConfig {
  manifests: string[];
  stateDir: string;
  endpoint: string;
  caFile: string;
  subscriptionId: string;
  identityEndpoint: string;
  identityHeader: string;
  timeoutMs: number;
  concurrency?: number;
  /** A postgres:// URL (the PostgreSQL store); absent: SQLite in the state dir. */
  store?: string;
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2]) as ChildConfig;
  const bootMs = performance.now(); // process start → here: Node start + module loading
  // Where the peak comes from: the JS heap's own peak (sampled) next to the resident set's.
  let peakHeapTotal = 0;
  let peakExternal = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakHeapTotal = Math.max(peakHeapTotal, m.heapTotal);
    peakExternal = Math.max(peakExternal, m.external + m.arrayBuffers);
  }, 25);
  const t0 = performance.now();
  const controller = await startController({
    manifests: cfg.manifests,
    stateDir: cfg.stateDir,
    store: cfg.store,
    listen: { host: '127.0.0.1', port: 0 },
    once: true,
    allowEmpty: false,
    emulator: null,
    arm: { subscriptionId: cfg.subscriptionId, endpoint: cfg.endpoint, ca: readFileSync(cfg.caFile, 'utf8'), credential: 'emulator' },
    resyncIntervalMs: 5 * 60_000,
    concurrency: cfg.concurrency ?? 8,
    env: { IDENTITY_ENDPOINT: cfg.identityEndpoint, IDENTITY_HEADER: cfg.identityHeader },
    logger: benchLogger(),
  });
  const started = performance.now() - t0;
  await controller.whenIdle();
  const idle = performance.now() - t0;
  const end = Date.now() + cfg.timeoutMs;
  // Counted one job at a time: the check must not add a 10,000-object burst to the peak it measures.
  const count = async (): Promise<{ jobs: number; ready: number }> => {
    const c = { jobs: 0, ready: 0 };
    await controller.store.forEachJob((j) => {
      c.jobs++;
      c.ready += readyCount([j]);
    });
    return c;
  };
  let c = await count();
  while (c.ready < c.jobs && Date.now() < end) {
    await sleep(50);
    c = await count();
  }
  const ready = performance.now() - t0;
  clearInterval(sampler);
  // the controller's watcher uses the default validator, its only user in this process
  const validated = defaultValidatorStats();
  const result = {
    bootMs: round(bootMs),
    startedMs: round(started),
    idleMs: round(idle),
    readyMs: round(ready),
    jobs: c.jobs,
    readyJobs: c.ready,
    peakRssMb: round(process.resourceUsage().maxRSS / 1024, 1),
    heapUsedMb: round(process.memoryUsage().heapUsed / 1024 / 1024, 1),
    peakHeapTotalMb: round(peakHeapTotal / 1024 / 1024, 1),
    peakExternalMb: round(peakExternal / 1024 / 1024, 1),
    cpuUserMs: round(process.cpuUsage().user / 1000),
    cpuSystemMs: round(process.cpuUsage().system / 1000),
    validatedFiles: validated.inPlace + validated.inWorkers,
  };
  process.stdout.write(`BENCH_CHILD ${JSON.stringify(result)}\n`);
  // For finding where the memory goes: BENCH_HEAP_SNAPSHOT=/some/dir writes a snapshot once Ready.
  if (process.env.BENCH_HEAP_SNAPSHOT) process.stderr.write(`heap snapshot: ${writeHeapSnapshot(`${process.env.BENCH_HEAP_SNAPSHOT}/controller-${result.jobs}.heapsnapshot`)}\n`);
  await controller.stop();
}

main().then(
  () => setTimeout(() => process.exit(0), 100).unref(),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
