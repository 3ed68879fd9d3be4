/**
 * Benchmark 2 — steady state: 10,000 jobs at rest (nothing due), controller and emulator in this
 * process, a short resync interval. Per full resync (every owned scope listed again, every job
 * reconciled again) it measures the ARM reads and writes the emulator received (writes must be 0;
 * reads must not exceed the list pages), the wall time from the resync's first list request until
 * the reconciles it caused are over (the controller re-queues only jobs whose groups changed: none
 * at rest; counted from its own reconcile counter on /metrics), and the CPU time per resync.
 *
 * The resource groups also hold groups of another owner (`foreign`), so each listing spans
 * several pages (emulator page size `pageSize`), as a listing in a shared resource group does.
 *
 *   npx node dist/bench/steady-state.js [jobs=10000] [resyncs=3] [resyncIntervalMs=6000] [pageSize=25] [foreignPerGroup=60]
 */
import { join } from 'node:path';
import { AciContainerGroups } from '../src/aci/adapter';
import { createCredential } from '../src/aci/credentials';
import { mapSecretResolver } from '../src/aci/secrets';
import { TAG_JOB, TAG_MANAGED_BY, TAG_RUN, TAG_SCHEDULED_TIME, TAG_SPEC_HASH } from '../src/api/names';
import { startEmulator } from '../src/emulator';
import {
  formatCounts,
  jobDocument,
  main,
  progress,
  readyCount,
  requestDelta,
  round,
  sleep,
  startBenchController,
  tempDir,
  total,
  waitFor,
  writeJobs,
  type BenchResult,
} from './lib/common';

/** `acictl_reconcile_duration_seconds_count` summed over results, from the controller's /metrics. */
export async function reconcileCount(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^acictl_reconcile_duration_seconds_count\{[^}]*\} (\d+)/gm)) n += Number(m[1]);
  return n;
}

export async function run(opts: { jobs?: number; resyncs?: number; resyncIntervalMs?: number; pageSize?: number; foreignPerGroup?: number; resourceGroups?: number } = {}): Promise<BenchResult> {
  const jobs = opts.jobs ?? 10_000;
  const resyncs = opts.resyncs ?? 3;
  const interval = opts.resyncIntervalMs ?? 6000;
  const pageSize = opts.pageSize ?? 25;
  const foreign = opts.foreignPerGroup ?? 60;
  const rgs = opts.resourceGroups ?? 10;
  const tmp = tempDir('steady');
  const emu = await startEmulator({ runtime: 'simulate', throttling: 'off', lroDelayMs: 20, pageSize });
  try {
    // Groups of another owner in every resource group: listed, never touched.
    const other = new AciContainerGroups({
      subscriptionId: emu.subscriptionId,
      instanceId: 'someone-else',
      credential: createCredential({ kind: 'emulator', env: emu.env }),
      endpoint: emu.endpoint,
      ca: emu.ca,
      secrets: mapSecretResolver({}),
      limits: { reads: null, writes: null, deletes: null, aciCreates: [], aciDeletes: [] },
    });
    const template = {
      resourceGroup: 'x',
      location: 'eastus',
      osType: 'Linux' as const,
      restartPolicy: 'Never' as const,
      priority: 'Regular' as const,
      containers: [{ name: 'main', image: 'busybox', resources: { requests: { cpu: 0.1, memoryInGB: 0.1 } } }],
    };
    const refs = Array.from({ length: rgs * foreign }, (_, i) => ({ rg: `bench-rg-${i % rgs}`, name: `foreign-${i}` }));
    for (let i = 0; i < refs.length; i += 50) {
      await Promise.all(
        refs.slice(i, i + 50).map(({ rg, name }) =>
          other.createOrUpdate(
            {
              ref: { subscriptionId: emu.subscriptionId, resourceGroup: rg, name },
              location: 'eastus',
              template: { ...template, resourceGroup: rg },
              tags: { [TAG_MANAGED_BY]: 'someone-else', [TAG_JOB]: name, [TAG_RUN]: name, [TAG_SCHEDULED_TIME]: new Date(0).toISOString(), [TAG_SPEC_HASH]: 'x' },
              runEnv: {},
            },
            { ifNoneMatch: true },
          ),
        ),
      );
    }
    const pagesPerResync = rgs * Math.max(1, Math.ceil(foreign / pageSize));

    const manifests = join(tmp.path, 'manifests');
    writeJobs(manifests, jobs, (i, name) => jobDocument(name, { resourceGroup: `bench-rg-${i % rgs}`, schedule: i % 2 ? '@yearly' : '@monthly' }));
    const t0 = performance.now();
    const controller = await startBenchController(emu, { manifests: [manifests], stateDir: join(tmp.path, 'state'), resyncIntervalMs: interval });
    try {
      await waitFor('every job Ready', async () => readyCount(await controller.store.listJobs()) === jobs, 120_000, 200);
      progress(`steady: ${jobs} jobs Ready after ${round(performance.now() - t0)} ms; measuring ${resyncs} resyncs every ${interval} ms`);

      const listCount = () => emu.stats().requests.list ?? 0;
      // Start between two resyncs: wait for one to begin and for its reconciles to finish.
      // A resync lists every scope and re-queues only the jobs whose groups changed (none here),
      // so it is done when the listing is done and the reconciles it caused (expected: 0) are over.
      const measureOne = async (): Promise<{ wallMs: number; listMs: number; reconciles: number }> => {
        const lists0 = listCount();
        const rec0 = await reconcileCount(controller.url);
        await waitFor('a resync to start', () => listCount() > lists0, interval * 3, 2);
        const start = performance.now();
        await waitFor('the listing to finish', () => listCount() >= lists0 + pagesPerResync, 30_000, 2);
        const listMs = performance.now() - start;
        let last = -1;
        let now = await reconcileCount(controller.url);
        while (now !== last) {
          last = now;
          await sleep(100);
          now = await reconcileCount(controller.url);
        }
        const quietMs = 100; // the last poll that saw no new reconcile
        return { wallMs: performance.now() - start - quietMs, listMs, reconciles: now - rec0 };
      };
      await measureOne(); // the first periodic resync may overlap the start; not measured
      const s0 = emu.stats();
      const cpu0 = process.cpuUsage();
      const walls: number[] = [];
      const listings: number[] = [];
      let reconciles = 0;
      for (let r = 0; r < resyncs; r++) {
        const m = await measureOne();
        walls.push(m.wallMs);
        listings.push(m.listMs);
        reconciles += m.reconciles;
      }
      await sleep(50);
      const s1 = emu.stats();
      const cpu = process.cpuUsage(cpu0);
      const delta = requestDelta(s0, s1);
      const writes = s1.writes - s0.writes;
      const reads = s1.reads - s0.reads;
      const result: BenchResult = {
        jobs,
        resourceGroups: rgs,
        foreignGroups: refs.length,
        emulatorPageSize: pageSize,
        resyncsMeasured: resyncs,
        listPagesPerResync: pagesPerResync,
        armReadsPerResync: round(reads / resyncs, 1),
        armWritesPerResync: round(writes / resyncs, 1),
        armRequestsByOperation: formatCounts(delta),
        resyncWallSeconds: round(Math.max(...walls) / 1000, 2),
        resyncWallSecondsMedian: round([...walls].sort((a, b) => a - b)[Math.floor(walls.length / 2)] / 1000, 2),
        listingMs: round(Math.max(...listings)),
        reconcilesPerResync: round(reconciles / resyncs, 1),
        cpuSecondsPerResync: round((cpu.user + cpu.system) / 1e6 / resyncs, 2),
        note: 'one process: controller + emulator + the /metrics poller; CPU includes all three',
      };
      if (total(delta) !== reads + writes) result.note += `; request counts by operation sum to ${total(delta)}`;
      return result;
    } finally {
      await controller.stop();
    }
  } finally {
    await emu.close();
    tmp.remove();
  }
}

if (require.main === module) main(run);
