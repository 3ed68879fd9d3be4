/**
 * Benchmark 1 — scale: N ContainerJob documents (one file each) over 10 resource groups; the
 * emulator (simulate runtime) runs in this process, the controller in a child process of its own
 * (bench/lib/controller-child.ts, the `acictl controller --once` path). Measured: time from the
 * controller's start to every job Ready (load + validate + store + first listing + first full
 * reconcile), the child's peak RSS, at 1,000 and 10,000 jobs, and how both grow.
 * Schedules are @yearly / @monthly / a yearly cron, so nothing runs during the measurement.
 * At the largest size the controller is then started a second time on the same state dir, the
 * same manifests and the same emulator (a restart): `restartReadySeconds_N`, and how many files it
 * validated (`restartValidatedFiles_N`; unchanged files come from the validation cache).
 * `store=postgres` runs the same on the PostgreSQL store (a local server, a fresh database per
 * start; bench/lib/store.ts); `restart=0` leaves out the restart; `timeoutSeconds` (default 120)
 * bounds the wait for every job Ready.
 *
 *   npx node dist/bench/scale.js [sizes=1000,10000] [resourceGroups=10] [store=sqlite|postgres] [restart=1] [timeoutSeconds=120]
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { V8_FLAGS } from '../src/cli/v8-flags';
import { startEmulator } from '../src/emulator';
import { jobDocument, main, progress, round, tempDir, writeJobs, type BenchResult } from './lib/common';
import { openBenchStore, parseStoreKind, type BenchStore } from './lib/store';

/** Extra Node flags for the controller child (after the launcher's own, V8_FLAGS), e.g. BENCH_CHILD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
function childNodeArgs(): string[] {
  return (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

const SCHEDULES = ['@yearly', '@monthly', '30 4 1 1 *', '@yearly'];

interface ChildResult {
  bootMs: number;
  startedMs: number;
  idleMs: number;
  readyMs: number;
  jobs: number;
  readyJobs: number;
  peakRssMb: number;
  heapUsedMb: number;
  peakHeapTotalMb: number;
  peakExternalMb: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  /** Manifest files the watcher validated (not served by the validation cache). */
  validatedFiles: number;
}

type Measured = ChildResult & { wallMs: number };

/** One start of the controller child until every job is Ready. */
async function runChild(cfg: object, jobs: number): Promise<Measured> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...V8_FLAGS, ...childNodeArgs(), join(__dirname, 'lib', 'controller-child.js'), JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  let wallMs = NaN;
  const result = await new Promise<ChildResult>((resolve, reject) => {
    child.stdout.on('data', () => {
      const m = /BENCH_CHILD (\{.*\})/.exec(out);
      if (m && Number.isNaN(wallMs)) {
        wallMs = performance.now() - t0;
        resolve(JSON.parse(m[1]) as ChildResult);
      }
    });
    child.on('close', (code) => reject(new Error(`controller child exited ${code} before reporting: ${out.slice(-2000)}`)));
  });
  await new Promise((r) => (child.exitCode !== null ? r(null) : child.on('close', r)));
  if (result.readyJobs !== jobs) throw new Error(`only ${result.readyJobs} of ${jobs} jobs became Ready`);
  return { ...result, wallMs: round(wallMs) };
}

/** A first start on a new state dir; with `restart`, a second start on the same state dir, manifests and emulator. */
async function measure(jobs: number, resourceGroups: number, restart: boolean, store: BenchStore, timeoutSeconds: number): Promise<{ first: Measured; restart?: Measured }> {
  const tmp = tempDir('scale');
  const emu = await startEmulator({ runtime: 'simulate', throttling: 'off', lroDelayMs: 50 });
  try {
    const manifests = join(tmp.path, 'manifests');
    writeJobs(manifests, jobs, (i, name) => jobDocument(name, { resourceGroup: `bench-rg-${i % resourceGroups}`, schedule: SCHEDULES[i % SCHEDULES.length] }));
    const cfg = {
      manifests: [manifests],
      stateDir: join(tmp.path, 'state'),
      store: store.fresh(),
      endpoint: emu.endpoint,
      caFile: emu.caFile,
      subscriptionId: emu.subscriptionId,
      identityEndpoint: emu.identity.endpoint,
      identityHeader: emu.identity.header,
      timeoutMs: timeoutSeconds * 1000,
    };
    const first = await runChild(cfg, jobs);
    return restart ? { first, restart: await runChild(cfg, jobs) } : { first };
  } finally {
    await emu.close();
    tmp.remove();
  }
}

export async function run(opts: { sizes?: string | number; resourceGroups?: number; store?: string; restart?: number; timeoutSeconds?: number } = {}): Promise<BenchResult> {
  const store = await openBenchStore(parseStoreKind(opts.store));
  if ('skipped' in store) {
    progress(`scale (${opts.store}): ${store.skipped}`);
    return { store: String(opts.store), skipped: store.skipped };
  }
  try {
    return await runOn(store, opts);
  } finally {
    store.stop();
  }
}

async function runOn(store: BenchStore, opts: { sizes?: string | number; resourceGroups?: number; restart?: number; timeoutSeconds?: number }): Promise<BenchResult> {
  const sizes = String(opts.sizes ?? '1000,10000')
    .split(',')
    .map(Number)
    .filter((n) => n > 0)
    .sort((a, b) => a - b);
  const rgs = opts.resourceGroups ?? 10;
  const out: BenchResult = { store: store.description, resourceGroups: rgs };
  const measured: { n: number; ready: number; rss: number }[] = [];
  for (const n of sizes) {
    const m = await measure(n, rgs, opts.restart !== 0 && n === sizes[sizes.length - 1], store, opts.timeoutSeconds ?? 120);
    const r = m.first;
    progress(`scale ${n} (${store.kind}): ready in ${r.readyMs} ms (started ${r.startedMs}, idle ${r.idleMs}), boot ${r.bootMs} ms, peak RSS ${r.peakRssMb} MB (JS heap peak ${r.peakHeapTotalMb} MB, at Ready ${r.heapUsedMb} MB used; external ${r.peakExternalMb} MB), CPU ${r.cpuUserMs}+${r.cpuSystemMs} ms, ${r.validatedFiles} files validated`);
    if (m.restart) {
      const s = m.restart;
      progress(`scale ${n} (${store.kind}) restart: ready in ${s.readyMs} ms (started ${s.startedMs}, idle ${s.idleMs}), boot ${s.bootMs} ms, peak RSS ${s.peakRssMb} MB, CPU ${s.cpuUserMs}+${s.cpuSystemMs} ms, ${s.validatedFiles} files validated`);
      out[`restartReadySeconds_${n}`] = round(s.readyMs / 1000, 2);
      out[`restartStartupSeconds_${n}`] = round(s.startedMs / 1000, 2);
      out[`restartValidatedFiles_${n}`] = s.validatedFiles;
      out[`restartPeakRssMb_${n}`] = s.peakRssMb;
      out[`restartCpuSeconds_${n}`] = round((s.cpuUserMs + s.cpuSystemMs) / 1000, 2);
    }
    out[`validatedFiles_${n}`] = r.validatedFiles;
    out[`readySeconds_${n}`] = round(r.readyMs / 1000, 2);
    out[`startupSeconds_${n}`] = round(r.startedMs / 1000, 2);
    out[`processStartToReadySeconds_${n}`] = round((r.bootMs + r.readyMs) / 1000, 2);
    out[`peakRssMb_${n}`] = r.peakRssMb;
    out[`peakJsHeapMb_${n}`] = r.peakHeapTotalMb;
    out[`heapUsedAtReadyMb_${n}`] = r.heapUsedMb;
    out[`cpuSeconds_${n}`] = round((r.cpuUserMs + r.cpuSystemMs) / 1000, 2);
    measured.push({ n, ready: r.readyMs, rss: r.peakRssMb });
  }
  if (measured.length >= 2) {
    const a = measured[0];
    const b = measured[measured.length - 1];
    const factor = b.n / a.n;
    out.sizeFactor = factor;
    out.readyTimeGrowth = round(b.ready / a.ready, 2);
    out.rssGrowth = round(b.rss / a.rss, 2);
    // Memory has a fixed floor (Node, modules); the per-job cost is the slope.
    out.rssPerThousandJobsMb = round(((b.rss - a.rss) / (b.n - a.n)) * 1000, 1);
    out.msPerJob = round(b.ready / b.n, 3);
  }
  return out;
}

if (require.main === module) main(run);
