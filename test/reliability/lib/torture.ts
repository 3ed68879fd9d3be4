/**
 * Drivers of the crash and fault torture parts, shared by the reduced (`*.test.ts`) and the long
 * (`*.long.test.ts`) versions: they run the real processes, collect the evidence and return figures;
 * the test files assert.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { SqliteStore } from '../../../src/store/sqlite';
import type { EmulatorStats } from '../../../src/emulator';
import { TAG_ATTEMPT, TAG_JOB, TAG_MANAGED_BY, TAG_RUN } from '../../../src/api/names';
import { ControllerProcess, jobYaml } from '../../e2e/harness';
import { analyse, type Analysis, type JobRule, type Life } from './slot-analysis';
import { checkUntouched, plantForeignGroups, prng, sleep, spawnController, startEmulatorProcess, tmp, waitUntil, type EmulatorProcess, type OwnershipReport } from './procs';

const HISTORY = '  successfulRunsHistoryLimit: 1000\n  failedRunsHistoryLimit: 1000\n';

export interface TortureJob extends JobRule {
  yaml: string;
}

function job(name: string, rg: string, o: { period: number; catchup: boolean; deadline: number; cap?: number; command?: string; extra?: string }): TortureJob {
  const cap = o.cap ?? 10;
  return {
    name,
    periodSeconds: o.period,
    catchup: o.catchup,
    maxCatchupRuns: cap,
    deadlineSeconds: o.deadline,
    yaml: jobYaml(name, {
      rg,
      schedule: `*/${o.period} * * * * *`,
      command: o.command ?? `echo "run $ACICTL_RUN_ID attempt $ACICTL_ATTEMPT"`,
      extra:
        `  catchup: ${o.catchup}\n  maxCatchupRuns: ${cap}\n  startingDeadlineSeconds: ${o.deadline}\n  concurrencyPolicy: Allow\n` +
        `  cleanup: {onSuccess: Delete, onFailure: Delete}\n` +
        HISTORY +
        (o.extra ?? ''),
    }),
  };
}

/** Every run that started (emulator creation log) is recorded as finished in the store file. */
export async function checkRecordedFinished(stateDir: string, stats: EmulatorStats, jobs: string[], logJobs: string[] = []): Promise<{ checked: number; logsChecked: number; problems: string[] }> {
  let logsChecked = 0;
  const instanceId = readFileSync(path.join(stateDir, 'instance-id'), 'utf8').trim();
  const store = SqliteStore.open(path.join(stateDir, 'acictl.db'));
  const problems: string[] = [];
  let checked = 0;
  try {
    for (const c of stats.creations) {
      if (!jobs.includes(c.tags[TAG_JOB]) || c.tags[TAG_MANAGED_BY] !== instanceId) continue;
      checked++;
      const runId = c.tags[TAG_RUN];
      const attempt = Number(c.tags[TAG_ATTEMPT] ?? '1');
      const run = await store.getRun(runId);
      if (!run) {
        problems.push(`${c.name}: run ${runId} not in the store`);
        continue;
      }
      const a = run.attempts.find((x) => x.attempt === attempt);
      if (!a) problems.push(`${c.name}: run ${runId} has no attempt ${attempt}`);
      else if (a.phase !== 'Succeeded' && a.phase !== 'Failed') problems.push(`${c.name}: attempt ${attempt} is ${a.phase}`);
      else if (logJobs.includes(c.tags[TAG_JOB])) {
        // Invariant 7: the attempt's output is in the store (captured before its group was deleted).
        logsChecked++;
        const text = (await store.getLog(runId, attempt)).map((l) => l.content).join('');
        if (!a.logsArchived || !text.includes(`run ${runId} attempt ${attempt}`)) problems.push(`${c.name}: logs not kept (archived=${a.logsArchived}, ${text.length} bytes)`);
      }
      if (run.phase !== 'Succeeded' && run.phase !== 'Failed') problems.push(`${runId}: run is ${run.phase}`);
    }
    for (const name of jobs) for (const r of await store.listRuns(name)) if (r.phase !== 'Succeeded' && r.phase !== 'Failed') problems.push(`${r.id}: left ${r.phase}`);
  } finally {
    await store.close();
  }
  return { checked, logsChecked, problems: [...new Set(problems)] };
}

/** With ACICTL_RELIABILITY_DUMP=DIR, the processes' output is kept there for a post-mortem. */
function dump(name: string, text: string): void {
  const dir = process.env.ACICTL_RELIABILITY_DUMP;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, name), text);
}

function readyTime(ctl: ControllerProcess): number | null {
  const l = ctl.lines().find((x) => typeof x.url === 'string' && /listening/.test(x.msg));
  return l ? Number(l.time) : null;
}

/** Suspends every job, waits until no run is active, stops the controller cleanly (SIGTERM). */
async function drain(ctl: ControllerProcess, jobs: string[], timeoutMs: number): Promise<{ suspendedAt: number; exitCode: number | null }> {
  const suspendedAt = Date.now();
  for (const j of jobs) {
    const r = await ctl.api('POST', `/apis/acictl.dev/v1/containerjobs/${j}/suspend`);
    if (r.status >= 300) throw new Error(`suspend ${j}: ${r.status} ${r.text}`);
  }
  await waitUntil(
    'every run to finish',
    async () => {
      const runs = await ctl.runs();
      return runs.length > 0 && runs.every((r) => r.status?.phase === 'Succeeded' || r.status?.phase === 'Failed');
    },
    timeoutMs,
    250,
  );
  await ctl.stop();
  return { suspendedAt, exitCode: ctl.child.exitCode };
}

export interface CrashResult {
  kills: number;
  killsBeforeReady: number;
  analysis: Analysis;
  finished: { checked: number; logsChecked: number; problems: string[] };
  ownership: OwnershipReport;
  cleanExit: number | null;
  durationMs: number;
  requests: number;
}

/**
 * The emulator's unverified-behaviour switches for a torture part (`acictl emulator` flags):
 * `pessimistic` = If-None-Match ignored (a repeated create PUT updates and restarts the group) and
 * creates visible in list only after `listDelayMs` (default 2 s).
 */
export interface AciReading {
  ifNoneMatch?: 'honour' | 'ignore' | 'reject';
  listDelayMs?: number;
  listInstanceViews?: boolean;
}

export const PESSIMISTIC: AciReading = { ifNoneMatch: 'ignore', listDelayMs: 2000 };

export function readingArgs(r: AciReading | undefined): string[] {
  if (!r) return [];
  const a: string[] = [];
  if (r.ifNoneMatch) a.push('--if-none-match', r.ifNoneMatch);
  if (r.listDelayMs) a.push('--list-delay', String(r.listDelayMs));
  if (r.listInstanceViews) a.push('--list-instance-views');
  return a;
}

export function describeReading(r: AciReading | undefined): string {
  const header = { honour: 'honoured', ignore: 'ignored', reject: 'rejected' }[r?.ifNoneMatch ?? 'honour'];
  const list = r?.listDelayMs ? `creates listed after ${r.listDelayMs} ms` : 'creates listed at once';
  return `If-None-Match ${header}, ${list}${r?.listInstanceViews ? ', list instance views' : ''}`;
}

export async function runCrashTorture(o: { kills: number; seed: number; maxUpMs: number; reading?: AciReading; log?: (s: string) => void }): Promise<CrashResult> {
  const t0 = Date.now();
  const log = o.log ?? (() => undefined);
  const rg = 'crash-torture';
  const emu = await startEmulatorProcess({ lroDelayMs: 50, args: readingArgs(o.reading) });
  const manifests = tmp('acictl-rel-crash-m-');
  const stateDir = tmp('acictl-rel-crash-s-');
  const jobs: TortureJob[] = [
    job('tick1', rg, { period: 1, catchup: false, deadline: 10 }),
    job('tick2c', rg, { period: 2, catchup: true, deadline: 30, cap: 10 }),
    job('retry2', rg, { period: 2, catchup: false, deadline: 10, command: '[ "$ACICTL_ATTEMPT" -ge 2 ] || exit 1', extra: '  retries: 1\n  retryDelay: 1s\n' }),
  ];
  const names = jobs.map((j) => j.name);
  let ctl: ControllerProcess | undefined;
  try {
    const planted = await plantForeignGroups(emu, rg, 'tick1');
    for (const j of jobs) writeFileSync(path.join(manifests, `${j.name}.yaml`), j.yaml);
    const rand = prng(o.seed);
    const lives: Life[] = [];
    let killsBeforeReady = 0;
    for (let i = 0; i < o.kills; i++) {
      ctl = spawnController(emu, { manifests: [manifests], stateDir });
      const spawnAt = Date.now();
      // One kill in five lands during start-up (before the API listens); the others while it runs.
      const early = rand() < 0.2;
      if (early) {
        await sleep(150 + rand() * 900);
      } else {
        await ctl.ready(30_000);
        await sleep(rand() * o.maxUpMs);
      }
      if (ctl.child.exitCode !== null) throw new Error(`controller exited by itself (${ctl.child.exitCode}): ${ctl.stderr}`);
      const killAt = Date.now();
      ctl.kill('SIGKILL');
      await ctl.exited;
      const readyAt = readyTime(ctl);
      if (readyAt === null) killsBeforeReady++;
      lives.push({ spawnAt, readyAt: readyAt ?? Number.POSITIVE_INFINITY, killAt });
      log(`kill ${i + 1}/${o.kills}: up ${killAt - spawnAt} ms${readyAt === null ? ' (before ready)' : `, ready after ${readyAt - spawnAt} ms`}`);
    }
    // Final life: runs undisturbed for a while, then the jobs are suspended and the runs drained.
    ctl = spawnController(emu, { manifests: [manifests], stateDir });
    const spawnAt = Date.now();
    await ctl.ready(30_000);
    await sleep(5_000);
    const { suspendedAt, exitCode } = await drain(ctl, names, 60_000);
    lives.push({ spawnAt, readyAt: readyTime(ctl)!, killAt: suspendedAt });
    const stats = await emu.stats();
    const firstReady = Math.min(...lives.map((l) => l.readyAt));
    const analysis = analyse({
      jobs,
      lives,
      creations: stats.creations,
      starts: stats.starts,
      windowStart: firstReady,
      windowEnd: suspendedAt - 1000,
      settleMs: 1500,
      actMs: 1500,
    });
    const finished = await checkRecordedFinished(stateDir, stats, names, ['tick1', 'tick2c']);
    const ownership = await checkUntouched(emu, planted, emu.events(), stats);
    const requests = Object.values(stats.requests).reduce((a, b) => a + b, 0);
    return { kills: o.kills, killsBeforeReady, analysis, finished, ownership, cleanExit: exitCode, durationMs: Date.now() - t0, requests };
  } finally {
    if (ctl && ctl.child.exitCode === null) ctl.kill('SIGKILL');
    await emu.stop();
  }
}

export interface FaultResult {
  durationMs: number;
  controllerExitedEarly: boolean;
  cleanExit: number | null;
  requests: number;
  armRequests: number;
  injected: number;
  injectedByKind: Record<string, number>;
  responses: Record<string, number>;
  runs: number;
  requestsPerRun: number;
  peakRequestsPerSecond: number;
  analysis: Analysis;
  lostStrict: string[];
  lateSuperseded: string[];
  finished: { checked: number; logsChecked: number; problems: string[] };
  ownership: OwnershipReport;
  failedRuns: number;
}

/**
 * `periods`: the two jobs' schedules in seconds. Keep the creations (with retried PUTs) under ACI's
 * 100 creates per 5 minutes: the controller enforces that window client-side and would (rightly)
 * wait minutes for it — a 1 s schedule only fits a run shorter than about a minute.
 */
export async function runFaultTorture(o: { durationMs: number; seed: number; periods?: [number, number]; faults?: string; reading?: AciReading; log?: (s: string) => void }): Promise<FaultResult> {
  const [p1, p2] = o.periods ?? [1, 2];
  const log = o.log ?? (() => undefined);
  const rg = 'fault-torture';
  const spec = o.faults ?? `429=0.1,500=0.025,503=0.025,reset=0.02,latency=0-100ms,seed=${o.seed}`;
  const emu: EmulatorProcess = await startEmulatorProcess({ faults: spec, lroDelayMs: 50, args: readingArgs(o.reading) });
  const manifests = tmp('acictl-rel-fault-m-');
  const stateDir = tmp('acictl-rel-fault-s-');
  const jobs: TortureJob[] = [
    job('fault1c', rg, { period: p1, catchup: true, deadline: 30, cap: 20 }),
    job('fault2', rg, { period: p2, catchup: false, deadline: 20, command: '[ "$ACICTL_ATTEMPT" -ge 2 ] || exit 1', extra: '  retries: 2\n  retryDelay: 1s\n' }),
  ];
  const names = jobs.map((j) => j.name);
  let ctl: ControllerProcess | undefined;
  try {
    const planted = await plantForeignGroups(emu, rg, 'fault1c');
    const before = await emu.stats();
    for (const j of jobs) writeFileSync(path.join(manifests, `${j.name}.yaml`), j.yaml);
    const t0 = Date.now();
    ctl = spawnController(emu, { manifests: [manifests], stateDir });
    await ctl.ready(60_000);
    const readyAt = readyTime(ctl)!;
    let exitedEarly = false;
    let peak = 0;
    let prev = { at: Date.now(), n: total(before.requests) };
    const end = Date.now() + o.durationMs;
    while (Date.now() < end) {
      await sleep(2000);
      if (ctl.child.exitCode !== null) {
        exitedEarly = true;
        break;
      }
      const s = await emu.stats();
      const now = Date.now();
      const n = total(s.requests);
      peak = Math.max(peak, ((n - prev.n) * 1000) / (now - prev.at));
      prev = { at: now, n };
      log(`faults: ${Math.round((now - t0) / 1000)} s, ${n} requests, ${total(s.injectedFaults)} injected, ${s.creations.length} creations`);
    }
    if (exitedEarly) throw new Error(`controller exited during fault torture (${ctl.child.exitCode}): ${ctl.stderr.slice(-2000)}`);
    const { suspendedAt, exitCode } = await drain(ctl, names, 120_000);
    const stats = await emu.stats();
    const analysis = analyse({
      jobs,
      lives: [{ spawnAt: t0, readyAt, killAt: suspendedAt }],
      creations: stats.creations,
      // Starts before the controller's spawn are the planting (see checkUntouched).
      starts: stats.starts.filter((s) => Date.parse(s.time) >= t0),
      windowStart: readyAt,
      windowEnd: suspendedAt - 1000,
      settleMs: 1500,
      actMs: 1500,
    });
    const catchupJobs = jobs.filter((j) => j.catchup).map((j) => j.name);
    const lostStrict = analysis.lost.filter((l) => catchupJobs.includes(l.split('@')[0]));
    const lateSuperseded = analysis.lost.filter((l) => !catchupJobs.includes(l.split('@')[0]));
    const finished = await checkRecordedFinished(stateDir, stats, names, ['fault1c']);
    const ownership = await checkUntouched(emu, planted, emu.events(), stats, t0);
    const runs = stats.creations.filter((c) => names.includes(c.tags[TAG_JOB])).length;
    const store = SqliteStore.open(path.join(stateDir, 'acictl.db'));
    let failedRuns = 0;
    try {
      for (const n of names) failedRuns += (await store.listRuns(n)).filter((r) => r.phase === 'Failed').length;
    } finally {
      await store.close();
    }
    const requests = total(stats.requests) - total(before.requests);
    const armRequests = requests - (stats.requests.token ?? 0) + (before.requests.token ?? 0) - (stats.requests.identity ?? 0) + (before.requests.identity ?? 0);
    return {
      durationMs: suspendedAt - t0,
      controllerExitedEarly: exitedEarly,
      cleanExit: exitCode,
      requests,
      armRequests,
      injected: total(stats.injectedFaults) - total(before.injectedFaults),
      injectedByKind: diff(stats.injectedFaults, before.injectedFaults),
      responses: diff(stats.responses, before.responses),
      runs,
      requestsPerRun: runs ? requests / runs : Infinity,
      peakRequestsPerSecond: peak,
      analysis,
      lostStrict,
      lateSuperseded,
      finished,
      ownership,
      failedRuns,
    };
  } finally {
    if (ctl) dump('faults-controller.log', ctl.stdout + ctl.stderr);
    dump('faults-emulator.log', emu.stderr);
    if (ctl && ctl.child.exitCode === null) ctl.kill('SIGKILL');
    await emu.stop();
  }
}

function total(m: Record<string, number>): number {
  return Object.values(m).reduce((a, b) => a + b, 0);
}

function diff(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(a)) if (v - (b[k] ?? 0) !== 0) out[k] = v - (b[k] ?? 0);
  return out;
}
