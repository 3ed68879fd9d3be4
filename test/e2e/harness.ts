/**
 * End-to-end harness: the real ARM emulator in the test process (so its stats and the SDK are at
 * hand) and the real `acictl controller` as a child process pointed at it, as a user would run it
 * against a standalone emulator (`--arm-endpoint`, `--arm-ca`, identity endpoint variables).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/emulator';
import { ensureBuilt, ROOT } from '../cli/harness';

const NODE = path.join(ROOT, 'node_modules/.bin/node');
const BIN = path.join(ROOT, 'bin/acictl.js');

export { ensureBuilt, ROOT };

export function tmp(prefix = 'acictl-e2e-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitUntil<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 15_000, everyMs = 100): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}

export async function startTestEmulator(opts: EmulatorOptions = {}): Promise<RunningEmulator & { caFilePath: string }> {
  const dir = tmp('acictl-emu-');
  const emu = await startEmulator({ lroDelayMs: 50, ...opts });
  const caFilePath = emu.caFile ?? path.join(dir, 'ca.pem');
  if (!emu.caFile) writeFileSync(caFilePath, emu.ca);
  return Object.assign(emu, { caFilePath });
}

export interface LogLine {
  level: number;
  msg: string;
  job?: string;
  run?: string;
  attempt?: number;
  container?: string;
  stream?: string;
  [k: string]: unknown;
}

/** A controller child process with its JSON log lines. */
export class ControllerProcess {
  stdout = '';
  stderr = '';
  url = '';
  token = '';
  readonly exited: Promise<number | null>;

  constructor(
    readonly child: ChildProcess,
    readonly stateDir: string,
  ) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((r) => child.on('close', (code) => r(code)));
  }

  lines(): LogLine[] {
    const out: LogLine[] = [];
    for (const l of this.stdout.split('\n')) {
      if (!l.startsWith('{')) continue;
      try {
        out.push(JSON.parse(l) as LogLine);
      } catch {
        /* a partial line */
      }
    }
    return out;
  }

  async ready(timeoutMs = 20_000): Promise<void> {
    await waitUntil(
      'controller to listen',
      () => {
        if (this.child.exitCode !== null) throw new Error(`controller exited ${this.child.exitCode}: ${this.stderr}\n${this.stdout}`);
        const l = this.lines().find((x) => typeof x.url === 'string' && /listening/.test(x.msg));
        return l ? (l.url as string) : null;
      },
      timeoutMs,
      50,
    ).then((url) => {
      this.url = url;
      this.token = readFileSync(path.join(this.stateDir, 'token'), 'utf8').trim();
    });
  }

  async api<T = any>(method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T; text: string }> {
    const res = await fetch(this.url + p, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: any = undefined;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed as T, text };
  }

  job(name: string) {
    return this.api('GET', `/apis/acictl.dev/v1/containerjobs/${name}`).then((r) => (r.status === 200 ? r.body : null));
  }

  runs(job?: string): Promise<any[]> {
    const q = job ? `?labelSelector=${encodeURIComponent(`acictl.dev/job=${job}`)}` : '';
    return this.api('GET', `/apis/acictl.dev/v1/containerjobruns${q}`).then((r) => (r.body?.items ?? []) as any[]);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.exitCode === null) this.child.kill(signal);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(t);
  }
}

export function startControllerProcess(
  emu: RunningEmulator & { caFilePath: string },
  opts: { manifests?: string[]; stateDir?: string; args?: string[]; env?: Record<string, string> } = {},
): ControllerProcess {
  ensureBuilt();
  const stateDir = opts.stateDir ?? tmp('acictl-state-');
  mkdirSync(stateDir, { recursive: true });
  const args = [
    BIN,
    'controller',
    '--state-dir',
    stateDir,
    '--listen',
    '127.0.0.1:0',
    '--arm-endpoint',
    emu.endpoint,
    '--arm-ca',
    emu.caFilePath,
    '--subscription',
    emu.subscriptionId,
    '--log-format',
    'json',
    ...(opts.manifests ?? []).flatMap((m) => ['--manifests', m]),
    ...(opts.args ?? []),
  ];
  const child = spawn(NODE, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      IDENTITY_ENDPOINT: emu.identity.endpoint,
      IDENTITY_HEADER: emu.identity.header,
      ...(opts.env ?? {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new ControllerProcess(child, stateDir);
}

export function jobYaml(
  name: string,
  o: { schedule?: string | null; command?: string; extra?: string; rg?: string; labels?: Record<string, string>; env?: string } = {},
): string {
  const schedule = o.schedule === null ? '' : `  schedule: "${o.schedule ?? '@yearly'}"\n`;
  const labels = o.labels ? `  labels: {${Object.entries(o.labels).map(([k, v]) => `${k}: ${v}`).join(', ')}}\n` : '';
  return `apiVersion: acictl.dev/v1
kind: ContainerJob
metadata:
  name: ${name}
${labels}spec:
${schedule}${o.extra ?? ''}  template:
    resourceGroup: ${o.rg ?? 'e2e'}
    location: eastus
    containers:
      - name: main
        image: busybox
        command: ["/bin/sh", "-c", ${JSON.stringify(o.command ?? 'echo hello')}]
        resources: {requests: {cpu: 0.5, memoryInGB: 0.5}}
${o.env ?? ''}`;
}

export function cleanupDirs(...dirs: string[]): void {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

/** The real SDK client against the test emulator (a fixed token: the emulator accepts any). */
export function armClient(emu: RunningEmulator): ContainerInstanceManagementClient {
  return new ContainerInstanceManagementClient(
    { getToken: async () => ({ token: 'test', expiresOnTimestamp: Date.now() + 3_600_000 }) },
    emu.subscriptionId,
    { endpoint: emu.endpoint, tlsOptions: { ca: emu.ca }, updateIntervalInMs: 50 } as ConstructorParameters<typeof ContainerInstanceManagementClient>[2],
  );
}
