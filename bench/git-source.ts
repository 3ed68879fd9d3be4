/**
 * Benchmark — git sources (issue 17). A real Git server on loopback (git http-backend behind a node
 * HTTP server, bench/lib/git-server.ts) and an in-process controller against the in-process emulator.
 *
 * A. Push → applied with the webhook: a repository of `smallJobs` jobs (default 100); `pushes`
 *    times (default 20) one file is edited, committed and pushed, `POST /hooks/git` is sent, and the
 *    time until the store holds that job at the new commit is taken. p50 / p99 / max.
 * B. A repository of `jobs` job files (default 10,000): start → every job Ready at the commit (first
 *    sync), then a one-file commit → that job at the new commit (webhook; median of 3).
 * C. The same `jobs` as a plain `--manifests` directory with the same in-process controller: start →
 *    every job Ready, and a one-file edit → applied (median of 3), for the table beside B.
 *
 *   npx node dist/bench/git-source.js [jobs=10000] [smallJobs=100] [pushes=20]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { startController, type RunningController } from '../src/controller/controller';
import { signGitWebhook } from '../src/controller/git-webhook';
import { startEmulator, type RunningEmulator } from '../src/emulator';
import { startGitHttpServer, TestRepo } from './lib/git-server';
import { jobDocument, main, percentile, progress, readyCount, round, tempDir, waitFor, writeJobs, type BenchResult } from './lib/common';

const SECRET = 'bench-hook-secret';

function start(emu: RunningEmulator, stateDir: string, o: { git?: string; manifests?: string[] }): Promise<RunningController> {
  return startController({
    manifests: o.manifests ?? [],
    git: o.git ? [{ url: o.git, ref: 'main', intervalMs: 3_600_000 }] : [],
    gitWebhookSecret: () => SECRET,
    stateDir,
    listen: { host: '127.0.0.1', port: 0 },
    once: false,
    allowEmpty: false,
    emulator: null,
    arm: { subscriptionId: emu.subscriptionId, endpoint: emu.endpoint, ca: emu.ca, credential: 'emulator' },
    resyncIntervalMs: 5 * 60_000,
    concurrency: 8,
    env: { ...emu.env, PATH: process.env.PATH, HOME: process.env.HOME },
    logger: pino({ level: process.env.BENCH_LOG_LEVEL ?? 'error' }, pino.destination(2)),
  });
}

async function hook(c: RunningController): Promise<void> {
  const body = '{"ref":"refs/heads/main"}';
  const res = await fetch(`${c.url}/hooks/git`, { method: 'POST', body, headers: { 'X-Hub-Signature-256': signGitWebhook(SECRET, body) } });
  await res.text();
  if (res.status !== 202) throw new Error(`webhook answered ${res.status}`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Files `d<k>/<name>.yaml` as writeJobs lays them out, as repository paths → content. */
function jobFiles(n: number, image = 'registry.example.com/bench/app:1'): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const name = `job-${String(i).padStart(5, '0')}`;
    out[`jobs/d${Math.floor(i / 100)}/${name}.yaml`] = jobDocument(name, { resourceGroup: `bench-rg-${i % 10}`, image });
  }
  return out;
}

export async function run(opts: { jobs?: number; smallJobs?: number; pushes?: number } = {}): Promise<BenchResult> {
  const jobs = opts.jobs ?? 10_000;
  const smallJobs = opts.smallJobs ?? 100;
  const pushes = opts.pushes ?? 20;
  const tmp = tempDir('git');
  const emu = await startEmulator({ runtime: 'simulate', throttling: 'off', lroDelayMs: 10 });
  const server = await startGitHttpServer({ projectRoot: join(tmp.path, 'srv') });
  const out: BenchResult = { jobs, smallJobs, pushes };
  try {
    // ---- A: push → applied through the webhook --------------------------------------------------
    {
      const repo = new TestRepo(join(tmp.path, 'srv'), 'small', join(tmp.path, 'work-small'));
      repo.commit(jobFiles(smallJobs));
      const c = await start(emu, join(tmp.path, 'state-a'), { git: `${server.url}/small.git` });
      try {
        await waitFor('small repo Ready', async () => readyCount(await c.store.listJobs()) === smallJobs, 60_000, 50);
        const took: number[] = [];
        for (let k = 0; k < pushes; k++) {
          const i = (k * 7) % smallJobs;
          const name = `job-${String(i).padStart(5, '0')}`;
          const sha = repo.commit({ [`jobs/d${Math.floor(i / 100)}/${name}.yaml`]: jobDocument(name, { resourceGroup: `bench-rg-${i % 10}`, image: `registry.example.com/bench/app:p${k}` }) });
          const t0 = performance.now();
          await hook(c);
          await waitFor(`push ${k}`, async () => (await c.store.getJob(name))?.status.sourceRevision === sha, 30_000, 5);
          took.push(performance.now() - t0);
        }
        out.webhookP50Ms = round(percentile(took, 50));
        out.webhookP99Ms = round(percentile(took, 99));
        out.webhookMaxMs = round(Math.max(...took));
        progress(`git: ${pushes} pushes with the webhook, p50 ${out.webhookP50Ms} ms, p99 ${out.webhookP99Ms} ms`);
      } finally {
        await c.stop();
      }
    }

    // ---- B: a repository of `jobs` job files -----------------------------------------------------
    {
      const repo = new TestRepo(join(tmp.path, 'srv'), 'big', join(tmp.path, 'work-big'));
      const c1 = repo.commit(jobFiles(jobs));
      const t0 = performance.now();
      const c = await start(emu, join(tmp.path, 'state-b'), { git: `${server.url}/big.git` });
      try {
        await waitFor('every git job Ready', async () => readyCount(await c.store.listJobs()) === jobs, 300_000, 100);
        out.gitFirstSyncSeconds = round((performance.now() - t0) / 1000, 2);
        if ((await c.store.getJob('job-00000'))?.status.sourceRevision !== c1) throw new Error('wrong revision after the first sync');
        progress(`git: ${jobs} jobs Ready in ${out.gitFirstSyncSeconds} s`);
        const took: number[] = [];
        for (let k = 0; k < 3; k++) {
          const i = (k * 3331) % jobs;
          const name = `job-${String(i).padStart(5, '0')}`;
          const sha = repo.commit({ [`jobs/d${Math.floor(i / 100)}/${name}.yaml`]: jobDocument(name, { resourceGroup: `bench-rg-${i % 10}`, image: `registry.example.com/bench/app:e${k}` }) });
          const s0 = performance.now();
          await hook(c);
          await waitFor(`one-file commit ${k}`, async () => (await c.store.getJob(name))?.status.sourceRevision === sha, 60_000, 5);
          took.push(performance.now() - s0);
        }
        out.gitOneFileCommitMs = round(median(took));
        progress(`git: one-file commit among ${jobs} → applied, median ${out.gitOneFileCommitMs} ms (${took.map((x) => round(x)).join(', ')})`);
      } finally {
        await c.stop();
      }
    }

    // ---- C: the same jobs as a directory ---------------------------------------------------------
    {
      const dir = join(tmp.path, 'dir');
      const names = writeJobs(dir, jobs, (i, name) => jobDocument(name, { resourceGroup: `bench-rg-${i % 10}` }));
      const t0 = performance.now();
      const c = await start(emu, join(tmp.path, 'state-c'), { manifests: [dir] });
      try {
        await waitFor('every directory job Ready', async () => readyCount(await c.store.listJobs()) === jobs, 300_000, 100);
        out.dirFirstSyncSeconds = round((performance.now() - t0) / 1000, 2);
        const took: number[] = [];
        for (let k = 0; k < 3; k++) {
          const i = (k * 3331) % jobs;
          const name = names[i];
          const gen = (await c.store.getJob(name))!.generation;
          const s0 = performance.now();
          writeFileSync(join(dir, `d${Math.floor(i / 100)}`, `${name}.yaml`), jobDocument(name, { resourceGroup: `bench-rg-${i % 10}`, image: `registry.example.com/bench/app:e${k}` }));
          await waitFor(`one-file edit ${k}`, async () => ((await c.store.getJob(name))?.generation ?? 0) > gen, 60_000, 5);
          took.push(performance.now() - s0);
        }
        out.dirOneFileEditMs = round(median(took));
        progress(`directory: ${jobs} jobs Ready in ${out.dirFirstSyncSeconds} s; one-file edit median ${out.dirOneFileEditMs} ms`);
      } finally {
        await c.stop();
      }
    }
    return out;
  } finally {
    await server.close();
    await emu.close();
    tmp.remove();
  }
}

if (require.main === module) main((o) => run(o as { jobs?: number; smallJobs?: number; pushes?: number }));
