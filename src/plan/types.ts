/**
 * Input and output of the pure planner. The planner sees one job at a time: its resolved spec (or
 * null when it is gone / being deleted), its scheduler state, its run records and the container
 * groups observed for it, and answers with an ordered list of typed actions plus the instant it
 * next needs to be asked again.
 */
import type { GroupRef, ObservedGroup } from '../api/observed';
import type { RunRecord, SchedulerState } from '../api/runs';
import type { ResolvedJob } from '../api/types';
import type { UpstreamView } from './dependencies';

/** The part of a compiled schedule (src/schedule) the planner uses. */
export interface SlotSchedule {
  next(afterMs: number): number | null;
  latest(atMs: number): number | null;
  between(fromExclusive: number, toInclusive: number, limit: number): number[];
  dataInterval(slot: number): { start: number; end: number };
}

export interface PlanInput {
  jobName: string;
  /** The resolved desired job; null when the job is absent or has a deletionTimestamp. */
  job: ResolvedJob | null;
  /** The job's compiled schedule; null for manual-only jobs, invalid schedules and gone jobs. */
  schedule: SlotSchedule | null;
  /** Null when the job was never seen before. */
  state: SchedulerState | null;
  runs: RunRecord[];
  /** Groups of this job owned by this controller (list entries, or GET results with instance view). */
  observed: ObservedGroup[];
  /** Spec hash of the desired template (null when the job is gone). */
  desiredSpecHash: string | null;
  /**
   * Reuse: what moving the job's group from its current spec to the desired one takes, as
   * classified by the caller (aci/classify.ts). Consulted only when the group's spec-hash tag
   * differs from `desiredSpecHash`; absent = unknown, which is planned as a recreate (always safe
   * between runs).
   */
  reuseChange?: 'inPlace' | 'recreate';
  defaultSubscriptionId: string;
  now: number;
  /**
   * When the desired object was first stored. A job seen for the first time is anchored there
   * rather than at `now`, so a slot that passed between the job's arrival and its first reconcile
   * (a controller killed during start-up, a long start-up queue) is still due under the usual
   * missed-slot rules. Absent = `now`.
   */
  jobCreatedAt?: number;
  /** spec.dependsOn: what the reconciler read about each upstream job (src/plan/dependencies.ts). */
  upstream?: UpstreamView[];
  /**
   * Runs whose data interval ends after this instant are needed by a downstream job
   * (spec.dependsOn elsewhere) and are not pruned by the history limits. Absent: no downstream.
   */
  retainRunsAfter?: number;
}

export type MissedReason =
  /** catchup: false — only the latest missed slot may run. */
  | 'NotCatchup'
  /** catchup: true — more missed slots than maxCatchupRuns. */
  | 'CatchupLimit'
  /** The slot could not start within startingDeadlineSeconds. */
  | 'DeadlineExceeded'
  /** concurrencyPolicy Replace: an older due slot superseded by a newer one. */
  | 'Superseded'
  /** concurrencyPolicy Forbid: the previous run was still active until the slot's deadline passed (skipped by concurrency policy). */
  | 'ConcurrencyForbid';

export type StopReason = 'Timeout' | 'Replaced' | 'Cancelled';
export type DeleteReason = 'Cleanup' | 'TTL' | 'History' | 'Orphan' | 'JobDeleted' | 'Cancelled';

/**
 * How a launch reaches ACI.
 * - create: PUT with ifNoneMatch (a repeat can never restart a run: it answers Conflict).
 * - update: Reuse — PUT over our finished group with the new run's tags and env (a PUT restarts it).
 * - recreate: Reuse — delete our finished group, then create.
 */
export type LaunchMode = 'create' | 'update' | 'recreate';

export type Action =
  /** First sight of the job: anchor at now (no retroactive runs). */
  | { type: 'initState'; anchor: number; scheduleKey: string }
  /** Schedule/time zone edited, or resumed from suspend: slots before `anchor` are never due. */
  | { type: 'reanchor'; anchor: number; scheduleKey: string; reason: 'ScheduleChanged' | 'Resumed'; missed: number }
  /** The job became suspended at `since`. */
  | { type: 'setSuspended'; since: number }
  /** A due slot whose run already exists (e.g. recorded before a crash): just move the anchor. */
  | { type: 'advanceAnchor'; anchor: number }
  /** `count` slots up to and including `slot` are recorded as missed; the anchor moves to `slot`. */
  | { type: 'recordMissed'; slot: number; count: number; reason: MissedReason }
  /** Create the run record (and, for a slot, advance the anchor; for a manual run, consume the trigger). */
  | {
      type: 'startRun';
      runId: string;
      slot: number | null;
      manual: boolean;
      scheduledTime: number;
      dataIntervalStart: number;
      dataIntervalEnd: number;
      /** Started by this backfill: the anchor and lastScheduleTime are left alone. */
      backfill?: string;
      /** The run is recorded Waiting / UpstreamFailed (its dependencies are not met) instead of Pending. */
      hold?: { phase: 'Waiting' | 'UpstreamFailed'; reason: string; message: string };
    }
  /** A Waiting run's dependencies changed state: it waits for another reason, or is now UpstreamFailed. */
  | { type: 'holdRun'; runId: string; phase: 'Waiting' | 'UpstreamFailed'; reason: string; message: string }
  /** A Waiting / UpstreamFailed run's dependencies are met: it becomes Pending and launches. */
  | { type: 'releaseRun'; runId: string }
  /** `acictl clear`: the finished run runs again as attempt `attemptBase + 1` (phase Retrying, due now). */
  | { type: 'clearRun'; runId: string; attemptBase: number; requestedAt: number; backfill?: string }
  /** Drop an operator request (clear / cancel) once acted on; `note` says why when nothing was done. */
  | { type: 'consumeRequest'; kind: 'clear' | 'cancel'; runId: string; note?: string }
  /** The backfill got to `cursor` (slots before it are started, cleared or skipped). */
  | { type: 'advanceBackfill'; id: string; cursor: number }
  /** Every slot of the backfill was handled and none of its runs is active any more. */
  | { type: 'endBackfill'; id: string; slots: number }
  /**
   * Record the attempt (phase Creating) BEFORE the ARM call, then create/update its group.
   * `recover`: the attempt was already recorded (a crash or an error after the record): the
   * executor first checks whether the group already carries this run and attempt and adopts it.
   */
  | {
      type: 'launchAttempt';
      runId: string;
      attempt: number;
      ref: GroupRef;
      mode: LaunchMode;
      specHash: string;
      recover: boolean;
      env: Record<string, string>;
    }
  /** GET the group's instance view (and emit new log lines). */
  | { type: 'observe'; runId: string; attempt: number; ref: GroupRef }
  | { type: 'stopGroup'; runId: string; attempt: number; ref: GroupRef; reason: StopReason }
  /** Store the attempt's full logs (must precede any delete of its group). */
  | { type: 'archiveLogs'; runId: string; attempt: number; ref: GroupRef; containers: string[] }
  | {
      type: 'finishAttempt';
      runId: string;
      attempt: number;
      phase: 'Succeeded' | 'Failed';
      exitCode?: number | null;
      reason?: string;
      message?: string;
    }
  | { type: 'scheduleRetry'; runId: string; nextAttemptAt: number }
  | { type: 'finishRun'; runId: string; phase: 'Succeeded' | 'Failed'; reason?: string }
  /** Delete one of our groups (absent is success). runId/attempt name the record to mark. */
  | { type: 'deleteGroup'; ref: GroupRef; runId?: string; attempt?: number; reason: DeleteReason }
  | { type: 'pruneRun'; runId: string }
  /** The job is gone and nothing of it is left in ACI: drop the finalizer and the object. */
  | { type: 'finalize' };

export type ActionType = Action['type'];

export interface PlanResult {
  actions: Action[];
  /** When the job next needs planning even if nothing changes (capped by WAIT_CAP_MS); null = never. */
  wakeAt: number | null;
}
