/**
 * The operator's verbs in the controller: `acictl backfill`, `acictl clear` and `acictl runs cancel`.
 *
 * Requests (from the API) are recorded in the job's scheduler state and the job is queued; the
 * planner (src/plan/operator.ts) decides what they mean, and `applyOperatorAction` records the
 * outcome. So a run is only ever written by the reconciler, and a request survives a restart.
 */
import { scheduledRunId } from '../api/names';
import { newSchedulerState, type BackfillRequest, type RunRecord, type SchedulerState } from '../api/runs';
import type { Clock } from '../api/clock';
import { resolveJob } from '../api/defaults';
import { API_VERSION, KIND } from '../api/types';
import { isActiveRun, isoUtc, type Action } from '../plan';
import { backfillLimit } from '../plan/operator';
import { backfillSlots, compileSchedule } from '../schedule';
import type { Store, StoredJob } from '../store/types';

export class OperatorError extends Error {
  constructor(
    readonly code: 'NotFound' | 'Conflict' | 'Invalid',
    message: string,
  ) {
    super(message);
    this.name = 'OperatorError';
  }
}

export interface BackfillOptions {
  from: number;
  to: number;
  maxActive?: number;
  rerun?: boolean;
  dryRun?: boolean;
}

export interface BackfillSlotPlan {
  slot: string;
  run: string;
  /** run: a new run; rerun: an existing finished run is cleared; skip: the slot's run exists. */
  action: 'run' | 'rerun' | 'skip';
  phase?: string;
}

export interface BackfillReply {
  id: string | null;
  dryRun: boolean;
  maxActive: number;
  slots: BackfillSlotPlan[];
}

export interface OperatorVerbs {
  backfill(job: string, o: BackfillOptions): Promise<BackfillReply>;
  clear(run: string): Promise<{ run: string; job: string }>;
  cancel(run: string): Promise<{ run: string; job: string }>;
}

interface VerbDeps {
  store: Store;
  clock: Clock;
  /** Queue the job for a reconcile. */
  enqueue(job: string): void;
}

async function schedulerState(store: Store, job: string, now: number): Promise<SchedulerState> {
  return (await store.getSchedulerState(job)) ?? newSchedulerState(now, '');
}

async function liveJob(store: Store, name: string): Promise<StoredJob> {
  const j = await store.getJob(name);
  if (!j) throw new OperatorError('NotFound', `containerjob "${name}" not found`);
  if (j.deletionTimestamp) throw new OperatorError('Conflict', `containerjob "${name}" is being deleted`);
  return j;
}

async function runOf(store: Store, id: string): Promise<RunRecord> {
  const r = await store.getRun(id);
  if (!r) throw new OperatorError('NotFound', `containerjobrun "${id}" not found`);
  return r;
}

export function operatorVerbs(d: VerbDeps): OperatorVerbs {
  const { store, clock } = d;
  return {
    async backfill(name, o) {
      const stored = await liveJob(store, name);
      const job = resolveJob({ apiVersion: API_VERSION, kind: KIND, metadata: { name, labels: stored.labels, annotations: stored.annotations }, spec: stored.spec });
      if (!job.schedule) throw new OperatorError('Invalid', `containerjob "${name}" has no schedule: nothing to backfill`);
      const now = clock.now();
      let slots: number[];
      try {
        const schedule = compileSchedule(job.schedule, { timeZone: job.timeZone, startTime: job.startTime, endTime: job.endTime });
        slots = backfillSlots(schedule, o.from, o.to, now);
      } catch (e) {
        throw new OperatorError('Invalid', (e as Error).message);
      }
      const maxActive = Math.max(1, Math.floor(o.maxActive ?? 1));
      const requestedAt = now;
      const id = `bf-${requestedAt.toString(36)}`;
      // the runs of the job in one read, not one per slot
      const existing = new Map((await store.listRuns(name)).map((r) => [r.id, r]));
      const plans = slots.map((slot): BackfillSlotPlan => {
        const runId = scheduledRunId(name, slot);
        const r = existing.get(runId);
        if (!r) return { slot: isoUtc(slot), run: runId, action: 'run' };
        return { slot: isoUtc(slot), run: runId, action: o.rerun && !isActiveRun(r) ? 'rerun' : 'skip', phase: r.phase };
      });
      const effective = backfillLimit(job, { maxActive } as BackfillRequest).limit;
      if (o.dryRun) return { id: null, dryRun: true, maxActive: effective, slots: plans };
      await store.transaction(async () => {
        const st = await schedulerState(store, name, now);
        if (st.backfill && st.backfill.cursor < st.backfill.slots.length) {
          throw new OperatorError('Conflict', `containerjob "${name}" has a backfill in progress (${st.backfill.id}, ${st.backfill.cursor}/${st.backfill.slots.length} slots)`);
        }
        st.backfill = { id, from: o.from, to: o.to, slots, cursor: 0, maxActive, rerun: Boolean(o.rerun), requestedAt };
        await store.putSchedulerState(name, st);
        await store.addEvent({ time: new Date(now).toISOString(), job: name, type: 'Normal', reason: 'BackfillRequested', message: `backfill ${id}: ${slots.length} slot(s) from ${isoUtc(o.from)} to ${isoUtc(o.to)}, at most ${effective} active${o.rerun ? ', rerun' : ''}` });
      });
      d.enqueue(name);
      return { id, dryRun: false, maxActive: effective, slots: plans };
    },
    async clear(id) {
      const r = await runOf(store, id);
      await liveJob(store, r.job);
      if (isActiveRun(r)) throw new OperatorError('Conflict', `containerjobrun "${id}" is ${r.phase}: only a finished run can be cleared`);
      const now = clock.now();
      await store.transaction(async () => {
        const st = await schedulerState(store, r.job, now);
        const pending = st.pendingClears ?? [];
        if (!pending.some((p) => p.run === id)) pending.push({ run: id, requestedAt: now });
        st.pendingClears = pending;
        await store.putSchedulerState(r.job, st);
      });
      d.enqueue(r.job);
      return { run: id, job: r.job };
    },
    async cancel(id) {
      const r = await runOf(store, id);
      if (!isActiveRun(r)) throw new OperatorError('Conflict', `containerjobrun "${id}" is ${r.phase}: only an active run can be cancelled`);
      const now = clock.now();
      await store.transaction(async () => {
        const st = await schedulerState(store, r.job, now);
        const pending = st.pendingCancels ?? [];
        if (!pending.some((p) => p.run === id)) pending.push({ run: id, requestedAt: now });
        st.pendingCancels = pending;
        await store.putSchedulerState(r.job, st);
      });
      d.enqueue(r.job);
      return { run: id, job: r.job };
    },
  };
}

export type OperatorAction = Extract<Action, { type: 'clearRun' | 'consumeRequest' | 'advanceBackfill' | 'endBackfill' }>;

export function isOperatorAction(a: Action): a is OperatorAction {
  return a.type === 'clearRun' || a.type === 'consumeRequest' || a.type === 'advanceBackfill' || a.type === 'endBackfill';
}

export interface ApplyDeps {
  store: Store;
  now: number;
  event(run: string | undefined, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
  metric?(verb: 'clear' | 'cancel' | 'backfill'): void;
}

/** Record what the planner decided about an operator request (inside the reconciler's transaction). */
export async function applyOperatorAction(job: string, a: OperatorAction, d: ApplyDeps): Promise<void> {
  const { store, now } = d;
  const updateState = async (fn: (s: SchedulerState) => void): Promise<void> => {
    const s = await store.getSchedulerState(job);
    if (!s) return;
    fn(s);
    await store.putSchedulerState(job, s);
  };
  await store.transaction(async () => {
    switch (a.type) {
      case 'clearRun': {
        const r = await store.getRun(a.runId);
        if (!r || isActiveRun(r)) return;
        r.phase = 'Retrying';
        r.nextAttemptAt = now;
        r.finishedAt = undefined;
        r.clearedAt = now;
        r.attemptBase = a.attemptBase;
        if (a.backfill) r.backfill = a.backfill;
        await store.putRun(r);
        await updateState((s) => {
          s.pendingClears = (s.pendingClears ?? []).filter((p) => p.run !== a.runId);
        });
        await d.event(a.runId, 'Normal', 'RunCleared', `run cleared${a.backfill ? ` by backfill ${a.backfill}` : ''}; it runs again as attempt ${a.attemptBase + 1}`);
        d.metric?.('clear');
        return;
      }
      case 'consumeRequest':
        await updateState((s) => {
          if (a.kind === 'clear') s.pendingClears = (s.pendingClears ?? []).filter((p) => p.run !== a.runId);
          else s.pendingCancels = (s.pendingCancels ?? []).filter((p) => p.run !== a.runId);
        });
        if (a.note) await d.event(a.runId, 'Normal', a.kind === 'clear' ? 'ClearIgnored' : 'CancelIgnored', a.note);
        else if (a.kind === 'cancel') {
          await d.event(a.runId, 'Normal', 'RunCancelled', 'run cancelled by an operator');
          d.metric?.('cancel');
        }
        return;
      case 'advanceBackfill':
        await updateState((s) => {
          if (s.backfill?.id === a.id) s.backfill.cursor = Math.max(s.backfill.cursor, a.cursor);
        });
        return;
      case 'endBackfill':
        await updateState((s) => {
          if (s.backfill?.id === a.id) s.backfill = null;
        });
        await d.event(undefined, 'Normal', 'BackfillCompleted', `backfill ${a.id}: all ${a.slots} slot(s) handled`);
        d.metric?.('backfill');
        return;
    }
  });
}
