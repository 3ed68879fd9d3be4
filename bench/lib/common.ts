/**
 * Shared pieces of the benchmarks: manifest generation, an in-process controller pointed at an
 * in-process emulator (as `--arm-endpoint` + the emulator's identity endpoint would wire it),
 * emulator request accounting, percentiles and the "run alone" entry point.
 */
import type { RateLimits } from '../../src/aci/rate-limit';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startController, type RunningController } from '../../src/controller/controller';
import type { EmulatorStats, RunningEmulator } from '../../src/emulator';
import type { StoredJob } from '../../src/store/types';

export type BenchResult = Record<string, number | string>;

export interface JobSpecOptions {
  schedule?: string | null;
  resourceGroup: string;
  /** Extra `spec:` lines (two-space indented), e.g. "  startingDeadlineSeconds: 600\n". */
  extra?: string;
  image?: string;
  label?: string;
}

/** One ContainerJob document (19–20 lines, like a small real job). */
export function jobDocument(name: string, o: JobSpecOptions): string {
  return (
    [
      'apiVersion: acictl.dev/v1',
      'kind: ContainerJob',
      'metadata:',
      `  name: ${name}`,
      `  labels: {team: ${o.label ?? 'bench'}}`,
      'spec:',
      o.schedule === null ? '' : `  schedule: "${o.schedule ?? '@yearly'}"`,
      (o.extra ?? '').replace(/\n$/, ''),
      '  template:',
      `    resourceGroup: ${o.resourceGroup}`,
      '    location: eastus',
      '    containers:',
      '      - name: main',
      `        image: ${o.image ?? 'registry.example.com/bench/app:1'}`,
      `        command: ["/bin/sh", "-c", "echo ${name}"]`,
      `        environmentVariables: [{name: JOB, value: "${name}"}]`,
      '        resources: {requests: {cpu: 0.5, memoryInGB: 0.5}}',
    ]
      .filter((l) => l !== '')
      .join('\n') + '\n'
  );
}

/** Write `count` jobs, one file each, 100 files per sub-directory; returns the job names. */
export function writeJobs(dir: string, count: number, doc: (i: number, name: string) => string, prefix = 'job'): string[] {
  mkdirSync(dir, { recursive: true });
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const sub = join(dir, `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(sub, { recursive: true });
    const name = `${prefix}-${String(i).padStart(5, '0')}`;
    writeFileSync(join(sub, `${name}.yaml`), doc(i, name));
    names.push(name);
  }
  return names;
}

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `acictl-bench-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A logger that keeps the bench output readable: errors only, to stderr. */
export function benchLogger(level = process.env.BENCH_LOG_LEVEL ?? 'error'): pino.Logger {
  return pino({ level }, pino.destination(2));
}

export interface BenchControllerOptions {
  manifests: string[];
  stateDir: string;
  once?: boolean;
  resyncIntervalMs?: number;
  concurrency?: number;
  /** Client-side ARM budget (controller option arm.limits); default: the Azure limits. */
  limits?: RateLimits;
  /** A postgres:// URL (the PostgreSQL store); absent: SQLite in the state dir. */
  store?: string;
}

/** startController against an emulator, wired the way `acictl controller --arm-endpoint … --arm-ca …` wires it. */
export function startBenchController(emu: Pick<RunningEmulator, 'subscriptionId' | 'endpoint' | 'ca' | 'env'>, o: BenchControllerOptions): Promise<RunningController> {
  return startController({
    manifests: o.manifests,
    stateDir: o.stateDir,
    store: o.store,
    listen: { host: '127.0.0.1', port: 0 },
    once: o.once ?? false,
    allowEmpty: false,
    emulator: null,
    arm: { subscriptionId: emu.subscriptionId, endpoint: emu.endpoint, ca: emu.ca, credential: 'emulator', ...(o.limits ? { limits: o.limits } : {}) },
    resyncIntervalMs: o.resyncIntervalMs ?? 5 * 60_000,
    concurrency: o.concurrency ?? 8,
    env: { ...emu.env },
    logger: benchLogger(),
  });
}

export function isReady(j: StoredJob): boolean {
  return Boolean(j.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
}

export function readyCount(jobs: StoredJob[]): number {
  let n = 0;
  for (const j of jobs) if (isReady(j)) n++;
  return n;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor(what: string, fn: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** ARM requests by operation between two stats snapshots (identity/token requests excluded). */
export function requestDelta(before: EmulatorStats, after: EmulatorStats): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.requests)) {
    if (k === 'identity' || k === 'token' || k === 'openidConfiguration') continue;
    const d = v - (before.requests[k] ?? 0);
    if (d) out[k] = d;
  }
  return out;
}

export function total(r: Record<string, number>): number {
  return Object.values(r).reduce((a, b) => a + b, 0);
}

export function formatCounts(r: Record<string, number>): string {
  return Object.entries(r)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** Nearest-rank percentile (p in 0..100) of unsorted numbers. */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1];
}

export function round(x: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Peak resident set size of this process so far, MB (getrusage ru_maxrss = VmHWM). */
export function peakRssMb(): number {
  return round(process.resourceUsage().maxRSS / 1024, 1);
}

/**
 * Entry point of a bench run alone: `node dist/bench/NAME.js [--json] [key=value …]`. Numeric
 * values become numbers. With `--json` the result is printed as one JSON line (what run-all
 * reads); otherwise as `key: value` lines. Exits non-zero on an exception, never on a missed target.
 */
export function main(run: (opts: Record<string, number | string | boolean>) => Promise<BenchResult>): void {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const opts: Record<string, number | string | boolean> = {};
  for (const a of args) {
    const m = /^([A-Za-z][\w]*)=(.*)$/.exec(a);
    if (m) opts[m[1]] = m[2] !== '' && Number.isFinite(Number(m[2])) ? Number(m[2]) : m[2];
  }
  run(opts).then(
    (r) => {
      if (json) process.stdout.write(`BENCH_RESULT ${JSON.stringify(r)}\n`);
      else for (const [k, v] of Object.entries(r)) console.log(`${k}: ${v}`);
      // Anything left open (SDK keep-alive sockets, timers) must not keep a finished bench alive.
      setTimeout(() => process.exit(process.exitCode ?? 0), 200).unref();
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}

/** Progress lines on stderr (so stdout stays machine-readable). */
export function progress(line: string): void {
  process.stderr.write(`  ${line}\n`);
}

/**
 * The emulator as a child process (`acictl emulator`), configured only from the lines it prints:
 * for benches that measure the controller's own CPU, since Azure does not run on our cores.
 */
export interface EmulatorChild {
  subscriptionId: string;
  endpoint: string;
  ca: string;
  env: Record<string, string>;
  stats(): Promise<EmulatorStats>;
  close(): Promise<void>;
}

export async function startEmulatorChild(args: string[]): Promise<EmulatorChild> {
  const { spawn } = await import('node:child_process');
  const { readFileSync } = await import('node:fs');
  const https = await import('node:https');
  const root = join(__dirname, '..', '..', '..');
  const child = spawn(process.execPath, [join(root, 'bin', 'acictl.js'), 'emulator', '--listen', '127.0.0.1:0', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const env: Record<string, string> = {};
  await waitFor('the emulator to print its environment', () => {
    for (const m of out.matchAll(/^export ([A-Z_]+)=(.*)$/gm)) env[m[1]] = m[2].replace(/^'(.*)'$/, '$1');
    if (child.exitCode !== null) throw new Error(`emulator exited ${child.exitCode}`);
    return Boolean(env.IDENTITY_HEADER);
  }, 30_000, 20);
  const ca = readFileSync(env.ACICTL_ARM_CA, 'utf8');
  const stats = (): Promise<EmulatorStats> =>
    new Promise((resolve, reject) => {
      https
        .get(`${env.ACICTL_ARM_ENDPOINT}/_emulator/stats`, { ca }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => {
            try {
              resolve(JSON.parse(body) as EmulatorStats);
            } catch (e) {
              reject(e);
            }
          });
        })
        .on('error', reject);
    });
  return {
    subscriptionId: env.AZURE_SUBSCRIPTION_ID,
    endpoint: env.ACICTL_ARM_ENDPOINT,
    ca,
    env,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('close', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
