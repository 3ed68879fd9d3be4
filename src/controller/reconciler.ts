/**
 * The reconciler: read desired + observed + records → plan (pure) → act through ContainerGroups →
 * record in the store → status once. Level-triggered: `reconcile(name)` re-reads everything it
 * needs; it is called by the workqueue with a job name and answers when it wants to run again.
 *
 * Crash safety: an attempt is recorded (phase Creating) BEFORE its PUT. A recovering launch first
 * GETs the group to see whether the earlier call got through (its tags say which run and attempt it
 * holds). PUTs that create use ifNoneMatch, which the adapter guards so that it does not depend on
 * ARM honouring the header (aci/create-guard.ts: a GET before any re-send); a Conflict on a group
 * that carries this run's tags is adopted.
 *
 * Errors: retryable AciErrors (Throttled / Transient) are thrown so the workqueue backs off; the
 * terminal ones are recorded on the attempt (or as events) and absorbed.
 */
import { API_VERSION, KIND, type ContainerJob, type ResolvedJob } from '../api/types';
import type { Clock } from '../api/clock';
import { resolveJob } from '../api/defaults';
import {
  TAG_ATTEMPT,
  TAG_JOB,
  TAG_MANAGED_BY,
  TAG_RUN,
  TAG_SCHEDULED_TIME,
  TAG_SPEC_HASH,
  perRunGroupName,
  reuseGroupName,
} from '../api/names';
import type { GroupRef, ObservedGroup } from '../api/observed';
import { newSchedulerState, type AttemptRecord, type RunRecord, type SchedulerState } from '../api/runs';
import { classifyChange } from '../aci/classify';
import { collectSecretRefs } from '../aci/secrets';
import { AciError, isAciError, type ContainerGroups, type DesiredGroup } from '../aci/types';
import { assessGroup, isActiveRun, isoUtc, plan, type Action, type PlanInput, type PlanResult, type SlotSchedule } from '../plan';
import { compileSchedule } from '../schedule';
import type { Condition, JobStatus, Store, StoredEvent, StoredJob } from '../store/types';
import { deepEqual } from '../store/common';
import type { ObservedCache } from './observed-cache';
import { applyOperatorAction, isOperatorAction } from './operator';
import { ListObserver } from './list-observer';
import { applyDependencyAction, DependencyIndex, isDependencyAction, readUpstream, retainAfter } from './dependencies';
import type { NotifyHooks } from '../notify/outbox';

/** The finalizer that keeps a deleted job until its groups are cleaned up. */
import { FINALIZER_CLEANUP } from '../api/names';
/** The cleanup finalizer (api/names.ts), under the name the reconciler's tests use. */
export const CLEANUP_FINALIZER = FINALIZER_CLEANUP;

export interface ReconcilerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface LogLineFields {
  job: string;
  run: string;
  attempt: number;
  container: string;
}

/** Optional metric hooks (the lead maps them to prom-client series). */
export interface ReconcilerMetrics {
  runFinished?(job: string, outcome: 'Succeeded' | 'Failed'): void;
  missedSlots?(job: string, count: number): void;
  /** Seconds from a slot to the create request of its run. */
  scheduleLag?(job: string, seconds: number): void;
  attemptStarted?(job: string): void;
  /** An operator verb took effect (a run cleared or cancelled, a backfill completed). */
  operatorAction?(job: string, verb: 'clear' | 'cancel' | 'backfill'): void;
}

export interface ReconcilerDeps {
  store: Store;
  groups: ContainerGroups;
  observed: ObservedCache;
  clock: Clock;
  instanceId: string;
  defaultSubscriptionId: string;
  /** Synchronous for a job without secret references (its secrets are read asynchronously otherwise). */
  specHashOf(job: ResolvedJob): string | Promise<string>;
  logger: ReconcilerLogger;
  /** Each new log line of a running container, exactly once. */
  onLogLine?(f: LogLineFields, line: string): void;
  onEvent?(e: StoredEvent): void;
  metrics?: ReconcilerMetrics;
  /**
   * Whether somebody follows the attempt's logs live (`logs -f`): it is then fetched on every
   * observation instead of every other one.
   */
  isFollowed?(run: string, attempt: number): boolean;
  /** Plan/act rounds per reconcile before yielding (default 12). */
  maxRounds?: number;
  /** Test hook: called before each action is executed (a throw simulates a crash). */
  beforeAction?(a: Action): void;
  /** Queue another job for a reconcile (a downstream job after its upstream's run finished). */
  wake?(job: string): void;
  /** spec.notify: outbox rows written in the transaction of the change they report (src/notify/). */
  notify?: NotifyHooks;
}

export interface ReconcileResult {
  requeueAfterMs: number | null;
}

const DEFAULT_MAX_ROUNDS = 12;

function toContainerJob(j: StoredJob): ContainerJob {
  return { apiVersion: API_VERSION, kind: KIND, metadata: { name: j.name, labels: j.labels, annotations: j.annotations }, spec: j.spec };
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function iso(ms: number | null | undefined): string | undefined {
  return ms === null || ms === undefined ? undefined : new Date(ms).toISOString();
}

/** Split a log into complete lines; the trailing partial line is included only when `final`. */
function splitLines(text: string, final: boolean): string[] {
  if (text === '') return [];
  const parts = text.split('\n');
  const last = parts.pop()!;
  if (final && last !== '') parts.push(last);
  return parts;
}

/**
 * An action's execution, written as a generator: it yields a thunk for every ARM call and
 * receives the call's result (or has its error thrown in). The driver (`Reconciler.drive`) runs the
 * synchronous code between two ARM calls inside ONE store transaction, committed just before the
 * call goes out: so what a launch records is durable before its PUT (crash safety), and all the
 * writes that follow a call (attempt state, events, status) cost one commit, not one each.
 */
type Step<T> = AsyncGenerator<() => Promise<unknown>, T, unknown>;

/** Resolved spec, compiled schedule and (secret-free templates only) spec hash of one job generation. */
interface SpecCacheEntry {
  key: string;
  job: ResolvedJob | null;
  schedule: SlotSchedule | null;
  invalid: { reason: string; message: string } | null;
  /** Null when the template references secrets: their values may rotate, so it is computed per reconcile. */
  specHash: string | null;
}

/** State of one reconcile call. */
/** Deleting a job: how long one reconcile waits for ARM to finish deleting a group, and how often it looks. */
const DELETE_WAIT_MS = 15_000;
const DELETE_POLL_MS = 250;

interface Ctx {
  name: string;
  stored: StoredJob | undefined;
  job: ResolvedJob | null;
  schedule: SlotSchedule | null;
  specHash: string | null;
  signal?: AbortSignal;
  /** Log text fetched in this reconcile: `${rg}/${group}/${container}`. */
  logs: Map<string, string>;
  /**
   * Tags of groups read from ARM in THIS reconcile (GET or PUT response), by `${rg}/${name}`:
   * a delete may pass them to skip the adapter's own ownership read (see deleteGroup).
   */
  freshTags: Map<string, Record<string, string>>;
  finalized: boolean;
  /** `now` of the latest plan of this reconcile. */
  planNow?: number;
  /** ARM calls awaited so far in this reconcile: while 0, nothing else ran, so what was read is current. */
  awaited: number;
}

function refKey(ref: GroupRef): string {
  return `${ref.resourceGroup.toLowerCase()}/${ref.name}`;
}

export class Reconciler {
  private readonly d: ReconcilerDeps;
  private readonly specCache = new Map<string, SpecCacheEntry>();
  /** Callbacks to run once the current stretch's transaction committed (null: outside a stretch). */
  private afterCommit: (() => void)[] | null = null;
  /** spec.dependsOn, reversed: whom to wake when a job's run finishes. */
  readonly dependencies: DependencyIndex;

  /** Observation of running attempts: from list items' instance views when present, else GET. */
  readonly observer: ListObserver;

  constructor(deps: ReconcilerDeps) {
    this.d = deps;
    this.observer = new ListObserver(deps.groups, deps.clock);
    this.dependencies = new DependencyIndex(deps.store);
  }

  /**
   * `current`: the job as the caller read it in the same synchronous stretch (saves reading it
   * again); omitted, it is read here.
   */
  async reconcile(jobName: string, signal?: AbortSignal, current?: { stored: StoredJob | undefined }): Promise<ReconcileResult> {
    const { store } = this.d;
    const stored = current ? current.stored : await store.getJob(jobName);
    const ctx: Ctx = { name: jobName, stored, job: null, schedule: null, specHash: null, signal, logs: new Map(), freshTags: new Map(), finalized: false, awaited: 0 };
    let invalid: { reason: string; message: string } | null = null;
    if (stored && !stored.deletionTimestamp) {
      await this.d.notify?.jobSeen(stored);
      const spec = this.resolve(stored);
      ctx.job = spec.job;
      ctx.schedule = spec.schedule;
      invalid = spec.invalid;
      if (!ctx.job) {
        // Nothing can be planned without a resolvable spec; nothing is deleted either.
        await this.writeStatus(ctx, invalid);
        return { requeueAfterMs: null };
      }
      if (spec.specHash) {
        ctx.specHash = spec.specHash;
      } else {
        ctx.specHash = await this.d.specHashOf(ctx.job);
        // Its secrets were read asynchronously: plan against the job as it is now.
        if ((await store.getJob(jobName))?.resourceVersion !== stored.resourceVersion) return this.reconcile(jobName, signal);
      }
    } else {
      this.specCache.delete(jobName);
    }

    // Read and plan outside any transaction: at steady state nothing is written at all.
    const input = await this.readInput(ctx);
    const first = plan(input);
    if (first.actions.length === 0) {
      if (stored && !stored.deletionTimestamp) await this.writeStatus(ctx, invalid, input);
      return this.wake(first, false);
    }
    return this.drive(this.rounds(ctx, first, invalid), ctx);
  }

  /** Plan/act rounds until the plan is empty (or the round limit), then the status. */
  private async *rounds(ctx: Ctx, first: PlanResult, invalid: { reason: string; message: string } | null): Step<ReconcileResult> {
    const maxRounds = this.d.maxRounds ?? DEFAULT_MAX_ROUNDS;
    let result = first;
    let exhausted = true;
    let lastRead: PlanInput | undefined;
    for (let round = 0; round < maxRounds; round++) {
      if (round > 0) result = plan((lastRead = await this.readInput(ctx)));
      if (result.actions.length === 0) {
        exhausted = false;
        break;
      }
      for (const action of result.actions) {
        if (ctx.signal?.aborted) throw ctx.signal.reason ?? new Error('aborted');
        this.d.beforeAction?.(action);
        yield* this.execute(ctx, action);
      }
      if (ctx.finalized) {
        exhausted = false;
        result = { actions: [], wakeAt: null };
        break;
      }
    }
    // The rows of the last plan are current when it planned nothing, and the job row too when no
    // ARM call was awaited (nothing else ran since it was read) or its resourceVersion has not
    // moved since: the status then needs no fresh read (a job row decode per launch saved).
    const jobUnchanged = ctx.awaited === 0 || (ctx.stored !== undefined && await this.d.store.getJobResourceVersion(ctx.name) === ctx.stored.resourceVersion);
    const fresh = !exhausted && lastRead && jobUnchanged ? lastRead : undefined;
    if (!ctx.finalized && ctx.stored && !ctx.stored.deletionTimestamp) await this.writeStatus(ctx, invalid, fresh);
    return this.wake(result, exhausted);
  }

  private wake(result: PlanResult, exhausted: boolean): ReconcileResult {
    if (exhausted) return { requeueAfterMs: 0 };
    const now = this.d.clock.now();
    return { requeueAfterMs: result.wakeAt === null ? null : Math.max(0, result.wakeAt - now) };
  }

  /**
   * Run a Step: each stretch of synchronous code between two ARM calls runs in one store
   * transaction, committed BEFORE the next call is made (and before a thrown error propagates, so
   * what was recorded up to a failure stays recorded, as with one commit per write). Log lines and
   * event hooks run after the commit that recorded them. The last stretch (no ARM call follows)
   * is committed with the next write or at the next turn of the event loop (store
   * transactionDeferred): nothing outside depends on it yet, and a crash before that COMMIT is
   * recovered like a crash just after the ARM call. (Making every stretch wait for a shared COMMIT
   * was tried: the schedule-lag bench got slower, 0.9–1.0 s → 1.6–1.7 s p99.)
   */
  private async drive<T>(gen: Step<T>, ctx?: Ctx): Promise<T> {
    let send: { ok: true; value: unknown } | { ok: false; error: unknown } = { ok: true, value: undefined };
    for (;;) {
      let step: IteratorResult<() => Promise<unknown>, T> | undefined;
      let thrown: { error: unknown } | undefined;
      const after: (() => void)[] = [];
      // Set and cleared while this stretch holds the store's transaction: no other reconcile's
      // stretch runs in between (they wait for the transaction), so the hooks are this stretch's.
      await this.d.store.transactionDeferred(
        async () => {
          this.afterCommit = after;
          try {
            step = send.ok ? await gen.next(send.value) : await gen.throw(send.error);
          } catch (e) {
            thrown = { error: e };
          } finally {
            this.afterCommit = null;
          }
        },
        () => after.forEach((f) => f()),
      );
      if (thrown) {
        await this.d.store.flush();
        throw thrown.error;
      }
      // The last stretch is followed by no ARM call: its COMMIT may go with the next write.
      if (step!.done) return step!.value;
      await this.d.store.flush(); // durable before the ARM call that may depend on it
      try {
        if (ctx) ctx.awaited++;
        send = { ok: true, value: await step!.value() };
      } catch (e) {
        send = { ok: false, error: e };
      }
    }
  }

  /** Run `f` after the current stretch commits (at once outside a stretch). */
  private deferred(f: () => void): void {
    if (this.afterCommit) this.afterCommit.push(f);
    else f();
  }

  /** One ARM call: the driver commits the stretch so far, makes the call and resumes with its result. */
  private async *io<T>(call: () => Promise<T>): Step<T> {
    return (yield call) as T;
  }

  /** Resolve + compile + hash once per (uid, generation, labels, annotations). */
  private resolve(stored: StoredJob): SpecCacheEntry {
    const key = `${stored.uid}|${stored.generation}|${JSON.stringify(stored.labels ?? {})}|${JSON.stringify(stored.annotations ?? {})}`;
    const hit = this.specCache.get(stored.name);
    if (hit && hit.key === key) return hit;
    const entry: SpecCacheEntry = { key, job: null, schedule: null, invalid: null, specHash: null };
    try {
      entry.job = resolveJob(toContainerJob(stored));
    } catch (e) {
      entry.invalid = { reason: 'InvalidSpec', message: message(e) };
    }
    if (entry.job?.schedule) {
      try {
        entry.schedule = compileSchedule(entry.job.schedule, { timeZone: entry.job.timeZone, startTime: entry.job.startTime, endTime: entry.job.endTime });
      } catch (e) {
        entry.invalid = { reason: 'InvalidSchedule', message: message(e) };
      }
    }
    if (entry.job && collectSecretRefs(entry.job.template).length === 0) {
      const h = this.d.specHashOf(entry.job);
      if (typeof h === 'string') entry.specHash = h;
    }
    this.specCache.set(stored.name, entry);
    if (entry.job) this.dependencies.update(stored.name, entry.job.dependsOn);
    return entry;
  }

  // ---- read ----------------------------------------------------------------------------------

  private async readInput(ctx: Ctx): Promise<PlanInput> {
    const { store, instanceId } = this.d;
    const state = await store.getSchedulerState(ctx.name) ?? null;
    const observed = this.d.observed.groupsOfJob(ctx.name).filter((g) => g.tags[TAG_MANAGED_BY] === instanceId);
    let reuseChange: PlanInput['reuseChange'];
    if (ctx.job?.groupPolicy === 'Reuse' && state?.reuseApplied) {
      const kind = classifyChange(state.reuseApplied.template, ctx.job.template).kind;
      reuseChange = kind === 'recreate' ? 'recreate' : 'inPlace';
    }
    return {
      jobName: ctx.name,
      job: ctx.job,
      schedule: ctx.schedule,
      state,
      runs: await store.listRuns(ctx.name),
      observed,
      desiredSpecHash: ctx.specHash,
      reuseChange,
      defaultSubscriptionId: this.d.defaultSubscriptionId,
      now: (ctx.planNow = this.d.clock.now()),
      ...(ctx.stored ? { jobCreatedAt: Date.parse(ctx.stored.creationTimestamp) } : {}),
      ...(await this.dependencyInput(ctx)),
    };
  }

  /** spec.dependsOn: the upstream jobs as the planner needs them, and how long downstream jobs need this job's runs. */
  private async dependencyInput(ctx: Ctx): Promise<Pick<PlanInput, 'upstream' | 'retainRunsAfter'>> {
    const out: Pick<PlanInput, 'upstream' | 'retainRunsAfter'> = {};
    const resolve = (j: StoredJob) => this.resolve(j);
    if (ctx.job && ctx.job.dependsOn.length > 0) out.upstream = await readUpstream(this.d.store, ctx.job.dependsOn, resolve);
    const dependents = await this.dependencies.dependentsOf(ctx.name);
    if (dependents.length > 0) {
      const t = await retainAfter(this.d.store, dependents, resolve);
      if (t !== undefined) out.retainRunsAfter = t;
    }
    return out;
  }

  /** After the commit: queue the jobs that depend on this one (one of its runs finished or is blocked). */
  private async wakeDependents(job: string): Promise<void> {
    const wake = this.d.wake;
    if (!wake) return;
    const dependents = await this.dependencies.dependentsOf(job);
    if (dependents.length > 0) this.deferred(() => dependents.forEach((n) => wake(n)));
  }

  // ---- act -----------------------------------------------------------------------------------

  private async *execute(ctx: Ctx, a: Action): Step<void> {
    if (isOperatorAction(a)) {
      const event = (run: string | undefined, type: 'Normal' | 'Warning', reason: string, msg: string): Promise<void> => this.event(ctx.name, run, type, reason, msg);
      return await applyOperatorAction(ctx.name, a, { store: this.d.store, now: this.d.clock.now(), event, metric: (v) => this.d.metrics?.operatorAction?.(ctx.name, v) });
    }
    if (isDependencyAction(a)) {
      await applyDependencyAction(a, this.d.store, (run, type, reason, msg) => this.event(ctx.name, run, type, reason, msg));
      if (a.type === 'holdRun' && a.phase === 'UpstreamFailed') await this.wakeDependents(ctx.name);
      return;
    }
    switch (a.type) {
      case 'initState':
        await this.d.store.transaction(async () => {
          // A trigger or suspend that arrived through the API since the read is kept.
          const current = await this.d.store.getSchedulerState(ctx.name);
          const fresh = newSchedulerState(a.anchor, a.scheduleKey);
          if (current) {
            fresh.pendingManual = current.pendingManual;
            fresh.suspendOverride = current.suspendOverride;
          }
          await this.d.store.putSchedulerState(ctx.name, fresh);
        });
        return;
      case 'reanchor':
        await this.updateState(ctx.name, (s) => {
          s.anchor = a.anchor;
          s.scheduleKey = a.scheduleKey;
          s.missedCount += a.missed;
          if (a.reason === 'Resumed') s.suspendedSince = null;
        });
        if (a.reason === 'Resumed') {
          await this.event(ctx.name, undefined, 'Normal', 'Resumed', a.missed > 0 ? `resumed; ${a.missed} slot(s) missed while suspended` : 'resumed');
          if (a.missed > 0) this.d.metrics?.missedSlots?.(ctx.name, a.missed);
        } else {
          await this.event(ctx.name, undefined, 'Normal', 'ScheduleChanged', 'schedule or time zone changed; only slots after now are due');
        }
        return;
      case 'setSuspended':
        await this.updateState(ctx.name, (s) => {
          s.suspendedSince = a.since;
        });
        await this.event(ctx.name, undefined, 'Normal', 'Suspended', 'the job is suspended; its slots are missed until it resumes');
        return;
      case 'advanceAnchor':
        await this.updateState(ctx.name, (s) => {
          s.anchor = Math.max(s.anchor, a.anchor);
        });
        return;
      case 'recordMissed':
        await this.updateState(ctx.name, (s) => {
          s.anchor = Math.max(s.anchor, a.slot);
          s.missedCount += a.count;
        });
        await this.event(ctx.name, undefined, 'Warning', 'MissedSchedule', `${a.count} slot(s) up to ${isoUtc(a.slot)} missed (${a.reason})`);
        await this.d.notify?.missed(ctx.name, a.slot, a.count, a.reason);
        this.d.metrics?.missedSlots?.(ctx.name, a.count);
        return;
      case 'startRun':
        return await this.startRun(ctx, a);
      case 'launchAttempt':
        return yield* this.launch(ctx, a);
      case 'observe':
        return yield* this.observe(ctx, a);
      case 'stopGroup':
        return yield* this.stop(ctx, a);
      case 'archiveLogs':
        return yield* this.archive(ctx, a.runId, a.attempt, a.ref, a.containers);
      case 'finishAttempt':
        await this.updateAttempt(a.runId, a.attempt, async (run, att) => {
          att.phase = a.phase;
          // The instant the planner saw the end: the base of its retry delay, so the recorded gap
          // between this attempt's end and the next one's start is never shorter than the delay.
          att.finishedAt = ctx.planNow ?? this.d.clock.now();
          att.exitCode = a.exitCode ?? null;
          if (a.reason !== undefined) att.reason = a.reason;
          if (a.message !== undefined) att.message = a.message;
          if (a.phase === 'Succeeded') await this.event(ctx.name, run.id, 'Normal', 'AttemptSucceeded', `attempt ${att.attempt} succeeded`);
          else await this.event(ctx.name, run.id, 'Warning', 'AttemptFailed', `attempt ${att.attempt} failed: ${a.reason ?? 'Failed'}${a.message ? ` — ${a.message}` : ''}`);
        });
        return;
      case 'scheduleRetry':
        await this.updateRun(a.runId, (run) => {
          run.phase = 'Retrying';
          run.nextAttemptAt = a.nextAttemptAt;
        });
        await this.event(ctx.name, a.runId, 'Normal', 'RetryScheduled', `next attempt at ${isoUtc(a.nextAttemptAt)}`);
        await this.d.notify?.retryScheduled(ctx.name, a.runId, a.nextAttemptAt);
        return;
      case 'finishRun':
        return await this.finishRun(ctx, a);
      case 'deleteGroup':
        return yield* this.deleteGroup(ctx, a);
      case 'pruneRun':
        await this.d.store.deleteRun(a.runId);
        this.d.logger.debug({ job: ctx.name, run: a.runId }, 'run pruned (history limit)');
        return;
      case 'finalize':
        return await this.finalize(ctx);
    }
  }

  private async startRun(ctx: Ctx, a: Extract<Action, { type: 'startRun' }>): Promise<void> {
    const { store, clock } = this.d;
    const now = clock.now();
    let created = false;
    await store.transaction(async () => {
      if (!await store.getRun(a.runId)) {
        await store.putRun({
          id: a.runId,
          job: ctx.name,
          slot: a.slot,
          manual: a.manual,
          scheduledTime: a.scheduledTime,
          dataIntervalStart: a.dataIntervalStart,
          dataIntervalEnd: a.dataIntervalEnd,
          phase: a.hold?.phase ?? 'Pending',
          attempts: [],
          createdAt: now,
          ...(a.backfill ? { backfill: a.backfill } : {}),
          ...(a.hold ? { waitReason: a.hold.reason, waitMessage: a.hold.message } : {}),
        });
        created = true;
      }
      const s = await store.getSchedulerState(ctx.name);
      if (s) {
        if (a.slot !== null && !a.backfill) {
          s.anchor = Math.max(s.anchor, a.slot);
          s.lastScheduleTime = Math.max(s.lastScheduleTime ?? a.slot, a.slot);
        }
        if (a.manual) s.pendingManual = s.pendingManual.filter((p) => p.id !== a.runId);
        await store.putSchedulerState(ctx.name, s);
      }
    });
    if (created) {
      await this.event(ctx.name, a.runId, 'Normal', 'RunCreated', a.manual ? 'manual run' : `${a.backfill ? `backfill ${a.backfill}` : 'scheduled'} run for ${isoUtc(a.scheduledTime)}`);
      if (a.hold) await this.event(ctx.name, a.runId, a.hold.phase === 'UpstreamFailed' ? 'Warning' : 'Normal', a.hold.phase, a.hold.message);
      if (a.hold?.phase === 'UpstreamFailed') await this.wakeDependents(ctx.name);
      if (a.slot !== null && !a.backfill) this.d.metrics?.scheduleLag?.(ctx.name, Math.max(0, now - a.slot) / 1000);
    }
  }

  private desired(ctx: Ctx, ref: GroupRef, run: RunRecord, attempt: number, env: Record<string, string>, specHash: string): DesiredGroup {
    const job = ctx.job!;
    return {
      ref,
      location: job.template.location,
      template: job.template,
      tags: {
        [TAG_MANAGED_BY]: this.d.instanceId,
        [TAG_JOB]: job.name,
        [TAG_RUN]: run.id,
        [TAG_ATTEMPT]: String(attempt),
        [TAG_SCHEDULED_TIME]: isoUtc(run.scheduledTime),
        [TAG_SPEC_HASH]: specHash,
      },
      runEnv: env,
    };
  }

  /** A group just read from ARM (GET or PUT response): cache it and remember its tags for this reconcile. */
  private saw(ctx: Ctx, g: ObservedGroup): void {
    this.d.observed.upsert(g);
    ctx.freshTags.set(refKey(g), g.tags);
  }

  private gone(ctx: Ctx, ref: GroupRef): void {
    this.d.observed.remove(ref);
    ctx.freshTags.delete(refKey(ref));
  }

  private ours(g: ObservedGroup, job: string): boolean {
    return g.tags[TAG_MANAGED_BY] === this.d.instanceId && g.tags[TAG_JOB] === job;
  }

  private holds(g: ObservedGroup, runId: string, attempt: number): boolean {
    return g.tags[TAG_RUN] === runId && (g.tags[TAG_ATTEMPT] ?? '1') === String(attempt);
  }

  private async *launch(ctx: Ctx, a: Extract<Action, { type: 'launchAttempt' }>): Step<void> {
    const { store, groups, clock } = this.d;
    if (!ctx.job) return;
    const run = await store.getRun(a.runId);
    if (!run) return;
    const opts = { signal: ctx.signal };
    let ref = a.ref;
    let att = run.attempts.find((x) => x.attempt === a.attempt);

    if (a.recover && att) {
      // Did the earlier call get through? The group's tags say which run and attempt it holds.
      try {
        const g = yield* this.io(() => groups.get(ref, opts));
        this.saw(ctx, g);
        if (this.ours(g, ctx.name) && this.holds(g, run.id, a.attempt)) {
          await this.markRunning(ctx, run.id, a.attempt, 'adopted after restart');
          return;
        }
      } catch (e) {
        if (!isAciError(e, 'NotFound')) return await this.launchError(ctx, run.id, a.attempt, e);
      }
    }

    if (!att) {
      att = {
        attempt: a.attempt,
        groupName: ref.name,
        phase: 'Creating',
        createdAt: clock.now(),
        logsArchived: false,
        groupDeleted: false,
        specHash: a.specHash,
        subscriptionId: ref.subscriptionId,
        resourceGroup: ref.resourceGroup,
      };
      const fresh = att;
      // Recorded BEFORE the PUT; for Reuse the attempts the group held before are retired.
      await store.transaction(async () => {
        if (ctx.job!.groupPolicy === 'Reuse') await this.retireReuseHolders(ctx.name, ref, run.id);
        const r = (await store.getRun(run.id))!;
        r.attempts.push(fresh);
        r.phase = 'Running';
        r.nextAttemptAt = undefined;
        await store.putRun(r);
      });
    }

    const desired = this.desired(ctx, ref, run, a.attempt, a.env, a.specHash);
    try {
      let g: ObservedGroup;
      if (a.mode === 'recreate') {
        g = yield* this.recreate(ctx, desired);
      } else if (a.mode === 'update') {
        g = yield* this.update(ctx, desired);
      } else {
        try {
          g = yield* this.io(() => groups.createOrUpdate(desired, { ...opts, ifNoneMatch: true, mayExist: ref.name === reuseGroupName(ctx.name) }));
        } catch (e) {
          if (!isAciError(e, 'Conflict')) throw e;
          const resolved = yield* this.resolveConflict(ctx, run, a, desired);
          if (!resolved) return;
          g = resolved.group;
          ref = resolved.group;
        }
      }
      this.saw(ctx, g);
      await this.markRunning(ctx, run.id, a.attempt, a.mode);
      if (ctx.job.groupPolicy === 'Reuse' && ref.name === reuseGroupName(ctx.name)) {
        await this.updateState(ctx.name, (s) => {
          s.reuseApplied = { specHash: a.specHash, template: structuredClone(ctx.job!.template) };
        });
      }
    } catch (e) {
      return await this.launchError(ctx, run.id, a.attempt, e);
    }
  }

  /** Reuse: earlier attempts held by the group are over (their logs are archived by then). */
  private async retireReuseHolders(job: string, ref: GroupRef, except: string): Promise<void> {
    const { store } = this.d;
    for (const r of await store.listRuns(job)) {
      let changed = false;
      for (const x of r.attempts) {
        if (x.groupName === ref.name && !x.groupDeleted && (r.id !== except || x.phase === 'Succeeded' || x.phase === 'Failed')) {
          x.groupDeleted = true;
          changed = true;
        }
      }
      if (changed) await store.putRun(r);
    }
  }

  private async *update(ctx: Ctx, desired: DesiredGroup): Step<ObservedGroup> {
    try {
      return yield* this.io(() => this.d.groups.createOrUpdate(desired, { signal: ctx.signal }));
    } catch (e) {
      if (isAciError(e, 'Invalid') && e.code === 'InvalidContainerGroupUpdate') return yield* this.recreate(ctx, desired);
      if (isAciError(e, 'NotFound') && e.code !== 'ResourceGroupNotFound') {
        return yield* this.io(() => this.d.groups.createOrUpdate(desired, { signal: ctx.signal, ifNoneMatch: true }));
      }
      throw e;
    }
  }

  private async *recreate(ctx: Ctx, desired: DesiredGroup): Step<ObservedGroup> {
    yield* this.io(() => this.d.groups.delete(desired.ref, { signal: ctx.signal }));
    this.gone(ctx, desired.ref);
    this.forgetLogs(ctx, desired.ref);
    return yield* this.io(() => this.d.groups.createOrUpdate(desired, { signal: ctx.signal, ifNoneMatch: true }));
  }

  /**
   * A create answered Conflict: adopt the group when it holds this very attempt (an earlier call
   * got through); update our own idle Reuse group; never touch a group that is not ours.
   * Returns null when the attempt was failed instead.
   */
  private async *resolveConflict(
    ctx: Ctx,
    run: RunRecord,
    a: Extract<Action, { type: 'launchAttempt' }>,
    desired: DesiredGroup,
  ): Step<{ group: ObservedGroup } | null> {
    const { groups } = this.d;
    const job = ctx.job!;
    const g = yield* this.io(() => groups.get(desired.ref, { signal: ctx.signal }));
    if (this.ours(g, ctx.name)) {
      this.saw(ctx, g);
      if (this.holds(g, run.id, a.attempt)) return { group: g };
      const isReuse = job.groupPolicy === 'Reuse' && desired.ref.name === reuseGroupName(ctx.name);
      if (isReuse && g.state !== 'Running' && g.state !== 'Pending') return { group: yield* this.update(ctx, desired) };
      await this.failAttempt(ctx, run.id, a.attempt, isReuse ? 'GroupBusy' : 'AlreadyExists', `container group ${desired.ref.name} is in use by run ${g.tags[TAG_RUN] ?? '?'}`);
      return null;
    }
    const isReuse = job.groupPolicy === 'Reuse' && desired.ref.name === reuseGroupName(ctx.name);
    if (isReuse && !job.failIfExists) {
      // failIfExists: false — the job's name is taken by a group we do not own. We never touch
      // it; this run gets a group of its own (the PerRun name) instead.
      const name = perRunGroupName(run.id, a.attempt);
      const ref: GroupRef = { ...desired.ref, name };
      await this.updateAttempt(run.id, a.attempt, (_r, att) => {
        att.groupName = name;
      });
      await this.event(ctx.name, run.id, 'Warning', 'GroupNameTaken', `container group ${desired.ref.name} exists and is not managed by this controller; running in ${name} instead`);
      try {
        return { group: yield* this.io(() => groups.createOrUpdate({ ...desired, ref }, { signal: ctx.signal, ifNoneMatch: true })) };
      } catch (e) {
        if (!isAciError(e, 'Conflict')) throw e;
        const other = yield* this.io(() => groups.get(ref, { signal: ctx.signal }));
        if (this.ours(other, ctx.name) && this.holds(other, run.id, a.attempt)) return { group: other };
        await this.failAttempt(ctx, run.id, a.attempt, 'AlreadyExists', `container group ${name} already exists and is not managed by this controller`);
        return null;
      }
    }
    await this.failAttempt(
      ctx,
      run.id,
      a.attempt,
      'AlreadyExists',
      `container group ${desired.ref.name} already exists and is not managed by this controller${isReuse ? ' (failIfExists: true)' : ''}`,
    );
    return null;
  }

  private async launchError(ctx: Ctx, runId: string, attempt: number, e: unknown): Promise<void> {
    if (!isAciError(e) || e.retryable) throw e;
    await this.failAttempt(ctx, runId, attempt, e.code ?? e.kind, e.message);
  }

  /** A launch that failed for good: nothing of ours holds the attempt, so nothing to archive or delete. */
  private async failAttempt(ctx: Ctx, runId: string, attempt: number, reason: string, msg: string): Promise<void> {
    await this.updateAttempt(runId, attempt, (_r, att) => {
      att.phase = 'Failed';
      att.finishedAt = this.d.clock.now();
      att.exitCode = null;
      att.reason = reason;
      att.message = msg;
      att.logsArchived = true;
      att.groupDeleted = true;
    });
    await this.event(ctx.name, runId, 'Warning', 'AttemptFailed', `attempt ${attempt} failed: ${reason} — ${msg}`);
  }

  private async markRunning(ctx: Ctx, runId: string, attempt: number, how: string): Promise<void> {
    const now = this.d.clock.now();
    await this.updateAttempt(runId, attempt, (run, att) => {
      att.phase = 'Running';
      att.startedAt = now;
      run.phase = 'Running';
    });
    this.d.metrics?.attemptStarted?.(ctx.name);
    await this.event(ctx.name, runId, 'Normal', 'AttemptStarted', `attempt ${attempt} started (${how})`);
  }

  private async *observe(ctx: Ctx, a: Extract<Action, { type: 'observe' }>): Step<void> {
    const { clock } = this.d;
    const run = await this.d.store.getRun(a.runId);
    const att = run?.attempts.find((x) => x.attempt === a.attempt);
    if (!run || !att || att.phase !== 'Running') return;
    let g: ObservedGroup | undefined;
    try {
      g = yield* this.io(() => this.observer.observe(a.ref, { signal: ctx.signal }));
    } catch (e) {
      if (!isAciError(e, 'NotFound')) {
        if (isAciError(e) && !e.retryable) {
          this.d.logger.warn({ job: ctx.name, run: a.runId, err: e.message }, 'observation failed');
          await this.updateAttempt(a.runId, a.attempt, (_r, x) => {
            x.lastObservedAt = clock.now();
          });
          return;
        }
        throw e;
      }
    }
    if (!g || !this.holds(g, run.id, att.attempt)) {
      // The group vanished (or was taken over) while the attempt ran: its logs are lost with it.
      if (g) this.saw(ctx, g);
      else this.gone(ctx, a.ref);
      await this.updateAttempt(a.runId, a.attempt, (_r, x) => {
        x.phase = 'Failed';
        x.finishedAt = clock.now();
        x.exitCode = null;
        x.reason = 'GroupNotFound';
        x.message = `container group ${a.ref.name} disappeared while the attempt was running`;
        x.logsArchived = true;
        x.groupDeleted = g === undefined;
      });
      await this.event(ctx.name, a.runId, 'Warning', 'AttemptFailed', `attempt ${a.attempt} failed: container group ${a.ref.name} disappeared`);
      return;
    }
    this.saw(ctx, g);
    const verdict = assessGroup(g, ctx.job?.template.restartPolicy ?? 'Never');
    const started = (g.containers ?? []).some((c) => c.state !== 'Waiting');
    // Logs on every other observation (ARM reads are a shared budget), on the last one (the run is
    // done: archiveLogs reuses this fetch) and on every one while somebody follows the run. Lines
    // are counted per container, so a skipped fetch only delays lines, never loses or repeats them.
    const n = (att.observations ?? 0) + 1;
    const wantLogs = started && (verdict.done || n % 2 === 0 || (this.d.isFollowed?.(a.runId, a.attempt) ?? false));
    const texts = wantLogs ? yield* this.fetchLogs(ctx, a.ref, (g.containers ?? []).map((c) => c.name)) : new Map<string, string>();
    await this.emitAndRecord(ctx, a.runId, a.attempt, texts, verdict.done, (x) => {
      x.lastObservedAt = clock.now();
      x.observations = (x.observations ?? 0) + 1;
    });
  }

  /** Fetch each container's log once per reconcile (absent containers are skipped). */
  private async *fetchLogs(ctx: Ctx, ref: GroupRef, containers: string[]): Step<Map<string, string>> {
    const out = new Map<string, string>();
    for (const c of containers) {
      const key = `${ref.resourceGroup.toLowerCase()}/${ref.name}/${c}`;
      const memo = ctx.logs.get(key);
      if (memo !== undefined) {
        out.set(c, memo);
        continue;
      }
      try {
        const text = yield* this.io(() => this.d.groups.logs(ref, c, { signal: ctx.signal }));
        ctx.logs.set(key, text);
        out.set(c, text);
      } catch (e) {
        if (isAciError(e) && e.retryable) throw e;
        if (!isAciError(e, 'NotFound')) this.d.logger.warn({ job: ctx.name, group: ref.name, container: c, err: message(e) }, 'log fetch failed');
      }
    }
    return out;
  }

  private forgetLogs(ctx: Ctx, ref: GroupRef): void {
    const prefix = `${ref.resourceGroup.toLowerCase()}/${ref.name}/`;
    for (const k of [...ctx.logs.keys()]) if (k.startsWith(prefix)) ctx.logs.delete(k);
  }

  /**
   * Emit the lines not emitted yet and record the new counts. The counts are stored first and the
   * lines emitted right after, synchronously, so a line is neither repeated by a later poll nor
   * by a restart.
   */
  private async emitAndRecord(ctx: Ctx, runId: string, attempt: number, texts: Map<string, string>, final: boolean, also?: (x: AttemptRecord) => void): Promise<void> {
    const out: { container: string; lines: string[] }[] = [];
    await this.updateAttempt(runId, attempt, (_r, x) => {
      const counts = { ...(x.logLinesEmitted ?? {}) };
      for (const [container, text] of texts) {
        const lines = splitLines(text, final);
        const done = counts[container] ?? 0;
        if (lines.length > done) {
          out.push({ container, lines: lines.slice(done) });
          counts[container] = lines.length;
        }
      }
      x.logLinesEmitted = counts;
      also?.(x);
    });
    const emit = this.d.onLogLine;
    if (!emit || out.length === 0) return;
    // After the commit that stored the counts: a line is never emitted twice, even across a crash.
    this.deferred(() => {
      for (const o of out) for (const line of o.lines) emit({ job: ctx.name, run: runId, attempt, container: o.container }, line);
    });
  }

  private async *stop(ctx: Ctx, a: Extract<Action, { type: 'stopGroup' }>): Step<void> {
    try {
      yield* this.io(() => this.d.groups.stop(a.ref, { signal: ctx.signal }));
    } catch (e) {
      if (isAciError(e) && e.retryable) throw e;
      if (!isAciError(e, 'NotFound')) await this.event(ctx.name, a.runId, 'Warning', 'StopFailed', `stopping ${a.ref.name}: ${message(e)}`);
    }
    this.forgetLogs(ctx, a.ref);
    const g = this.d.observed.get(a.ref);
    if (g) this.d.observed.upsert({ ...g, state: 'Stopped' });
    await this.event(ctx.name, a.runId, 'Normal', a.reason, `stopped ${a.ref.name} (${a.reason})`);
  }

  /** Store the attempt's full logs (and emit the lines not emitted yet). */
  private async *archive(ctx: Ctx, runId: string, attempt: number, ref: GroupRef, containers: string[]): Step<void> {
    const { store, groups, observed } = this.d;
    let names = containers;
    if (names.length === 0) {
      const cached = observed.get(ref);
      names = cached?.containers?.map((c) => c.name) ?? [];
      if (names.length === 0 && ref.resourceGroup !== '') {
        try {
          const g = yield* this.io(() => groups.get(ref, { signal: ctx.signal }));
          names = (g.containers ?? []).map((c) => c.name);
        } catch (e) {
          if (isAciError(e) && e.retryable) throw e;
        }
      }
    }
    const texts = ref.resourceGroup === '' ? new Map<string, string>() : yield* this.fetchLogs(ctx, ref, names);
    const run = await store.getRun(runId);
    const att = run?.attempts.find((x) => x.attempt === attempt);
    if (run && att) await this.emitAndRecord(ctx, runId, attempt, texts, true);
    await store.transaction(async () => {
      for (const [container, text] of texts) await store.putLog(runId, attempt, container, text);
      if (run && att) {
        await this.updateAttempt(runId, attempt, (_r, x) => {
          x.logsArchived = true;
        });
      }
    });
  }

  private async finishRun(ctx: Ctx, a: Extract<Action, { type: 'finishRun' }>): Promise<void> {
    const now = this.d.clock.now();
    let scheduled: number | null = null;
    await this.updateRun(a.runId, (run) => {
      run.phase = a.phase;
      run.finishedAt = now;
      run.nextAttemptAt = undefined;
      scheduled = run.scheduledTime;
    });
    if (a.phase === 'Succeeded' && scheduled !== null) {
      const t: number = scheduled;
      await this.updateState(ctx.name, (s) => {
        s.lastSuccessfulTime = Math.max(s.lastSuccessfulTime ?? t, t);
      });
    }
    this.d.metrics?.runFinished?.(ctx.name, a.phase);
    await this.d.notify?.runFinished(ctx.name, a.runId, a.phase);
    await this.wakeDependents(ctx.name);
    if (a.phase === 'Succeeded') await this.event(ctx.name, a.runId, 'Normal', 'RunSucceeded', 'run succeeded');
    else await this.event(ctx.name, a.runId, 'Warning', 'RunFailed', `run failed${a.reason ? `: ${a.reason}` : ''}`);
  }

  private async *deleteGroup(ctx: Ctx, a: Extract<Action, { type: 'deleteGroup' }>): Step<void> {
    const { store, groups } = this.d;
    if (a.runId !== undefined && a.attempt !== undefined) {
      const att = (await store.getRun(a.runId))?.attempts.find((x) => x.attempt === a.attempt);
      // Invariant 7: never delete a group whose attempt's logs are not archived yet.
      if (att && !att.logsArchived) yield* this.archive(ctx, a.runId, a.attempt, a.ref, []);
    }
    if (a.ref.resourceGroup !== '') {
      // Ownership: with tags read from ARM in this very reconcile (a GET or our PUT a moment ago) the
      // adapter checks those instead of reading the group again; without them it reads it itself.
      const observedTags = ctx.freshTags.get(refKey(a.ref));
      try {
        yield* this.io(() => groups.delete(a.ref, observedTags ? { signal: ctx.signal, observedTags } : { signal: ctx.signal }));
      } catch (e) {
        if (isAciError(e) && e.retryable) throw e;
        if (!isAciError(e, 'NotFound')) {
          await this.event(ctx.name, a.runId, 'Warning', 'DeleteFailed', `deleting ${a.ref.name}: ${message(e)}`);
        }
      }
      // A job being deleted keeps its finalizer until ARM no longer has its groups: ARM accepts a
      // DELETE long before the group is gone, and `kubectl delete` must not return before that.
      if (!ctx.stored || ctx.stored.deletionTimestamp) yield* this.awaitGone(ctx, a.ref);
    }
    this.gone(ctx, a.ref);
    this.forgetLogs(ctx, a.ref);
    if (a.runId !== undefined && a.attempt !== undefined && await store.getRun(a.runId)) {
      await this.updateAttempt(a.runId, a.attempt, (_r, x) => {
        x.groupDeleted = true;
      });
    }
    await this.event(ctx.name, a.runId, 'Normal', 'GroupDeleted', `deleted container group ${a.ref.name} (${a.reason})`);
  }

  /** Polls until the group is gone (bounded); a group still there after that is retried later. */
  private async *awaitGone(ctx: Ctx, ref: GroupRef): Step<void> {
    const deadline = this.d.clock.now() + DELETE_WAIT_MS;
    for (;;) {
      try {
        yield* this.io(() => this.d.groups.get(ref, { signal: ctx.signal }));
      } catch (e) {
        if (isAciError(e, 'NotFound')) return;
        throw e;
      }
      if (this.d.clock.now() >= deadline) throw new AciError('Transient', `container group ${ref.name} is still being deleted`);
      yield* this.io(() => new Promise<void>((r) => setTimeout(r, DELETE_POLL_MS)));
    }
  }

  private async finalize(ctx: Ctx): Promise<void> {
    const { store } = this.d;
    await store.transaction(async () => {
      const s = await store.getSchedulerState(ctx.name);
      // A job re-created later under the same name starts afresh (no backfill since deletion).
      if (s) await store.putSchedulerState(ctx.name, { ...s, scheduleKey: '', pendingManual: [], reuseApplied: null });
      const j = await store.getJob(ctx.name);
      if (!j || !j.deletionTimestamp) return;
      const finalizers = j.finalizers.filter((f) => f !== CLEANUP_FINALIZER);
      if (finalizers.length > 0) {
        const { uid, creationTimestamp, name, deletionTimestamp, labels, annotations, spec, source, status } = j;
        await store.putJob({ uid, creationTimestamp, name, deletionTimestamp, labels, annotations, spec, source, status, finalizers }, j.resourceVersion);
      } else {
        await store.deleteJob(ctx.name);
      }
    });
    ctx.finalized = true;
    this.d.logger.info({ job: ctx.name }, 'job cleaned up');
  }

  // ---- record --------------------------------------------------------------------------------

  private async updateState(job: string, fn: (s: SchedulerState) => void): Promise<void> {
    const { store } = this.d;
    await store.transaction(async () => {
      const s = await store.getSchedulerState(job);
      if (!s) return;
      fn(s);
      await store.putSchedulerState(job, s);
    });
  }

  private async updateRun(runId: string, fn: (r: RunRecord) => void | Promise<void>): Promise<void> {
    const { store } = this.d;
    await store.transaction(async () => {
      const r = await store.getRun(runId);
      if (!r) return;
      await fn(r);
      await store.putRun(r);
    });
  }

  private async updateAttempt(runId: string, attempt: number, fn: (r: RunRecord, a: AttemptRecord) => void | Promise<void>): Promise<void> {
    await this.updateRun(runId, async (r) => {
      const a = r.attempts.find((x) => x.attempt === attempt);
      if (a) await fn(r, a);
    });
  }

  private async event(job: string, run: string | undefined, type: 'Normal' | 'Warning', reason: string, msg: string): Promise<void> {
    const e: StoredEvent = { time: new Date(this.d.clock.now()).toISOString(), job, type, reason, message: msg };
    if (run !== undefined) e.run = run;
    await this.d.store.addEvent(e);
    const hook = this.d.onEvent;
    if (hook) this.deferred(() => hook(e));
    // logged once the event is committed (a stretch's writes may be held until its COMMIT, which
    // a stale leader's fencing refuses): the log never tells of an event the store did not keep
    const log = type === 'Warning' ? this.d.logger.warn : this.d.logger.info;
    this.deferred(() => log.call(this.d.logger, { job, run, reason }, msg));
  }

  // ---- status --------------------------------------------------------------------------------

  /**
   * Write the job's status when it changed (never at steady state). `read`: the rows this reconcile
   * read when nothing has been written since (saves reading them again).
   */
  private async writeStatus(ctx: Ctx, invalid: { reason: string; message: string } | null, read?: PlanInput): Promise<void> {
    const { store, clock } = this.d;
    const stored = read ? ctx.stored : await store.getJob(ctx.name);
    if (!stored) return;
    const now = clock.now();
    const state = read ? read.state : (await store.getSchedulerState(ctx.name) ?? null);
    const runs = read ? read.runs : await store.listRuns(ctx.name);
    const next = computeStatus({ stored, job: ctx.job, schedule: ctx.schedule, state, runs, invalid, specHash: ctx.specHash, now });
    if (!deepEqual(next, stored.status)) await store.writeJobStatus(ctx.name, next);
  }
}

function backfillStatus(state: SchedulerState | null, runs: RunRecord[]): JobStatus['backfill'] {
  const bf = state?.backfill;
  if (!bf) return undefined;
  const active = runs.filter((r) => r.backfill === bf.id && isActiveRun(r)).length;
  return { id: bf.id, from: new Date(bf.from).toISOString(), to: new Date(bf.to).toISOString(), slots: bf.slots.length, handled: bf.cursor, active };
}

export interface StatusInput {
  stored: StoredJob;
  job: ResolvedJob | null;
  schedule: SlotSchedule | null;
  state: SchedulerState | null;
  runs: RunRecord[];
  invalid: { reason: string; message: string } | null;
  specHash: string | null;
  now: number;
}

/**
 * The job's status (Kubernetes conventions). Conditions keep their lastTransitionTime while their
 * status is unchanged, so an unchanged job produces an identical status (no churn). An `Invalid`
 * condition with reason SourceInvalid belongs to the manifest watcher and is kept as it is.
 */
export function computeStatus(i: StatusInput): JobStatus {
  const { stored, job, state, runs, now } = i;
  const old = stored.status ?? {};
  const prev = new Map((old.conditions ?? []).map((c) => [c.type, c]));
  const gen = stored.generation;
  const cond = (type: string, status: Condition['status'], reason: string, msg: string): Condition => {
    const p = prev.get(type);
    const lastTransitionTime = p && p.status === status ? p.lastTransitionTime : new Date(now).toISOString();
    return { type, status, reason, message: msg, lastTransitionTime, observedGeneration: gen };
  };

  const sourceInvalid = prev.get('Invalid');
  const keepSource = sourceInvalid && sourceInvalid.reason === 'SourceInvalid';
  const invalidCond = keepSource
    ? sourceInvalid
    : i.invalid
      ? cond('Invalid', 'True', i.invalid.reason, i.invalid.message)
      : cond('Invalid', 'False', 'Valid', 'the spec is valid');
  const isInvalid = invalidCond.status === 'True';

  const suspended = state?.suspendOverride ?? job?.suspend ?? false;
  const next = job && i.schedule && !suspended ? i.schedule.next(Math.max(now, state?.anchor ?? now)) : null;
  let scheduled: Condition;
  if (!job?.schedule) scheduled = cond('Scheduled', 'False', 'NoSchedule', 'the job has no schedule; it runs when triggered');
  else if (i.invalid?.reason === 'InvalidSchedule') scheduled = cond('Scheduled', 'False', 'InvalidSchedule', i.invalid.message);
  else if (suspended) scheduled = cond('Scheduled', 'False', 'Suspended', 'the job is suspended');
  else if (next === null) scheduled = cond('Scheduled', 'False', 'ScheduleEnded', 'the schedule has no further slots');
  else scheduled = cond('Scheduled', 'True', 'Scheduled', 'the job runs on its schedule');

  const finished = runs.filter((r) => r.phase === 'Succeeded' || r.phase === 'Failed').sort((a, b) => (a.finishedAt ?? 0) - (b.finishedAt ?? 0) || a.scheduledTime - b.scheduledTime);
  const lastRun = finished[finished.length - 1];
  let lastRunCond: Condition;
  if (!lastRun) lastRunCond = cond('LastRunSucceeded', 'Unknown', 'NoRuns', 'no run has finished yet');
  else if (lastRun.phase === 'Succeeded') lastRunCond = cond('LastRunSucceeded', 'True', 'Succeeded', `run ${lastRun.id} succeeded`);
  else {
    const la = lastRun.attempts[lastRun.attempts.length - 1];
    lastRunCond = cond('LastRunSucceeded', 'False', la?.reason ?? 'Failed', la?.message ?? `run ${lastRun.id} failed`);
  }

  const ready = isInvalid
    ? cond('Ready', 'False', invalidCond.reason, invalidCond.message)
    : cond('Ready', 'True', 'Reconciled', 'desired state is applied');

  const active = runs
    .filter(isActiveRun)
    .map((r) => {
      const a = r.attempts[r.attempts.length - 1];
      return { run: r.id, group: a?.groupName ?? '', attempt: a?.attempt ?? 0 };
    });

  const status: JobStatus = {
    ...old,
    observedGeneration: gen,
    conditions: [ready, scheduled, lastRunCond, invalidCond],
    lastScheduleTime: iso(state?.lastScheduleTime),
    lastSuccessfulTime: iso(state?.lastSuccessfulTime),
    nextScheduleTime: iso(next),
    active,
    lastRunResult: lastRun?.phase as JobStatus['lastRunResult'],
    suspended,
    specHash: i.specHash ?? undefined,
    backfill: backfillStatus(state, runs),
  };
  if (stored.source.kind === 'directory' && stored.source.revision !== undefined) status.sourceRevision = stored.source.revision;
  for (const k of Object.keys(status) as (keyof JobStatus)[]) if (status[k] === undefined) delete status[k];
  return status;
}
