/**
 * The enqueue side of notifications. The reconciler calls these hooks while it records the change
 * that is worth a notification (a run finally Failed, a retry scheduled, slots missed, a success
 * after a failure), INSIDE the store transaction of that change: the outbox rows commit with it or
 * not at all, so a crash can neither lose the notification nor create it twice. Ids are
 * deterministic (job/run/attempt/event/target, job/missed/slot/target, job/invalid/since/target),
 * and `enqueueNotification` ignores an id it already has, so replaying a decision after a restart
 * enqueues nothing new.
 *
 * What is stored: the message (no secret) and the target as written in the manifest (secret
 * REFERENCES only). Values are read by the dispatcher at send time.
 */
import type { NotifyEvent } from '../api/types';
import type { RunRecord } from '../api/runs';
import type { Store, StoredJob } from '../store/types';
import { resolveTargets, type ResolvedTarget } from './targets';

/** What a receiver gets (the webhook body, the e-mail's facts). `link` is added at send time. */
export interface NotificationMessage {
  /** The delivery id (= the outbox id): the same on every retry, for de-duplication. */
  id: string;
  event: NotifyEvent;
  job: string;
  run: string | null;
  attempt: number | null;
  /** The scheduled slot (ISO 8601), or null (a manual run, an invalid manifest). */
  slot: string | null;
  /** Failed | Retrying | Succeeded | Missed | Invalid */
  outcome: string;
  reason: string;
  message: string;
  /** When it happened (ISO 8601). */
  time: string;
  /** Retrying: when the next attempt starts. */
  nextAttemptAt?: string;
  /** Missed: how many slots. */
  missed?: number;
}

/** An outbox row's payload: the message and where it goes. */
export interface OutboxPayload {
  message: NotificationMessage;
  target: ResolvedTarget;
}

const OUTCOME: Record<NotifyEvent, string> = { failure: 'Failed', retry: 'Retrying', recovery: 'Succeeded', missed: 'Missed', invalid: 'Invalid' };

export interface NotifyHooks {
  /** A run's final phase was just recorded (same transaction). */
  runFinished(job: string, runId: string, phase: 'Succeeded' | 'Failed'): Promise<void>;
  /** An attempt failed and another is scheduled (same transaction). */
  retryScheduled(job: string, runId: string, nextAttemptAt: number): Promise<void>;
  /** Slots up to `slot` were recorded as missed (same transaction). */
  missed(job: string, slot: number, count: number, reason: string): Promise<void>;
  /** The reconciler read this job: an `Invalid` condition (True) is notified once per transition. */
  jobSeen(job: StoredJob): Promise<void>;
}

export interface NotifierOptions {
  store: Store;
  now: () => number;
  /** Called after a row was inserted (the dispatcher looks soon; it flushes the store before sending). */
  onEnqueued?: () => void;
}

export class Notifier implements NotifyHooks {
  /** Invalid transitions already enqueued (or found enqueued) by this process: saves a write per reconcile. */
  private readonly invalidSeen = new Set<string>();

  constructor(private readonly o: NotifierOptions) {}

  async runFinished(job: string, runId: string, phase: 'Succeeded' | 'Failed'): Promise<void> {
    const stored = await this.targetsOf(job);
    if (!stored) return;
    const event: NotifyEvent = phase === 'Failed' ? 'failure' : 'recovery';
    if (!stored.targets.some((t) => t.on.includes(event))) return;
    const { store } = this.o;
    const run = await store.getRun(runId);
    if (!run) return;
    if (event === 'recovery' && !(await this.followsFailure(run))) return;
    const last = run.attempts[run.attempts.length - 1];
    const reason = phase === 'Failed' ? (last?.reason ?? 'Failed') : 'Recovered';
    const message =
      phase === 'Failed'
        ? `run ${run.id} failed${last?.message ? `: ${last.message}` : last?.exitCode != null ? `: exit code ${last.exitCode}` : ''}`
        : `run ${run.id} succeeded after a failed run`;
    await this.enqueue(stored.targets, event, job, `${run.id}/${last?.attempt ?? 0}`, (id) => ({
      ...this.base(id, event, job, run, last?.attempt ?? null),
      reason,
      message,
    }));
  }

  async retryScheduled(job: string, runId: string, nextAttemptAt: number): Promise<void> {
    const stored = await this.targetsOf(job);
    if (!stored || !stored.targets.some((t) => t.on.includes('retry'))) return;
    const run = await this.o.store.getRun(runId);
    if (!run) return;
    const last = run.attempts[run.attempts.length - 1];
    await this.enqueue(stored.targets, 'retry', job, `${run.id}/${last?.attempt ?? 0}`, (id) => ({
      ...this.base(id, 'retry', job, run, last?.attempt ?? null),
      reason: last?.reason ?? 'Failed',
      message: `attempt ${last?.attempt ?? '?'} of run ${run.id} failed${last?.message ? `: ${last.message}` : ''}; next attempt at ${new Date(nextAttemptAt).toISOString()}`,
      nextAttemptAt: new Date(nextAttemptAt).toISOString(),
    }));
  }

  async missed(job: string, slot: number, count: number, reason: string): Promise<void> {
    const stored = await this.targetsOf(job);
    if (!stored || !stored.targets.some((t) => t.on.includes('missed'))) return;
    const slotIso = new Date(slot).toISOString();
    await this.enqueue(stored.targets, 'missed', job, `missed/${slot}`, (id) => ({
      id,
      event: 'missed',
      job,
      run: null,
      attempt: null,
      slot: slotIso,
      outcome: OUTCOME.missed,
      reason,
      message: `${count} slot(s) up to ${slotIso} missed (${reason})`,
      time: new Date(this.o.now()).toISOString(),
      missed: count,
    }));
  }

  async jobSeen(job: StoredJob): Promise<void> {
    if (!job.spec?.notify?.length) return;
    const cond = job.status?.conditions?.find((c) => c.type === 'Invalid' && c.status === 'True');
    if (!cond) return;
    const since = Date.parse(cond.lastTransitionTime);
    const key = `${job.name}/invalid/${Number.isFinite(since) ? since : 0}`;
    if (this.invalidSeen.has(key)) return;
    const targets = resolveTargets(job.spec).filter((t) => t.on.includes('invalid'));
    if (targets.length > 0) {
      await this.o.store.transaction(() =>
        this.enqueue(targets, 'invalid', job.name, `invalid/${Number.isFinite(since) ? since : 0}`, (id) => ({
          id,
          event: 'invalid',
          job: job.name,
          run: null,
          attempt: null,
          slot: null,
          outcome: OUTCOME.invalid,
          reason: cond.reason,
          message: `${cond.message} (the last good spec stays in effect)`,
          time: cond.lastTransitionTime,
        })),
      );
    }
    this.invalidSeen.add(key);
    if (this.invalidSeen.size > 10_000) this.invalidSeen.clear();
  }

  // ---- internals -------------------------------------------------------------------------------

  private async targetsOf(job: string): Promise<{ targets: ResolvedTarget[] } | undefined> {
    const stored = await this.o.store.getJob(job);
    // a job being deleted: its runs end as JobDeleted, which nobody needs to be told about
    if (!stored?.spec?.notify?.length || stored.deletionTimestamp) return undefined;
    const targets = resolveTargets(stored.spec);
    return targets.length > 0 ? { targets } : undefined;
  }

  /** Whether the job's latest finished run before `run` failed (recovery = the first success after a failure). */
  private async followsFailure(run: RunRecord): Promise<boolean> {
    const finished = (await this.o.store.listRuns(run.job)).filter((r) => r.id !== run.id && (r.phase === 'Succeeded' || r.phase === 'Failed') && r.finishedAt !== undefined);
    let prev: RunRecord | undefined;
    for (const r of finished) if (!prev || r.finishedAt! > prev.finishedAt! || (r.finishedAt === prev.finishedAt && r.scheduledTime > prev.scheduledTime)) prev = r;
    return prev?.phase === 'Failed';
  }

  private base(id: string, event: NotifyEvent, job: string, run: RunRecord, attempt: number | null): Omit<NotificationMessage, 'reason' | 'message'> {
    return {
      id,
      event,
      job,
      run: run.id,
      attempt,
      slot: run.slot === null ? null : new Date(run.slot).toISOString(),
      outcome: OUTCOME[event],
      time: new Date(this.o.now()).toISOString(),
    };
  }

  /** One row per target that wants `event`, id `${job}/${key}/${event}/${target}` (key: run/attempt, missed/slot, …). */
  private async enqueue(targets: ResolvedTarget[], event: NotifyEvent, job: string, key: string, make: (id: string) => NotificationMessage): Promise<void> {
    const now = this.o.now();
    let added = false;
    for (const target of targets) {
      if (!target.on.includes(event)) continue;
      const id = event === 'missed' || event === 'invalid' ? `${job}/${key}/${target.name}` : `${job}/${key}/${event}/${target.name}`;
      const payload: OutboxPayload = { message: make(id), target };
      const inserted = await this.o.store.enqueueNotification({
        id,
        job,
        event,
        target: target.name,
        payload: JSON.stringify(payload),
        createdAt: now,
        state: 'Pending',
        attempts: 0,
        nextAttemptAt: now,
      });
      added ||= inserted;
    }
    if (added) this.o.onEnqueued?.();
  }
}
