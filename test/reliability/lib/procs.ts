/**
 * Process helpers of the reliability suite: the standalone emulator (`acictl emulator --state-dir`)
 * as a child process with its stats read over HTTPS and its JSON log parsed, the controller as a
 * child process (optionally as an unprivileged user), and the ARM client used to plant groups the
 * controller must never touch.
 */
import { seededRandom } from '../../../src/emulator/faults';
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import type { EmulatorStats } from '../../../src/emulator';
import { ControllerProcess, ensureBuilt, ROOT, sleep, tmp, waitUntil } from '../../e2e/harness';

export const NODE = path.join(ROOT, 'node_modules/.bin/node');
export const BIN = path.join(ROOT, 'bin/acictl.js');

/** What a controller needs to reach an emulator, in-process or a child process. */
export interface EmulatorTarget {
  endpoint: string;
  ca: string;
  caFilePath: string;
  subscriptionId: string;
  identity: { endpoint: string; header: string };
}

/** One line of the emulator's JSON log (stderr of `acictl emulator`, or the in-process logger). */
export interface EmuEvent {
  level: string;
  msg: string;
  group?: string;
  resourceGroup?: string;
  [k: string]: unknown;
}

/** Collects emulator log events; pass `logger` to startEmulator for an in-process emulator. */
export class EmuEventLog {
  readonly events: EmuEvent[] = [];
  readonly logger = {
    info: (o: object, msg?: string) => this.events.push({ level: 'info', msg: msg ?? '', ...o }),
    warn: (o: object, msg?: string) => this.events.push({ level: 'warn', msg: msg ?? '', ...o }),
  };
}

export class EmulatorProcess implements EmulatorTarget {
  endpoint = '';
  ca = '';
  caFilePath = '';
  subscriptionId = '';
  identity = { endpoint: '', header: '' };
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(
    readonly child: ChildProcess,
    readonly stateDir: string,
  ) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((r) => child.on('close', (code) => r(code)));
  }

  events(): EmuEvent[] {
    const out: EmuEvent[] = [];
    for (const l of this.stderr.split('\n')) {
      if (!l.startsWith('{')) continue;
      try {
        out.push(JSON.parse(l) as EmuEvent);
      } catch {
        /* partial line */
      }
    }
    return out;
  }

  /** GET /_emulator/stats over HTTPS, trusting the emulator's own certificate. */
  stats(): Promise<EmulatorStats> {
    return new Promise((resolve, reject) => {
      const req = https.get(`${this.endpoint}/_emulator/stats`, { ca: this.ca, timeout: 10_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => {
          try {
            resolve(JSON.parse(body) as EmulatorStats);
          } catch (e) {
            reject(e);
          }
        });
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('stats request timed out')));
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(t);
  }
}

/** `acictl emulator --state-dir DIR [--faults SPEC]` as a child process; resolves once it printed its environment. */
export async function startEmulatorProcess(opts: { stateDir?: string; faults?: string; lroDelayMs?: number; args?: string[] } = {}): Promise<EmulatorProcess> {
  ensureBuilt();
  const stateDir = opts.stateDir ?? tmp('acictl-rel-emu-');
  const args = [BIN, 'emulator', '--listen', '127.0.0.1:0', '--state-dir', stateDir, '--lro-delay', String(opts.lroDelayMs ?? 50)];
  if (opts.faults) args.push('--faults', opts.faults);
  if (opts.args) args.push(...opts.args);
  const child = spawn(NODE, args, { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ['ignore', 'pipe', 'pipe'] });
  const emu = new EmulatorProcess(child, stateDir);
  const env = await waitUntil(
    'emulator to print its environment',
    () => {
      if (child.exitCode !== null) throw new Error(`emulator exited ${child.exitCode}: ${emu.stderr}`);
      const vars: Record<string, string> = {};
      for (const m of emu.stdout.matchAll(/^export ([A-Z_]+)=(.*)$/gm)) vars[m[1]] = m[2].replace(/^'(.*)'$/, '$1');
      return vars.IDENTITY_HEADER ? vars : null;
    },
    30_000,
    50,
  );
  emu.endpoint = env.ACICTL_ARM_ENDPOINT;
  emu.caFilePath = env.ACICTL_ARM_CA;
  emu.subscriptionId = env.AZURE_SUBSCRIPTION_ID;
  emu.identity = { endpoint: env.IDENTITY_ENDPOINT, header: env.IDENTITY_HEADER };
  emu.ca = require('node:fs').readFileSync(emu.caFilePath, 'utf8');
  return emu;
}

export interface ControllerSpawnOptions {
  manifests?: string[];
  stateDir?: string;
  args?: string[];
  env?: Record<string, string>;
  /** Run as this uid/gid (root only): makes chmod 000 really unreadable for the controller. */
  user?: { uid: number; gid: number };
  /** Replace the default `--listen 127.0.0.1:0` (omit the flag entirely with null). */
  listen?: string | null;
}

/** The real `acictl controller` as a child process against `emu` (like e2e's startControllerProcess, plus uid and listen). */
export function spawnController(emu: EmulatorTarget, opts: ControllerSpawnOptions = {}): ControllerProcess {
  ensureBuilt();
  const stateDir = opts.stateDir ?? tmp('acictl-rel-state-');
  mkdirSync(stateDir, { recursive: true });
  if (opts.user) chownTree(stateDir, opts.user.uid, opts.user.gid);
  const listen = opts.listen === undefined ? ['--listen', '127.0.0.1:0'] : opts.listen === null ? [] : ['--listen', opts.listen];
  const args = [
    BIN,
    'controller',
    '--state-dir',
    stateDir,
    ...listen,
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
    ...(opts.user ? { uid: opts.user.uid, gid: opts.user.gid } : {}),
  });
  return new ControllerProcess(child, stateDir);
}

export function chownTree(p: string, uid: number, gid: number): void {
  chownSync(p, uid, gid);
  if (statSync(p).isDirectory()) for (const n of readdirSync(p)) chownTree(path.join(p, n), uid, gid);
}

/** An ARM client with a fixed test token (the emulator accepts any bearer token). */
export function armClient(emu: EmulatorTarget): ContainerInstanceManagementClient {
  return new ContainerInstanceManagementClient(
    { getToken: async () => ({ token: 'reliability-test', expiresOnTimestamp: Date.now() + 3_600_000 }) },
    emu.subscriptionId,
    { endpoint: emu.endpoint, tlsOptions: { ca: emu.ca }, updateIntervalInMs: 50, retryOptions: { maxRetries: 10, retryDelayInMs: 100 } } as any,
  );
}

export interface PlantedGroup {
  resourceGroup: string;
  name: string;
  tags: Record<string, string>;
  kind: 'unmanaged' | 'other-instance';
}

/**
 * Creates groups the controller must never update, stop or delete, in `rg`: one without tags, one
 * tagged by ANOTHER controller instance for a job that has the same name as one of ours, and one
 * tagged by another instance for a job we do not have (it looks like an orphan — but not ours).
 * Each runs `sleep` so a stop would show.
 */
export async function plantForeignGroups(emu: EmulatorTarget, rg: string, ourJob: string): Promise<PlantedGroup[]> {
  const client = armClient(emu);
  const other = 'acictl-0therinst';
  const planted: PlantedGroup[] = [
    { resourceGroup: rg, name: 'unmanaged-worker', tags: { owner: 'someone-else' }, kind: 'unmanaged' },
    {
      resourceGroup: rg,
      name: `${ourJob}-20300101000000`,
      tags: {
        'acictl.dev/managed-by': other,
        'acictl.dev/job': ourJob,
        'acictl.dev/run': `${ourJob}-20300101000000`,
        'acictl.dev/scheduled-time': '2030-01-01T00:00:00.000Z',
        'acictl.dev/spec-hash': 'not-ours',
        'acictl.dev/attempt': '1',
      },
      kind: 'other-instance',
    },
    {
      resourceGroup: rg,
      name: 'ghost-job-202001010000',
      tags: {
        'acictl.dev/managed-by': other,
        'acictl.dev/job': 'ghost-job',
        'acictl.dev/run': 'ghost-job-202001010000',
        'acictl.dev/scheduled-time': '2020-01-01T00:00:00.000Z',
        'acictl.dev/spec-hash': 'not-ours',
      },
      kind: 'other-instance',
    },
  ];
  for (const g of planted) {
    await client.containerGroups.beginCreateOrUpdateAndWait(g.resourceGroup, g.name, {
      location: 'eastus',
      osType: 'Linux',
      restartPolicy: 'Never',
      tags: g.tags,
      containers: [{ name: 'c', image: 'busybox', command: ['/bin/sh', '-c', 'sleep 3600'], resources: { requests: { cpu: 0.1, memoryInGB: 0.1 } } }],
    });
  }
  return planted;
}

export interface OwnershipReport {
  groups: number;
  writesSeen: string[];
  problems: string[];
}

/**
 * Invariant 2 evidence for planted groups: the emulator log shows no update/delete/stop for their
 * names, the start log shows only their own creation, and each still exists, running, with its tags.
 * `createdBefore` = the number of creation entries the planting itself produced per name (1).
 */
/**
 * `since` (epoch ms, the controller's first spawn): writes before it are the planting itself — under
 * injected `lost` faults the test's own SDK client re-sends a planting PUT, which an emulator that
 * ignores If-None-Match turns into an update. Only what happened from `since` on is the controller's.
 */
export async function checkUntouched(emu: EmulatorTarget, planted: PlantedGroup[], events: EmuEvent[], stats: EmulatorStats, since?: number): Promise<OwnershipReport> {
  const client = armClient(emu);
  const problems: string[] = [];
  const writesSeen: string[] = [];
  const after = (t: unknown) => since === undefined || typeof t !== 'string' || Date.parse(t) >= since;
  for (const g of planted) {
    const touched = events.filter(
      (e) => e.group === g.name && (e.resourceGroup ?? g.resourceGroup).toLowerCase() === g.resourceGroup.toLowerCase() && /updated|deleting|stopped|restarted|started/.test(e.msg) && after(e.time),
    );
    for (const t of touched) writesSeen.push(`${g.name}: ${t.msg}`);
    const mine = (s: { name: string; resourceGroup: string }) => s.name === g.name && s.resourceGroup.toLowerCase() === g.resourceGroup.toLowerCase();
    const starts = stats.starts.filter(mine);
    const later = starts.filter((s) => since !== undefined && Date.parse(s.time) >= since);
    if (since === undefined ? starts.length !== 1 || starts[0].reason !== 'create' : starts[0]?.reason !== 'create' || later.length > 0) {
      problems.push(`${g.name}: starts ${JSON.stringify(starts.map((s) => s.reason))}${since !== undefined ? ` (${later.length} after the controller started)` : ''}`);
    }
    const creations = stats.creations.filter((c) => c.name === g.name && c.resourceGroup.toLowerCase() === g.resourceGroup.toLowerCase());
    if (creations.length !== 1) problems.push(`${g.name}: ${creations.length} creations`);
    try {
      const now = await client.containerGroups.get(g.resourceGroup, g.name);
      if (JSON.stringify(sortKeys(now.tags ?? {})) !== JSON.stringify(sortKeys(g.tags))) problems.push(`${g.name}: tags changed to ${JSON.stringify(now.tags)}`);
      const state = now.instanceView?.state;
      if (state !== 'Running') problems.push(`${g.name}: state ${state} (expected Running: it runs sleep 3600)`);
    } catch (e) {
      problems.push(`${g.name}: GET failed: ${(e as Error).message}`);
    }
  }
  problems.push(...writesSeen);
  return { groups: planted.length, writesSeen, problems };
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Seeded PRNG for kill times: the emulator's own (mulberry32). */
export const prng = seededRandom;

export { sleep, tmp, waitUntil };
