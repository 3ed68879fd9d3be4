/**
 * End-to-end harness for the CLI: builds once, spawns the real `bin/acictl.js` with Node 24 and
 * collects its output, and starts the real HTTP API server in-process on 127.0.0.1:0.
 */
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ContainerJob } from '../../src/api/types';
import type { RunRecord } from '../../src/api/runs';
import { manualRunId } from '../../src/api/names';
import { MemoryStore } from '../../src/store/memory';
import type { Store } from '../../src/store/types';

/** The checkout (also when this file runs compiled, from dist/test/cli, as the HA benches import it). */
const UP = path.resolve(__dirname, '../..');
export const ROOT = path.basename(UP) === 'dist' ? path.dirname(UP) : UP;
const NODE = path.join(ROOT, 'node_modules/.bin/node');
/** ACICTL_E2E_ROOT points the suite at another build of the package (bin/ + dist/); default: this checkout. */
const PKG = process.env.ACICTL_E2E_ROOT ?? ROOT;
const BIN = path.join(PKG, 'bin/acictl.js');
const MAIN_JS = path.join(PKG, 'dist/src/cli/main.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Compiles src/ to dist/ when dist is missing or older than the sources (type errors elsewhere do not stop the emit). */
export function ensureBuilt(): void {
  if (PKG !== ROOT) return;
  if (existsSync(MAIN_JS) && statSync(MAIN_JS).mtimeMs >= newestMtime(path.join(ROOT, 'src'))) return;
  spawnSync(NODE, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'ignore' });
  if (!existsSync(MAIN_JS)) throw new Error('npm run build did not produce dist/src/cli/main.js');
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  stdin?: string;
  timeoutMs?: number;
}

function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_OPTIONS: '' };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

/** A running acictl process with its output so far. */
export class CliProcess {
  stdout = '';
  stderr = '';
  readonly done: Promise<CliResult>;
  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.done = new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout: this.stdout, stderr: this.stderr })));
  }

  /** Resolves once stdout matches `re` (polling; rejects after `timeoutMs`). */
  async waitFor(re: RegExp, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!re.test(this.stdout)) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${re} in stdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      if (this.child.exitCode !== null) throw new Error(`acictl exited (${this.child.exitCode}) before ${re}:\n${this.stdout}\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export function spawnCli(args: string[], opts: RunOptions = {}): CliProcess {
  const child = spawn(NODE, [BIN, ...args], { cwd: opts.cwd ?? ROOT, env: childEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.end(opts.stdin ?? '');
  return new CliProcess(child);
}

/** Runs acictl to completion (asynchronously: the in-process server keeps serving meanwhile). */
export async function runCli(args: string[], opts: RunOptions = {}): Promise<CliResult> {
  const p = spawnCli(args, opts);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
  try {
    return await p.done;
  } finally {
    clearTimeout(timer);
  }
}

export function tmpDir(prefix = 'acictl-cli-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A job manifest as YAML text (valid against the schema). */
export function jobYaml(name: string, opts: { schedule?: string; image?: string; labels?: Record<string, string>; extraEnv?: string } = {}): string {
  const labels = opts.labels ? `  labels:\n${Object.entries(opts.labels).map(([k, v]) => `    ${k}: ${v}\n`).join('')}` : '';
  return `apiVersion: acictl.dev/v1
kind: ContainerJob
metadata:
  name: ${name}
${labels}spec:
  schedule: "${opts.schedule ?? '@daily'}"
  template:
    resourceGroup: rg
    location: eastus
    containers:
      - name: main
        image: ${opts.image ?? 'hello-world:latest'}
        command: ["/bin/sh", "-c", "echo hello"]
        resources: {requests: {cpu: 1, memoryInGB: 1.5}}
${opts.extraEnv ?? ''}`;
}

export function jobObject(name: string, labels: Record<string, string> = {}): ContainerJob {
  return {
    apiVersion: 'acictl.dev/v1',
    kind: 'ContainerJob',
    metadata: { name, labels },
    spec: {
      schedule: '@hourly',
      template: { resourceGroup: 'rg', location: 'eastus', containers: [{ name: 'main', image: 'busybox', resources: { requests: { cpu: 1, memoryInGB: 1 } } }] },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The API server, in-process

interface ServerModule {
  startApiServer(deps: Record<string, unknown>, listen: { host: string; port: number }): Promise<{ url: string; close(): Promise<void> }>;
}
interface ValidateModule {
  validateObject(obj: unknown, opts?: { strict?: boolean }): unknown;
}

export interface TestServer {
  url: string;
  token: string;
  store: Store;
  /** Calls of setSuspended, in order. */
  suspendCalls: [string, boolean | null][];
  /** Live log chunks per run: yielded one by one with `delayMs` between them when followed. */
  liveLogs: Map<string, { chunks: string[]; delayMs: number }>;
  close(): Promise<void>;
}

export function serverAvailable(): boolean {
  return existsSync(path.join(ROOT, 'src/apiserver/server.ts'));
}

export function run(job: string, id: string, slot: number | null, phase: RunRecord['phase'], attempts: Partial<RunRecord['attempts'][number]>[] = []): RunRecord {
  const t = slot ?? Date.parse('2026-01-01T00:00:00Z');
  const lastFinish = attempts.length ? attempts[attempts.length - 1].finishedAt : undefined;
  return {
    id,
    job,
    slot,
    manual: slot === null,
    scheduledTime: t,
    dataIntervalStart: t - 86_400_000,
    dataIntervalEnd: t,
    phase,
    attempts: attempts.map((a, i) => ({ attempt: i + 1, groupName: i ? `${id}-a${i + 1}` : id, phase: 'Succeeded', createdAt: t, logsArchived: true, groupDeleted: false, ...a })),
    createdAt: t,
    finishedAt: phase === 'Succeeded' || phase === 'Failed' ? (lastFinish ?? t + 65_000) : undefined,
  };
}

export async function startTestServer(clockNow: () => number = () => Date.now()): Promise<TestServer> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startApiServer } = require('../../src/apiserver/server') as ServerModule;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { validateObject } = require('../../src/manifest/validate') as ValidateModule;
  const store = new MemoryStore();
  const token = 'test-token-' + Math.random().toString(36).slice(2);
  const suspendCalls: [string, boolean | null][] = [];
  const liveLogs = new Map<string, { chunks: string[]; delayMs: number }>();
  const deps = {
    store,
    token,
    validate: (obj: unknown, opts: { strict: boolean }) => validateObject(obj, opts),
    enqueue: () => undefined,
    trigger: async (name: string) => {
      const now = clockNow();
      const id = manualRunId(name, now);
      await store.putRun({ ...run(name, id, null, 'Pending'), scheduledTime: now, createdAt: now });
      return { run: id };
    },
    setSuspended: async (name: string, suspended: boolean | null) => {
      suspendCalls.push([name, suspended]);
      const job = await store.getJob(name);
      if (job) await store.putJobStatus(name, { ...job.status, suspended: suspended ?? job.spec.suspend ?? false });
    },
    logs: async function* (runId: string, attempt: number | undefined, follow: boolean, signal: AbortSignal): AsyncIterable<string> {
      const live = liveLogs.get(runId);
      if (follow && live) {
        for (const chunk of live.chunks) {
          if (signal.aborted) return;
          await new Promise((r) => setTimeout(r, live.delayMs));
          yield chunk;
        }
        return;
      }
      // Like the controller: one attempt when asked, else every attempt in order.
      const attempts = attempt !== undefined ? [attempt] : ((await store.getRun(runId))?.attempts ?? []).map((a) => a.attempt);
      for (const n of attempts) for (const part of await store.getLog(runId, n)) yield part.content;
    },
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    ready: () => true,
  };
  const server = await startApiServer(deps, { host: '127.0.0.1', port: 0 });
  return { url: server.url, token, store, suspendCalls, liveLogs, close: () => server.close() };
}
