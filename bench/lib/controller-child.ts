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
import type { StoredJob } from '../../src/store/types';
import { benchLogger, isReady, readyCount, round, sleep } from './common';

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
  // Which jobs are Ready, kept from the store's change feed (each status write carries the job as
  // written): polling a full scan instead costs a 10,000-row read and decode per poll, which on a
  // networked store competed with the very reconciles it waits for. Seeded by one scan, made after
  // subscribing (a change delivered meanwhile is newer than the scan's row and wins).
  const readiness = new Map<string, boolean>();
  const unsubscribe = controller.store.onChange((ch) => {
    if (ch.resource !== 'containerjobs') return;
    if (ch.kind === 'DELETED') readiness.delete(ch.name);
    else if (ch.written) readiness.set(ch.name, isReady(ch.written.load() as StoredJob));
  });
  await controller.whenIdle();
  const idle = performance.now() - t0;
  const end = Date.now() + cfg.timeoutMs;
  await controller.store.forEachJob((j) => {
    if (!readiness.has(j.name)) readiness.set(j.name, isReady(j));
  });
  const allReady = (): boolean => {
    for (const r of readiness.values()) if (!r) return false;
    return true;
  };
  while (!allReady() && Date.now() < end) await sleep(20);
  const ready = performance.now() - t0;
  unsubscribe();
  clearInterval(sampler);
  // Checked once more against the store itself, one job at a time.
  const c = { jobs: 0, ready: 0 };
  await controller.store.forEachJob((j) => {
    c.jobs++;
    c.ready += readyCount([j]);
  });
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
