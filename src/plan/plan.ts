/**
 * The planner: a pure function from (desired job, scheduler state, run records, observed groups,
 * now) to ordered actions and a wake-up instant. No I/O, no wall clock.
 *
 * The reconciler executes the actions in order and asks again until the plan is empty, so each
 * plan only has to be right for the input it sees: an action whose precondition is produced by
 * an earlier action of the same reconcile may be left to the next round (e.g. Forbid starts the
 * next slot only after the previous run was recorded finished).
 *
 * Rules (DESIGN §2, §3, §7):
 * - Slots in (anchor, now] are due. The anchor is set to "now" when the job is first seen, when
 *   its schedule or time zone changes and when it resumes from suspend, so none of these ever
 *   causes a retroactive run; it advances past every slot that was run or recorded missed.
 * - catchup false: only the latest due slot may run; older ones are recorded missed.
 *   catchup true: the newest `maxCatchupRuns` due slots run, oldest first; older ones are
 *   recorded missed (never an unbounded backfill).
 * - A slot older than now − startingDeadline is recorded missed (also while it waits on Forbid).
 * - Forbid: a due slot waits while a run is active. Replace: active runs are stopped and marked
 *   Failed/Replaced, the newest due slot starts, older due slots are recorded Superseded. Allow:
 *   every due slot starts. Reuse has one group, so Allow behaves like Forbid there.
 * - Manual runs (pending triggers) start at once; under Reuse they queue for the group.
 * - Retries: retryDelay × factor^(n−1), capped by maxDelay, while attempts ≤ 1 + retries.
 * - Timeout per attempt: observe once more, then stop the group and fail the attempt (Timeout).
 * - Cleanup: Delete = right after the attempt finished; Keep = after ttlAfterFinished (never when
 *   null). Logs are archived before any delete. History limits prune the oldest finished runs and
 *   their groups; groups no record refers to (orphans) are archived and deleted.
 * - A job that is gone: active attempts fail (JobDeleted), every group is archived and deleted,
 *   then `finalize`.
 */
import { WAIT_CAP_MS } from '../api/clock';
import { MAX_ATTEMPTS, TAG_ATTEMPT, TAG_RUN, TAG_SPEC_HASH, perRunGroupName, reuseGroupName, scheduledRunId } from '../api/names';
import type { GroupRef, ObservedGroup } from '../api/observed';
import type { AttemptRecord, RunRecord } from '../api/runs';
import type { ResolvedJob } from '../api/types';
import { assessGroup, type Assessment } from './assess';
import { gate, type Gate } from './dependencies';
import { planBackfill, planCancels, planClears, type OperatorHost } from './operator';
import { NON_RETRYABLE_REASONS, pollIntervalMs, retryDelayMs, scheduleKey } from './policy';
import { runEnv } from './run-env';
import type { Action, LaunchMode, MissedReason, PlanInput, PlanResult, SlotSchedule } from './types';

/** Upper bound when counting missed slots (the count is informational). */
const COUNT_LIMIT = 1000;

export function isActiveRun(r: RunRecord): boolean {
  return r.phase === 'Waiting' || r.phase === 'Pending' || r.phase === 'Running' || r.phase === 'Retrying';
}

function isLiveAttempt(a: AttemptRecord): boolean {
  return a.phase === 'Creating' || a.phase === 'Running';
}

function lastAttempt(r: RunRecord): AttemptRecord | undefined {
  return r.attempts[r.attempts.length - 1];
}

function groupKey(resourceGroup: string, name: string): string {
  return `${resourceGroup.toLowerCase()}/${name}`;
}

function sortRuns(runs: RunRecord[]): RunRecord[] {
  return [...runs].sort((a, b) => a.scheduledTime - b.scheduledTime || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

interface Launch {
  run: RunRecord;
  attempt: number;
  recover: boolean;
  /** For ordering Reuse launches. */
  at: number;
}

/** Accumulates actions and wake candidates. */
class Builder {
  readonly actions: Action[] = [];
  private readonly wakes: number[] = [];
  /** `${runId}#${attempt}` archived or finished within this plan. */
  readonly archived = new Set<string>();
  readonly finishedAttempts = new Set<string>();
  readonly finishedRuns = new Set<string>();
  readonly deleted = new Set<string>();

  constructor(readonly now: number) {}

  push(a: Action): void {
    this.actions.push(a);
  }

  wake(t: number | null | undefined): void {
    if (t !== null && t !== undefined && Number.isFinite(t)) this.wakes.push(t);
  }

  result(): PlanResult {
    if (this.wakes.length === 0) return { actions: this.actions, wakeAt: null };
    const earliest = Math.min(...this.wakes);
    return { actions: this.actions, wakeAt: Math.min(Math.max(earliest, this.now), this.now + WAIT_CAP_MS) };
  }
}

const attemptKey = (runId: string, attempt: number): string => `${runId}#${attempt}`;

export function plan(input: PlanInput): PlanResult {
  return input.job ? new JobPlanner(input, input.job).plan() : planGone(input);
}

/** Shared lookups over the observed groups of a job. */
class Observed {
  constructor(
    private readonly groups: ObservedGroup[],
    private readonly fallbackRef: (name: string) => GroupRef,
  ) {}

  byName(name: string, resourceGroup?: string): ObservedGroup | undefined {
    return this.groups.find(
      (g) => g.name === name && (resourceGroup === undefined || g.resourceGroup.toLowerCase() === resourceGroup.toLowerCase()),
    );
  }

  /** The group holding this run's attempt (its tags must name the run and attempt). */
  forAttempt(run: RunRecord, a: AttemptRecord): ObservedGroup | undefined {
    const g = this.byName(a.groupName, a.resourceGroup);
    if (!g) return undefined;
    if (g.tags[TAG_RUN] !== run.id) return undefined;
    const tagged = g.tags[TAG_ATTEMPT];
    return tagged === undefined || tagged === String(a.attempt) ? g : undefined;
  }

  refOf(a: AttemptRecord): GroupRef {
    const g = this.byName(a.groupName, a.resourceGroup);
    if (g) return { subscriptionId: g.subscriptionId, resourceGroup: g.resourceGroup, name: g.name };
    const fb = this.fallbackRef(a.groupName);
    return {
      subscriptionId: a.subscriptionId ?? fb.subscriptionId,
      resourceGroup: a.resourceGroup ?? fb.resourceGroup,
      name: a.groupName,
    };
  }

  all(): ObservedGroup[] {
    return this.groups;
  }
}

function containersOf(g: ObservedGroup | undefined, job: ResolvedJob | null): string[] {
  if (g?.containers && g.containers.length > 0) return g.containers.map((c) => c.name);
  return job ? job.template.containers.map((c) => c.name) : [];
}

/** Cleanup, history and orphan rules shared by the live and the gone paths. */
function planOrphans(b: Builder, obs: Observed, runs: RunRecord[], job: ResolvedJob | null, skip: Set<string>): void {
  const referenced = new Set<string>();
  for (const r of runs) {
    for (const a of r.attempts) {
      if (!a.groupDeleted) referenced.add(groupKey(obs.refOf(a).resourceGroup, a.groupName));
    }
  }
  for (const g of obs.all()) {
    const k = groupKey(g.resourceGroup, g.name);
    if (referenced.has(k) || skip.has(k) || b.deleted.has(k)) continue;
    const ref: GroupRef = { subscriptionId: g.subscriptionId, resourceGroup: g.resourceGroup, name: g.name };
    const runId = g.tags[TAG_RUN] ?? g.name;
    const attempt = Number(g.tags[TAG_ATTEMPT] ?? '1') || 1;
    b.push({ type: 'archiveLogs', runId, attempt, ref, containers: containersOf(g, job) });
    b.push({ type: 'deleteGroup', ref, reason: 'Orphan' });
    b.deleted.add(k);
  }
}

function archiveThenDelete(
  b: Builder,
  obs: Observed,
  job: ResolvedJob | null,
  run: RunRecord,
  a: AttemptRecord,
  reason: 'Cleanup' | 'TTL' | 'History' | 'JobDeleted',
): void {
  const ref = obs.refOf(a);
  const k = groupKey(ref.resourceGroup, ref.name);
  const ak = attemptKey(run.id, a.attempt);
  if (!a.logsArchived && !b.archived.has(ak)) {
    b.push({ type: 'archiveLogs', runId: run.id, attempt: a.attempt, ref, containers: containersOf(obs.byName(a.groupName, a.resourceGroup), job) });
    b.archived.add(ak);
  }
  b.push({ type: 'deleteGroup', ref, runId: run.id, attempt: a.attempt, reason });
  b.deleted.add(k);
}

/** The job is absent or being deleted. */
function planGone(input: PlanInput): PlanResult {
  const b = new Builder(input.now);
  const obs = new Observed(input.observed, (name) => ({ subscriptionId: input.defaultSubscriptionId, resourceGroup: '', name }));
  const runs = sortRuns(input.runs);
  for (const run of runs) {
    for (const a of run.attempts) {
      if (!isLiveAttempt(a)) continue;
      const ref = obs.refOf(a);
      if (!a.logsArchived) {
        b.push({ type: 'archiveLogs', runId: run.id, attempt: a.attempt, ref, containers: containersOf(obs.byName(a.groupName, a.resourceGroup), null) });
        b.archived.add(attemptKey(run.id, a.attempt));
      }
      b.push({ type: 'finishAttempt', runId: run.id, attempt: a.attempt, phase: 'Failed', exitCode: null, reason: 'JobDeleted', message: 'the job was deleted' });
    }
    if (isActiveRun(run)) b.push({ type: 'finishRun', runId: run.id, phase: 'Failed', reason: 'JobDeleted' });
    for (const a of run.attempts) {
      if (!a.groupDeleted) archiveThenDelete(b, obs, null, run, a, 'JobDeleted');
    }
  }
  planOrphans(b, obs, runs, null, new Set());
  if (b.actions.length === 0) b.push({ type: 'finalize' });
  return b.result();
}

class JobPlanner {
  private readonly b: Builder;
  private readonly now: number;
  private readonly obs: Observed;
  private readonly runs: RunRecord[];
  private readonly reuse: boolean;
  private readonly sub: string;
  private readonly launches: Launch[] = [];
  /** Runs replaced in this plan (no further progress planned for them). */
  private readonly replaced = new Set<string>();
  /** Reuse: groups a launch of this plan takes over. */
  private readonly launchedOnGroup = new Set<string>();

  constructor(
    private readonly input: PlanInput,
    private readonly job: ResolvedJob,
  ) {
    this.now = input.now;
    this.b = new Builder(input.now);
    this.sub = job.template.subscriptionId ?? input.defaultSubscriptionId;
    this.obs = new Observed(input.observed, (name) => this.ref(name));
    this.runs = sortRuns(input.runs);
    this.reuse = job.groupPolicy === 'Reuse';
  }

  private ref(name: string): GroupRef {
    return { subscriptionId: this.sub, resourceGroup: this.job.template.resourceGroup, name };
  }

  plan(): PlanResult {
    const { job, now, b } = this;
    const st = this.input.state;
    const key = scheduleKey(job);
    let anchor: number;
    if (!st) {
      const created = this.input.jobCreatedAt;
      anchor = created !== undefined && created < now ? created : now;
      b.push({ type: 'initState', anchor, scheduleKey: key });
    } else if (st.scheduleKey !== key) {
      b.push({ type: 'reanchor', anchor: now, scheduleKey: key, reason: 'ScheduleChanged', missed: 0 });
      anchor = now;
    } else {
      anchor = st.anchor;
    }
    const suspended = st?.suspendOverride ?? job.suspend;
    const suspendedSince = st?.suspendedSince ?? null;
    if (suspended && suspendedSince === null) b.push({ type: 'setSuspended', since: now });
    if (!suspended && suspendedSince !== null) {
      const missed = this.input.schedule && now > anchor ? this.input.schedule.between(anchor, now, COUNT_LIMIT).length : 0;
      const to = Math.max(anchor, now);
      b.push({ type: 'reanchor', anchor: to, scheduleKey: key, reason: 'Resumed', missed });
      anchor = to;
    }

    const active = this.runs.filter(isActiveRun);
    const ops = this.operatorHost();
    planCancels(ops, st);
    if (this.input.schedule && !suspended) this.planSlots(this.input.schedule, anchor, active.filter((r) => !this.replaced.has(r.id)));
    this.planManual(this.input.state?.pendingManual ?? []);
    planClears(ops, st);
    if (st?.backfill && !suspended && this.input.schedule) planBackfill(ops, st.backfill);
    for (const run of this.runs) if (run.phase === 'UpstreamFailed' && !this.cleared.has(run.id)) this.recheckBlocked(run);
    for (const run of active) if (!this.replaced.has(run.id)) this.progress(run);
    this.planLaunches();
    this.planCleanup();
    return b.result();
  }

  private readonly cleared = new Set<string>();

  private operatorHost(): OperatorHost {
    return {
      job: this.job,
      runs: this.runs,
      push: (a) => this.b.push(a),
      ended: this.replaced,
      cleared: this.cleared,
      cancel: (run) => this.cancel(run),
      startBackfill: (slot, id) => this.startScheduled(this.input.schedule!, slot, id),
      launchCount: () => this.launches.length,
      isActive: isActiveRun,
    };
  }

  /** acictl runs cancel: end the run like a replace, reason Cancelled, and delete its live group. */
  private cancel(run: RunRecord): void {
    const a = lastAttempt(run);
    this.end(run, 'Cancelled', 'cancelled by an operator');
    if (a && isLiveAttempt(a)) {
      const ref = this.obs.refOf(a);
      this.b.push({ type: 'deleteGroup', ref, runId: run.id, attempt: a.attempt, reason: 'Cancelled' });
      this.b.deleted.add(groupKey(ref.resourceGroup, ref.name));
    }
  }

  // ---- slots ---------------------------------------------------------------------------------

  private planSlots(schedule: SlotSchedule, anchor: number, active: RunRecord[]): void {
    const { job, now, b } = this;
    const cap = job.catchup ? Math.max(1, job.maxCatchupRuns) : 1;
    const newest: number[] = [];
    let s = schedule.latest(now);
    while (s !== null && s > anchor && newest.length < cap) {
      newest.unshift(s);
      s = schedule.latest(s - 1);
    }
    if (s !== null && s > anchor) {
      const count = Math.max(1, schedule.between(anchor, s, COUNT_LIMIT).length);
      b.push({ type: 'recordMissed', slot: s, count, reason: job.catchup ? 'CatchupLimit' : 'NotCatchup' });
    }
    const deadline = job.startingDeadlineMs;
    let fresh: number[] = [];
    const late: number[] = [];
    for (const slot of newest) {
      if (deadline !== null && slot + deadline < now) late.push(slot);
      else fresh.push(slot);
    }
    const policy = this.reuse && job.concurrencyPolicy === 'Allow' ? 'Forbid' : job.concurrencyPolicy;
    // Late while an earlier run is still active under Forbid: skipped by the concurrency policy.
    const blocked = policy === 'Forbid' && active.some((r) => r.slot === null || r.scheduledTime < (late[0] ?? 0));
    this.missed(late, blocked ? 'ConcurrencyForbid' : 'DeadlineExceeded');

    const existing = new Set(this.runs.map((r) => r.id));
    const already = fresh.filter((slot) => existing.has(scheduledRunId(job.name, slot)));
    if (already.length > 0) b.push({ type: 'advanceAnchor', anchor: already[already.length - 1] });
    fresh = fresh.filter((slot) => !existing.has(scheduledRunId(job.name, slot)));
    // A slot older than an already started one can no longer run in order: recorded missed.
    if (already.length > 0) {
      const newestStarted = already[already.length - 1];
      this.missed(
        fresh.filter((x) => x < newestStarted),
        'Superseded',
      );
      fresh = fresh.filter((x) => x > newestStarted);
    }
    if (fresh.length === 0) {
      b.wake(schedule.next(now));
      return;
    }

    if (policy === 'Allow') {
      for (const slot of fresh) this.startScheduled(schedule, slot);
    } else if (policy === 'Forbid') {
      if (active.length > 0) {
        // Waits within its deadline; the wake-up records it missed when the deadline passes.
        if (deadline !== null) b.wake(fresh[0] + deadline + 1);
      } else {
        this.startScheduled(schedule, fresh[0]);
      }
    } else {
      const newestSlot = fresh[fresh.length - 1];
      this.missed(fresh.slice(0, -1), 'Superseded');
      const by = scheduledRunId(job.name, newestSlot);
      for (const run of active) this.replace(run, by);
      this.startScheduled(schedule, newestSlot);
    }
    b.wake(schedule.next(now));
  }

  private missed(slots: number[], reason: MissedReason): void {
    if (slots.length === 0) return;
    this.b.push({ type: 'recordMissed', slot: slots[slots.length - 1], count: slots.length, reason });
  }

  private startScheduled(schedule: SlotSchedule, slot: number, backfill?: string): void {
    const di = schedule.dataInterval(slot);
    const g = this.gateOf(slot, di.start, di.end);
    const hold = g.kind === 'ready' ? undefined : { phase: g.kind === 'blocked' ? ('UpstreamFailed' as const) : ('Waiting' as const), reason: g.reason, message: g.message };
    const run = this.newRun(scheduledRunId(this.job.name, slot), slot, false, slot, di.start, di.end, backfill, hold);
    if (!hold) this.launches.push({ run, attempt: 1, recover: false, at: slot });
    else if (hold.phase === 'Waiting') this.wakeAtDeadline(run);
  }

  // ---- dependencies (spec.dependsOn, dependsOnPast) ------------------------------------------

  /** Runs recorded in this plan (dependsOnPast looks at them too). */
  private readonly planned: RunRecord[] = [];

  private gateOf(slot: number, start: number, end: number): Gate {
    const upstream = this.input.upstream ?? [];
    if (upstream.length === 0 && !this.job.dependsOnPast) return { kind: 'ready' };
    return gate({ upstream, dependsOnPast: this.job.dependsOnPast, schedule: this.input.schedule, runs: [...this.runs, ...this.planned] }, slot, start, end);
  }

  /** A Waiting run past its starting deadline fails (backfill runs have no deadline). */
  private deadlinePassed(run: RunRecord): boolean {
    const d = this.job.startingDeadlineMs;
    return d !== null && !run.backfill && this.now > run.scheduledTime + d;
  }

  private wakeAtDeadline(run: RunRecord): void {
    const d = this.job.startingDeadlineMs;
    if (d !== null && !run.backfill) this.b.wake(run.scheduledTime + d + 1);
  }

  private release(run: RunRecord): void {
    this.b.push({ type: 'releaseRun', runId: run.id });
    this.launches.push({ run, attempt: 1, recover: false, at: run.scheduledTime });
  }

  /** A Waiting run: start it, keep it waiting (until its deadline), or mark it UpstreamFailed. */
  private progressWaiting(run: RunRecord): void {
    const g = run.slot === null ? ({ kind: 'ready' } as Gate) : this.gateOf(run.slot, run.dataIntervalStart, run.dataIntervalEnd);
    if (g.kind === 'ready') return this.release(run);
    if (g.kind === 'blocked') {
      this.b.push({ type: 'holdRun', runId: run.id, phase: 'UpstreamFailed', reason: g.reason, message: g.message });
      return;
    }
    if (this.deadlinePassed(run)) {
      this.b.push({ type: 'finishRun', runId: run.id, phase: 'Failed', reason: 'DeadlineExceeded' });
      this.b.finishedRuns.add(run.id);
      return;
    }
    if (g.reason !== run.waitReason || g.message !== run.waitMessage) this.b.push({ type: 'holdRun', runId: run.id, phase: 'Waiting', reason: g.reason, message: g.message });
    this.wakeAtDeadline(run);
  }

  /** An UpstreamFailed run starts once what blocked it succeeded (e.g. the upstream run was cleared). */
  private recheckBlocked(run: RunRecord): void {
    if (run.slot === null) return;
    const g = this.gateOf(run.slot, run.dataIntervalStart, run.dataIntervalEnd);
    if (g.kind === 'ready') this.release(run);
    else if (g.kind === 'blocked' && (g.reason !== run.waitReason || g.message !== run.waitMessage)) {
      this.b.push({ type: 'holdRun', runId: run.id, phase: 'UpstreamFailed', reason: g.reason, message: g.message });
    }
  }

  private newRun(
    id: string,
    slot: number | null,
    manual: boolean,
    scheduledTime: number,
    start: number,
    end: number,
    backfill?: string,
    hold?: { phase: 'Waiting' | 'UpstreamFailed'; reason: string; message: string },
  ): RunRecord {
    this.b.push({ type: 'startRun', runId: id, slot, manual, scheduledTime, dataIntervalStart: start, dataIntervalEnd: end, ...(backfill ? { backfill } : {}), ...(hold ? { hold } : {}) });
    const planned: RunRecord = {
      id,
      job: this.job.name,
      slot,
      manual,
      scheduledTime,
      dataIntervalStart: start,
      dataIntervalEnd: end,
      phase: hold?.phase ?? 'Pending',
      attempts: [],
      createdAt: this.now,
      ...(backfill ? { backfill } : {}),
    };
    this.planned.push(planned);
    return planned;
  }

  private replace(run: RunRecord, by: string): void {
    this.end(run, 'Replaced', `replaced by run ${by}`);
  }

  /** Stop the run's live attempt (archiving its logs) and fail the attempt and the run with `reason`. */
  private end(run: RunRecord, reason: 'Replaced' | 'Cancelled', message: string): void {
    const a = lastAttempt(run);
    if (a && isLiveAttempt(a)) {
      const ref = this.obs.refOf(a);
      this.b.push({ type: 'stopGroup', runId: run.id, attempt: a.attempt, ref, reason });
      if (!a.logsArchived) {
        this.b.push({ type: 'archiveLogs', runId: run.id, attempt: a.attempt, ref, containers: containersOf(this.obs.byName(a.groupName, a.resourceGroup), this.job) });
        this.b.archived.add(attemptKey(run.id, a.attempt));
      }
      this.b.push({ type: 'finishAttempt', runId: run.id, attempt: a.attempt, phase: 'Failed', exitCode: null, reason, message });
      this.b.finishedAttempts.add(attemptKey(run.id, a.attempt));
    }
    this.b.push({ type: 'finishRun', runId: run.id, phase: 'Failed', reason });
    this.b.finishedRuns.add(run.id);
    this.replaced.add(run.id);
  }

  // ---- manual runs ---------------------------------------------------------------------------

  private planManual(pending: { id: string; requestedAt: number }[]): void {
    const schedule = this.input.schedule;
    for (const p of [...pending].sort((x, y) => x.requestedAt - y.requestedAt || (x.id < y.id ? -1 : 1))) {
      const existing = this.runs.find((r) => r.id === p.id);
      if (existing) {
        // Recorded before a crash; startRun is idempotent and consumes the trigger.
        this.b.push({ type: 'startRun', runId: p.id, slot: null, manual: true, scheduledTime: existing.scheduledTime, dataIntervalStart: existing.dataIntervalStart, dataIntervalEnd: existing.dataIntervalEnd });
        continue;
      }
      const last = schedule?.latest(p.requestedAt) ?? null;
      const di = last !== null && schedule ? schedule.dataInterval(last) : { start: p.requestedAt, end: p.requestedAt };
      const run = this.newRun(p.id, null, true, p.requestedAt, di.start, di.end);
      this.launches.push({ run, attempt: 1, recover: false, at: p.requestedAt });
    }
  }

  // ---- active runs ---------------------------------------------------------------------------

  private progress(run: RunRecord): void {
    if (run.phase === 'Waiting') return this.progressWaiting(run);
    const a = lastAttempt(run);
    if (!a) {
      this.launches.push({ run, attempt: 1, recover: false, at: run.scheduledTime });
      return;
    }
    switch (a.phase) {
      case 'Creating':
        this.launches.push({ run, attempt: a.attempt, recover: true, at: run.scheduledTime });
        return;
      case 'Running':
        this.progressRunning(run, a);
        return;
      default:
        if (run.phase === 'Retrying') {
          const at = run.nextAttemptAt ?? this.now;
          if (this.now >= at) this.launches.push({ run, attempt: a.attempt + 1, recover: false, at });
          else this.b.wake(at);
        } else {
          // The attempt was recorded finished but the run was not (an interrupted reconcile).
          this.retryOrFinish(run, a.attempt, a.phase === 'Succeeded' ? 'Succeeded' : 'Failed', a.reason, a.finishedAt ?? this.now);
        }
    }
  }

  private progressRunning(run: RunRecord, a: AttemptRecord): void {
    const { job, now, b } = this;
    const g = this.obs.forAttempt(run, a);
    if (g) {
      const verdict = assessGroup(g, job.template.restartPolicy);
      if (verdict.done) {
        this.finish(run, a, verdict);
        return;
      }
    }
    const startedAt = a.startedAt ?? a.createdAt;
    const timeoutAt = job.timeoutMs !== null ? startedAt + job.timeoutMs : null;
    const lastSeen = a.lastObservedAt ?? startedAt;
    if (timeoutAt !== null && now >= timeoutAt) {
      if (lastSeen < timeoutAt) {
        // One last look: it may have finished on its own just before the timeout.
        b.push({ type: 'observe', runId: run.id, attempt: a.attempt, ref: this.obs.refOf(a) });
        return;
      }
      const ref = this.obs.refOf(a);
      b.push({ type: 'stopGroup', runId: run.id, attempt: a.attempt, ref, reason: 'Timeout' });
      this.finish(run, a, {
        done: true,
        phase: 'Failed',
        exitCode: null,
        reason: 'Timeout',
        message: `attempt exceeded its timeout of ${Math.round(job.timeoutMs! / 1000)}s`,
      });
      return;
    }
    let due = lastSeen + pollIntervalMs(lastSeen - startedAt);
    if (timeoutAt !== null) due = Math.min(due, timeoutAt);
    if (now >= due) b.push({ type: 'observe', runId: run.id, attempt: a.attempt, ref: this.obs.refOf(a) });
    else b.wake(due);
  }

  private finish(run: RunRecord, a: AttemptRecord, v: Extract<Assessment, { done: true }>): void {
    const ak = attemptKey(run.id, a.attempt);
    if (!a.logsArchived) {
      this.b.push({ type: 'archiveLogs', runId: run.id, attempt: a.attempt, ref: this.obs.refOf(a), containers: containersOf(this.obs.byName(a.groupName, a.resourceGroup), this.job) });
      this.b.archived.add(ak);
    }
    this.b.push({ type: 'finishAttempt', runId: run.id, attempt: a.attempt, phase: v.phase, exitCode: v.exitCode ?? null, reason: v.reason, message: v.message });
    this.b.finishedAttempts.add(ak);
    this.retryOrFinish(run, a.attempt, v.phase, v.reason, this.now);
  }

  private retryOrFinish(run: RunRecord, attempt: number, phase: 'Succeeded' | 'Failed', reason: string | undefined, finishedAt: number): void {
    const { job } = this;
    const retryable = phase === 'Failed' && !NON_RETRYABLE_REASONS.has(reason ?? '');
    if (retryable && attempt - (run.attemptBase ?? 0) < 1 + job.retries && attempt < MAX_ATTEMPTS) {
      const at = finishedAt + retryDelayMs(job, attempt - (run.attemptBase ?? 0));
      this.b.push({ type: 'scheduleRetry', runId: run.id, nextAttemptAt: at });
      this.b.wake(at);
    } else {
      this.b.push({ type: 'finishRun', runId: run.id, phase, reason: phase === 'Failed' ? reason : undefined });
      this.b.finishedRuns.add(run.id);
    }
  }

  // ---- launches ------------------------------------------------------------------------------

  private planLaunches(): void {
    if (!this.reuse) {
      for (const l of this.launches) this.launch(l);
      return;
    }
    // One group, one run at a time: a recovering launch first, else the earliest waiting one,
    // and only while no attempt is live on the group.
    const recovering = this.launches.filter((l) => l.recover);
    for (const l of recovering) this.launch(l);
    if (recovering.length > 0) return;
    const live = this.runs.some(
      (r) => !this.replaced.has(r.id) && r.attempts.some((a) => isLiveAttempt(a) && !this.b.finishedAttempts.has(attemptKey(r.id, a.attempt))),
    );
    if (live) return;
    const next = [...this.launches].sort((x, y) => x.at - y.at || (x.run.id < y.run.id ? -1 : 1))[0];
    if (!next) return;
    // The group's previous attempt must have its logs archived before a PUT restarts the group.
    const name = reuseGroupName(this.job.name);
    for (const r of this.runs) {
      for (const a of r.attempts) {
        const ak = attemptKey(r.id, a.attempt);
        if (a.groupName === name && !a.groupDeleted && !a.logsArchived && !this.b.archived.has(ak)) {
          this.b.push({ type: 'archiveLogs', runId: r.id, attempt: a.attempt, ref: this.obs.refOf(a), containers: containersOf(this.obs.byName(a.groupName, a.resourceGroup), this.job) });
          this.b.archived.add(ak);
        }
      }
    }
    this.launch(next);
  }

  private launch(l: Launch): void {
    const { job } = this;
    const existing = l.recover ? l.run.attempts.find((a) => a.attempt === l.attempt) : undefined;
    const ref = existing ? this.obs.refOf(existing) : this.ref(this.reuse ? reuseGroupName(job.name) : perRunGroupName(l.run.id, l.attempt));
    let mode: LaunchMode = 'create';
    if (this.reuse && ref.name === reuseGroupName(job.name)) {
      const g = this.obs.byName(ref.name, ref.resourceGroup);
      if (!g) mode = 'create';
      else if (g.tags[TAG_SPEC_HASH] === this.input.desiredSpecHash) mode = 'update';
      else mode = this.input.reuseChange === 'inPlace' ? 'update' : 'recreate';
    }
    this.b.push({
      type: 'launchAttempt',
      runId: l.run.id,
      attempt: l.attempt,
      ref,
      mode,
      specHash: this.input.desiredSpecHash ?? '',
      recover: l.recover,
      env: runEnv({
        job: job.name,
        runId: l.run.id,
        attempt: l.attempt,
        scheduledTime: l.run.scheduledTime,
        dataIntervalStart: l.run.dataIntervalStart,
        dataIntervalEnd: l.run.dataIntervalEnd,
      }),
    });
    if (this.reuse) this.launchedOnGroup.add(groupKey(ref.resourceGroup, ref.name));
  }

  // ---- cleanup -------------------------------------------------------------------------------

  private planCleanup(): void {
    const { job, now, b, obs } = this;
    const prune = this.historyToPrune();
    for (const run of this.runs) {
      const pruning = prune.has(run.id);
      for (const a of run.attempts) {
        if (a.groupDeleted || isLiveAttempt(a) || b.finishedAttempts.has(attemptKey(run.id, a.attempt))) continue;
        const ref = obs.refOf(a);
        const k = groupKey(ref.resourceGroup, ref.name);
        // Reuse: a launch in this plan takes the group over; the executor retires this attempt.
        if (this.launchedOnGroup.has(k) || b.deleted.has(k)) continue;
        if (pruning) {
          archiveThenDelete(b, obs, job, run, a, 'History');
          continue;
        }
        const policy = a.phase === 'Succeeded' ? job.cleanup.onSuccess : job.cleanup.onFailure;
        const finishedAt = a.finishedAt ?? now;
        const ttl = job.cleanup.ttlAfterFinishedMs;
        const dueAt = policy === 'Delete' ? finishedAt : ttl !== null ? finishedAt + ttl : null;
        if (dueAt === null) continue;
        if (now >= dueAt) archiveThenDelete(b, obs, job, run, a, policy === 'Delete' ? 'Cleanup' : 'TTL');
        else b.wake(dueAt);
      }
      if (pruning) b.push({ type: 'pruneRun', runId: run.id });
    }
    planOrphans(b, obs, this.runs, job, this.launchedOnGroup);
  }

  /** Finished runs beyond the history limits (newest kept). */
  private historyToPrune(): Set<string> {
    const finished = this.runs
      .filter((r) => !isActiveRun(r) && !this.b.finishedRuns.has(r.id) && !this.cleared.has(r.id))
      // A downstream job still needs these (spec.dependsOn): kept whatever the limits say.
      .filter((r) => this.input.retainRunsAfter === undefined || r.dataIntervalEnd <= this.input.retainRunsAfter)
      .sort((a, b) => b.scheduledTime - a.scheduledTime || (a.id < b.id ? 1 : -1));
    const ok = finished.filter((r) => r.phase === 'Succeeded').slice(this.job.successfulRunsHistoryLimit);
    const bad = finished.filter((r) => r.phase === 'Failed').slice(this.job.failedRunsHistoryLimit);
    return new Set([...ok, ...bad].map((r) => r.id));
  }
}
