/** Run records and per-job scheduler state: what the store keeps and the planner reads. */
import type { GroupTemplate } from './types';

export type AttemptPhase =
  | 'Creating' // recorded before the PUT is sent; the deterministic group name makes a repeat harmless
  | 'Running'
  | 'Succeeded'
  | 'Failed';

export interface AttemptRecord {
  attempt: number;
  groupName: string;
  phase: AttemptPhase;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  exitCode?: number | null;
  /** Machine-readable reason of a failure: ExitCode, Timeout, Replaced, InaccessibleImage, Quota, Evicted, … */
  reason?: string;
  message?: string;
  /** Set once the attempt's logs are in the store; a group is deleted only after this. */
  logsArchived: boolean;
  /** Set once the group is gone (deleted by us, or found absent after finishing). */
  groupDeleted: boolean;
  /** Spec hash of the template that started this attempt. */
  specHash?: string;
  /** Where the attempt's group lives (recorded at launch; the job's template may move later). */
  subscriptionId?: string;
  resourceGroup?: string;
  /** Last time the controller read the group's instance view for this attempt (adaptive polling). */
  lastObservedAt?: number;
  /** Per container: how many complete log lines were already emitted to the controller log. */
  logLinesEmitted?: Record<string, number>;
  /** Observations (GETs) of the running attempt so far; logs are fetched on every other one. */
  observations?: number;
}

/**
 * Waiting: the slot is due but its upstream runs (spec.dependsOn) or the previous slot
 * (dependsOnPast) have not succeeded yet. UpstreamFailed: one of them failed; the run starts
 * once it is cleared and succeeds. Waiting counts as active, UpstreamFailed does not.
 */
export type RunPhase = 'Waiting' | 'UpstreamFailed' | 'Pending' | 'Running' | 'Retrying' | 'Succeeded' | 'Failed';

export interface RunRecord {
  /** Deterministic id: see api/names.ts. */
  id: string;
  job: string;
  /** Scheduled slot (epoch ms); null for a manual run. */
  slot: number | null;
  manual: boolean;
  /** The slot, or the instant a manual trigger was accepted. */
  scheduledTime: number;
  dataIntervalStart: number;
  dataIntervalEnd: number;
  phase: RunPhase;
  attempts: AttemptRecord[];
  createdAt: number;
  finishedAt?: number;
  /** When phase is Retrying: the earliest instant of the next attempt. */
  nextAttemptAt?: number;
  /** Waiting / UpstreamFailed: why (UpstreamRunning, UpstreamPending, UpstreamMissing, UpstreamFailed, PreviousFailed, …) and a sentence. */
  waitReason?: string;
  waitMessage?: string;
  /** When the run was last cleared (`acictl clear`): it then runs again as a new attempt. */
  clearedAt?: number;
  /** Attempts made before the last clear: the retry budget counts from here. */
  attemptBase?: number;
  /** Started by a backfill (`acictl backfill`), with that backfill's id. */
  backfill?: string;
}

/**
 * An accepted `acictl backfill`: the slots to run, oldest first, and how far the planner got.
 * Slots before `cursor` have been started, cleared (`rerun`) or skipped (already run).
 */
export interface BackfillRequest {
  id: string;
  from: number;
  to: number;
  slots: number[];
  cursor: number;
  maxActive: number;
  rerun: boolean;
  requestedAt: number;
}

/** An accepted `acictl clear RUN` or `acictl runs cancel RUN`, not yet acted on. */
export interface RunRequest {
  run: string;
  requestedAt: number;
}

/** Scheduler bookkeeping per job, kept by the store and passed to the planner. */
export interface SchedulerState {
  /**
   * Slots at or before this instant are never due. Set to "now" when a job is first seen and when
   * its schedule or time zone changes (no retroactive runs after an edit), and advanced past each
   * slot that was run or recorded as missed.
   */
  anchor: number;
  /** Schedule + time zone the anchor belongs to; a change re-anchors. */
  scheduleKey: string;
  lastScheduleTime: number | null;
  lastSuccessfulTime: number | null;
  /** Runtime override of spec.suspend (acictl suspend/resume); null = follow the spec. */
  suspendOverride: boolean | null;
  /** When the job became suspended (slots while suspended are missed, not run on resume). */
  suspendedSince: number | null;
  /** Accepted manual triggers not yet turned into runs (ids from api/names.ts manualRunId). */
  pendingManual: { id: string; requestedAt: number }[];
  missedCount: number;
  /**
   * Reuse: the template and spec hash last PUT to the job's group, so the next change can be
   * classified (in place vs recreate) without reading the group back.
   */
  reuseApplied?: { specHash: string; template: GroupTemplate } | null;
  /** The backfill in progress (at most one per job). */
  backfill?: BackfillRequest | null;
  /** Accepted clears (re-run a finished run as a new attempt) and cancels (stop an active run). */
  pendingClears?: RunRequest[];
  pendingCancels?: RunRequest[];
}

/** The scheduler state of a job seen for the first time (or touched by a trigger before that). */
export function newSchedulerState(anchor: number, scheduleKey: string): SchedulerState {
  return {
    anchor,
    scheduleKey,
    lastScheduleTime: null,
    lastSuccessfulTime: null,
    suspendOverride: null,
    suspendedSince: null,
    pendingManual: [],
    missedCount: 0,
  };
}
