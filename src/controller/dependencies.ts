/**
 * spec.dependsOn in the controller: which jobs depend on which (a reverse index, so a finished
 * upstream run wakes its downstream jobs through the work queue — no polling), what the planner
 * is told about each upstream job, how long an upstream's runs must be kept for its downstream
 * jobs, and the recording of the planner's holdRun / releaseRun actions.
 */
import type { RunPhase, RunRecord, SchedulerState } from '../api/runs';
import type { ResolvedJob } from '../api/types';
import type { Action, SlotSchedule } from '../plan';
import type { UpstreamView } from '../plan/dependencies';
import type { Store, StoredJob } from '../store/types';
import { describeCycle, findCycles } from '../manifest/cycles';
import type { Diagnostic } from '../manifest/diagnostic';
import type { RootSnapshot, Snapshot, SnapshotJob } from './watcher';

/** Downstream jobs by upstream name, kept in step with the specs the reconciler resolves. */
export class DependencyIndex {
  private readonly up = new Map<string, string[]>();
  private readonly down = new Map<string, Set<string>>();
  private loading: Promise<void> | null = null;

  constructor(private readonly store: Store) {
    // Started at once, outside any reconcile's transaction.
    void this.load().catch(() => {
      this.loading = null;
    });
  }

  /** Fill from every stored job once (the first time anyone asks); edges recorded meanwhile win. */
  private load(): Promise<void> {
    this.loading ??= this.store.forEachJob((j) => {
      const deps = (j.spec.dependsOn ?? []).map((d) => d.job);
      if (deps.length > 0 && !this.up.has(j.name)) this.setEdges(j.name, deps);
    });
    return this.loading;
  }

  private setEdges(job: string, upstream: string[]): void {
    for (const u of this.up.get(job) ?? []) this.down.get(u)?.delete(job);
    if (upstream.length === 0) this.up.delete(job);
    else this.up.set(job, upstream);
    for (const u of upstream) {
      let s = this.down.get(u);
      if (!s) this.down.set(u, (s = new Set()));
      s.add(job);
    }
  }

  /** The job's current upstream list (empty when it is gone or has none). */
  update(job: string, upstream: string[]): void {
    const cur = this.up.get(job) ?? [];
    if (cur.length === upstream.length && cur.every((u, i) => u === upstream[i])) return;
    this.setEdges(job, upstream);
  }

  async dependentsOf(job: string): Promise<string[]> {
    await this.load();
    return [...(this.down.get(job) ?? [])].sort();
  }
}

export interface Resolved {
  job: ResolvedJob | null;
  schedule: SlotSchedule | null;
}

/** What the planner of a downstream job is told about each of its upstream jobs. */
export async function readUpstream(store: Store, names: string[], resolve: (j: StoredJob) => Resolved): Promise<UpstreamView[]> {
  const out: UpstreamView[] = [];
  for (const name of names) out.push(await readOne(store, name, resolve));
  return out;
}

async function readOne(store: Store, name: string, resolve: (j: StoredJob) => Resolved): Promise<UpstreamView> {
  {
    const stored = await store.getJob(name);
    const base = { job: name, suspended: false, schedule: null, anchor: null, runs: new Map<string, RunPhase>() };
    if (!stored) return { ...base, status: 'Missing' };
    if (stored.deletionTimestamp) return { ...base, status: 'Deleting' };
    const r = resolve(stored);
    if (!r.job) return { ...base, status: 'Invalid' };
    const state: SchedulerState | undefined = await store.getSchedulerState(name);
    const runs = new Map<string, RunPhase>();
    for (const run of await store.listRuns(name)) if (!run.manual) runs.set(run.id, run.phase);
    return {
      job: name,
      status: 'Ready',
      suspended: state?.suspendOverride ?? r.job.suspend,
      schedule: r.schedule,
      anchor: state && state.scheduleKey !== '' ? state.anchor : null,
      runs,
    };
  }
}

/**
 * The instant after which runs of an upstream job may still be needed by `dependents`: the
 * earliest data-interval start among their Waiting / UpstreamFailed runs and their next slots.
 * Undefined when nothing downstream needs anything.
 */
export async function retainAfter(store: Store, dependents: string[], resolve: (j: StoredJob) => Resolved): Promise<number | undefined> {
  let min = Infinity;
  for (const name of dependents) {
    const stored = await store.getJob(name);
    if (!stored || stored.deletionTimestamp) continue;
    const r = resolve(stored);
    for (const run of await store.listRuns(name)) {
      if (run.phase === 'Waiting' || run.phase === 'UpstreamFailed') min = Math.min(min, run.dataIntervalStart);
    }
    const st = await store.getSchedulerState(name);
    if (r.schedule) {
      const next = r.schedule.next(st?.anchor ?? -Infinity);
      if (next !== null) min = Math.min(min, r.schedule.dataInterval(next).start);
    }
  }
  return Number.isFinite(min) ? min : undefined;
}

export type DependencyAction = Extract<Action, { type: 'holdRun' | 'releaseRun' }>;

export function isDependencyAction(a: Action): a is DependencyAction {
  return a.type === 'holdRun' || a.type === 'releaseRun';
}

/** Record holdRun / releaseRun (inside the reconciler's transaction). */
export async function applyDependencyAction(
  a: DependencyAction,
  store: Store,
  event: (run: string, type: 'Normal' | 'Warning', reason: string, message: string) => Promise<void> | void,
): Promise<void> {
  await store.transaction(async () => {
    const r: RunRecord | undefined = await store.getRun(a.runId);
    if (!r) return;
    if (a.type === 'releaseRun') {
      if (r.phase !== 'Waiting' && r.phase !== 'UpstreamFailed') return;
      r.phase = 'Pending';
      delete r.waitReason;
      delete r.waitMessage;
      await store.putRun(r);
      await event(r.id, 'Normal', 'DependenciesMet', 'dependencies met; the run starts');
      return;
    }
    const changed = r.phase !== a.phase;
    r.phase = a.phase;
    r.waitReason = a.reason;
    r.waitMessage = a.message;
    await store.putRun(r);
    if (changed || a.phase === 'UpstreamFailed') await event(r.id, a.phase === 'UpstreamFailed' ? 'Warning' : 'Normal', a.phase === 'UpstreamFailed' ? 'UpstreamFailed' : 'Waiting', a.message);
  });
}

/**
 * Directory sources: a dependency cycle across files is an error at every job on it. Its jobs are
 * taken out of the snapshot and their files reported broken (with the cycle as the diagnostic), so
 * source sync treats them like jobs of an invalid file: a stored job keeps its last good spec and
 * is marked Invalid, a new one is not created. The snapshot is copied, never changed (the watcher
 * hands out the same objects again); without a cycle it is returned as it is.
 */
export function excludeCycles(snapshot: Snapshot): Snapshot {
  const defs = new Map<string, { root: RootSnapshot; sj: SnapshotJob }>();
  for (const root of snapshot.roots) for (const sj of root.ok ? root.jobs : []) if (!defs.has(sj.job.metadata.name)) defs.set(sj.job.metadata.name, { root, sj });
  const graph = new Map([...defs].map(([name, d]) => [name, (d.sj.job.spec.dependsOn ?? []).map((x) => x.job)]));
  const cycles = findCycles(graph);
  if (cycles.length === 0) return snapshot;
  const out = new Map<RootSnapshot, { jobs: Set<SnapshotJob>; files: Map<string, string[]>; diags: Diagnostic[] }>();
  for (const cycle of cycles) {
    const message = describeCycle(cycle, (n) => {
      const d = defs.get(n);
      return d ? `${d.sj.file}:${d.sj.line}` : undefined;
    });
    for (const name of cycle) {
      const d = defs.get(name)!;
      let o = out.get(d.root);
      if (!o) out.set(d.root, (o = { jobs: new Set(), files: new Map(), diags: [] }));
      o.jobs.add(d.sj);
      o.files.set(d.sj.file, [...(o.files.get(d.sj.file) ?? []), name]);
      o.diags.push({ file: d.sj.file, line: d.sj.line, column: d.sj.column, pointer: '/spec/dependsOn', message, severity: 'error' });
    }
  }
  return {
    roots: snapshot.roots.map((root) => {
      const o = out.get(root);
      if (!o) return root;
      return {
        ...root,
        jobs: root.jobs.filter((j) => !o.jobs.has(j)),
        files: root.files.map((f) => {
          const names = o.files.get(f.file);
          if (!names) return f;
          return { ...f, ok: false, jobNames: f.jobNames.filter((n) => !names.includes(n)), suspectNames: [...new Set([...(f.suspectNames ?? []), ...names])] };
        }),
        diagnostics: [...root.diagnostics, ...o.diags],
      };
    }),
  };
}
