/**
 * Benchmark 3 — ARM calls per run: `jobs` jobs (default 100) whose runs last `runSeconds`
 * (default 60; simulate runtime) all due in the same second, run by the controller against one
 * emulator, and — at the same time, against a second, identical emulator — the same runs driven
 * the way the seed operator (Airflow's AzureContainerInstancesOperator) drives them, written here
 * with the SDK: create, then one GET and one log call per second while the run is running, then
 * delete. Counted at each emulator from before the start until every run finished and its group
 * was deleted; everything the controller sends counts (its listings too).
 *
 *   npx node dist/bench/arm-calls.js [jobs=100] [runSeconds=60] [listInstanceViews=0|1|both]
 */
import { join } from 'node:path';
import { ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import { createCredential } from '../src/aci/credentials';
import { startEmulator, type RunningEmulator } from '../src/emulator';
import { formatCounts, jobDocument, main, progress, requestDelta, round, sleep, startBenchController, tempDir, total, waitFor, writeJobs, type BenchResult } from './lib/common';

/** A 6-field cron (seconds first) that fires once a day at the UTC second of `ms`. */
export function dailyAtSecond(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCSeconds()} ${d.getUTCMinutes()} ${d.getUTCHours()} * * *`;
}

/** The seed operator's pattern for one run. */
async function seedOperatorRun(client: ContainerInstanceManagementClient, rg: string, name: string): Promise<void> {
  await client.containerGroups.beginCreateOrUpdate(rg, name, {
    location: 'eastus',
    osType: 'Linux',
    restartPolicy: 'Never',
    containers: [{ name: 'main', image: 'registry.example.com/bench/app:1', command: ['/bin/sh', '-c', `echo ${name}`], resources: { requests: { cpu: 0.5, memoryInGB: 0.5 } } }],
    tags: { owner: 'seed-operator' },
  });
  for (;;) {
    await sleep(1000);
    const g = await client.containerGroups.get(rg, name);
    await client.containers.listLogs(rg, name, 'main');
    const state = g.instanceView?.state;
    const c = g.containers[0]?.instanceView?.currentState?.state;
    if (state === 'Succeeded' || state === 'Failed' || state === 'Stopped' || c === 'Terminated') break;
  }
  await client.containerGroups.beginDelete(rg, name);
}

function sdkClient(emu: RunningEmulator): ContainerInstanceManagementClient {
  return new ContainerInstanceManagementClient(createCredential({ kind: 'emulator', env: emu.env }), emu.subscriptionId, {
    endpoint: emu.endpoint,
    tlsOptions: { ca: emu.ca },
    credentialScopes: [`${emu.endpoint}/.default`],
  });
}

type Opts = { jobs?: number; runSeconds?: number; resourceGroups?: number; leadSeconds?: number; listInstanceViews?: number | string };

/**
 * `listInstanceViews`: 0 = list items without instance views (as the 2022-09-01 example), 1 = with
 * container instance views (as the 2023-05-01 List example; the controller then observes from
 * lists), `both` (default) = one run of each, the second reported as `…ListViews`.
 */
export async function run(opts: Opts = {}): Promise<BenchResult> {
  const mode = String(opts.listInstanceViews ?? 'both');
  if (mode !== 'both') return runOne({ ...opts, listInstanceViews: Number(mode) });
  const without = await runOne({ ...opts, listInstanceViews: 0 });
  const withViews = await runOne({ ...opts, listInstanceViews: 1 });
  return {
    ...without,
    controllerRequestsPerRunListViews: withViews.controllerRequestsPerRun,
    ratioListViews: withViews.ratio,
    controllerRequestsListViews: withViews.controllerRequests,
    succeededRunsListViews: withViews.succeededRuns,
  };
}

async function runOne(opts: Opts): Promise<BenchResult> {
  const jobs = opts.jobs ?? 100;
  const runMs = (opts.runSeconds ?? 60) * 1000;
  const rgs = opts.resourceGroups ?? 4;
  const views = Number(opts.listInstanceViews ?? 0) === 1;
  const tmp = tempDir('arm-calls');
  const emuOpts = { runtime: 'simulate' as const, simulate: { durationMs: runMs }, throttling: 'off' as const, behaviour: { listInstanceViews: views } };
  const ctlEmu = await startEmulator(emuOpts);
  const seedEmu = await startEmulator(emuOpts);
  try {
    const slot = Math.ceil((Date.now() + (opts.leadSeconds ?? 10) * 1000) / 1000) * 1000;
    const manifests = join(tmp.path, 'manifests');
    const names = writeJobs(manifests, jobs, (i, name) => jobDocument(name, { resourceGroup: `bench-rg-${i % rgs}`, schedule: dailyAtSecond(slot), extra: '  timeZone: UTC\n' }));
    const ctl0 = ctlEmu.stats();
    const seed0 = seedEmu.stats();
    const controller = await startBenchController(ctlEmu, { manifests: [manifests], stateDir: join(tmp.path, 'state') });
    try {
      if (Date.now() > slot - 500) throw new Error('the controller was not up before the slot; raise leadSeconds');
      progress(`arm-calls: ${jobs} runs of ${runMs / 1000} s due at ${new Date(slot).toISOString()}; list items ${views ? 'with' : 'without'} instance views; controller and seed-operator baseline side by side`);
      const client = sdkClient(seedEmu);
      await sleep(slot - Date.now());
      const seedStart = performance.now();
      const seed = Promise.all(names.map((n, i) => seedOperatorRun(client, `bench-rg-${i % rgs}`, n))).then(() => performance.now() - seedStart);

      const finished = async () => {
        const runs = await controller.store.listRuns();
        return runs.length >= jobs && runs.every((r) => r.phase === 'Succeeded' || r.phase === 'Failed');
      };
      await waitFor('every controller run to finish', finished, runMs + 120_000, 200);
      await waitFor('every run group to be deleted', () => (ctlEmu.stats().requests.delete ?? 0) >= jobs, 60_000, 200);
      const ctlMs = performance.now() - seedStart;
      const seedMs = await seed;
      await sleep(1500); // let in-flight requests land on both sides
      const runs = await controller.store.listRuns();
      const ctl = requestDelta(ctl0, ctlEmu.stats());
      const base = requestDelta(seed0, seedEmu.stats());
      const ctlPerRun = total(ctl) / jobs;
      const basePerRun = total(base) / jobs;
      return {
        listInstanceViews: views ? 1 : 0,
        runs: jobs,
        runSeconds: runMs / 1000,
        succeededRuns: runs.filter((r) => r.phase === 'Succeeded').length,
        controllerRequestsPerRun: round(ctlPerRun, 2),
        seedOperatorRequestsPerRun: round(basePerRun, 2),
        ratio: round(ctlPerRun / basePerRun, 3),
        controllerRequests: formatCounts(ctl),
        seedOperatorRequests: formatCounts(base),
        controllerSecondsToAllDeleted: round(ctlMs / 1000, 1),
        seedOperatorSeconds: round(seedMs / 1000, 1),
      };
    } finally {
      await controller.stop();
    }
  } finally {
    await Promise.all([ctlEmu.close(), seedEmu.close()]);
    tmp.remove();
  }
}

if (require.main === module) main(run);
