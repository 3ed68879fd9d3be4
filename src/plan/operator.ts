/**
 * The operator's verbs in the planner (pure): `acictl runs cancel`, `acictl clear` and
 * `acictl backfill`. The API only records a request in the job's scheduler state; the planner
 * turns it into actions here, so every write to a run still goes through the reconciler.
 *
 * - cancel: an active run's live attempt is stopped, its logs archived, the attempt and the run
 *   fail with reason Cancelled (never retried) and its group is deleted. A run that is no longer
 *   active is left alone (the request is dropped with a note).
 * - clear: a finished run runs again as a new attempt under the same run name (phase Retrying,
 *   due now); its retry budget starts afresh. An active run is left alone.
 * - backfill: the slots of the request run oldest first, at most `maxActive` of them at once under
 *   concurrencyPolicy Allow (PerRun), one at a time and only while no other run of the job is
 *   active otherwise. A slot whose run exists is skipped, unless `rerun`: then a finished run that
 *   was not created or cleared since the request is cleared. Nothing is started while suspended.
 */
import { MAX_ATTEMPTS, scheduledRunId } from '../api/names';
import type { BackfillRequest, RunRecord, SchedulerState } from '../api/runs';
import type { ResolvedJob } from '../api/types';
import type { Action } from './types';

export interface OperatorHost {
  readonly job: ResolvedJob;
  readonly runs: RunRecord[];
  push(a: Action): void;
  /** Runs this plan already ends (replaced, cancelled): no further progress for them. */
  readonly ended: Set<string>;
  /** Runs cleared in this plan (never pruned by history limits in the same plan). */
  readonly cleared: Set<string>;
  /** Stop, archive and fail the run with reason Cancelled, then delete its live group. */
  cancel(run: RunRecord): void;
  /** Record a new run for a backfill slot and launch its first attempt. */
  startBackfill(slot: number, backfillId: string): void;
  /** Launches already planned in this plan (scheduled and manual runs). */
  launchCount(): number;
  /** Whether `run` is active as read (Pending, Running, Retrying). */
  isActive(run: RunRecord): boolean;
}

export function planCancels(h: OperatorHost, state: SchedulerState | null): void {
  for (const req of state?.pendingCancels ?? []) {
    const run = h.runs.find((r) => r.id === req.run);
    if (!run || !h.isActive(run) || h.ended.has(run.id)) {
      h.push({ type: 'consumeRequest', kind: 'cancel', runId: req.run, note: run ? `run ${req.run} is not active (${run.phase})` : `run ${req.run} does not exist` });
      continue;
    }
    h.cancel(run);
    h.push({ type: 'consumeRequest', kind: 'cancel', runId: req.run });
  }
}

export function planClears(h: OperatorHost, state: SchedulerState | null): void {
  for (const req of state?.pendingClears ?? []) {
    const run = h.runs.find((r) => r.id === req.run);
    let note: string | undefined;
    if (!run) note = `run ${req.run} does not exist`;
    else if (h.isActive(run) || h.ended.has(run.id)) note = `run ${req.run} is still active (${run.phase}); nothing to clear`;
    else if (run.attempts.length >= MAX_ATTEMPTS) note = `run ${req.run} has ${MAX_ATTEMPTS} attempts, the most a run can have`;
    if (note !== undefined || !run) {
      h.push({ type: 'consumeRequest', kind: 'clear', runId: req.run, note });
      continue;
    }
    h.push({ type: 'clearRun', runId: run.id, attemptBase: lastAttemptNumber(run), requestedAt: req.requestedAt });
    h.cleared.add(run.id);
  }
}

function lastAttemptNumber(run: RunRecord): number {
  return run.attempts.reduce((m, a) => Math.max(m, a.attempt), 0);
}

/** Whether the backfill may run several slots at once (Allow on PerRun), and how many. */
export function backfillLimit(job: ResolvedJob, bf: BackfillRequest): { parallel: boolean; limit: number } {
  const parallel = job.concurrencyPolicy === 'Allow' && job.groupPolicy !== 'Reuse';
  return { parallel, limit: parallel ? Math.max(1, bf.maxActive) : 1 };
}

export function planBackfill(h: OperatorHost, bf: BackfillRequest): void {
  const { parallel, limit } = backfillLimit(h.job, bf);
  const byId = new Map(h.runs.map((r) => [r.id, r]));
  let mine = h.runs.filter((r) => r.backfill === bf.id && h.isActive(r) && !h.ended.has(r.id)).length;
  const others = h.runs.filter((r) => r.backfill !== bf.id && h.isActive(r) && !h.ended.has(r.id)).length;
  const canStart = (): boolean => (parallel ? mine < limit : mine + others + h.launchCount() === 0);
  let cursor = bf.cursor;
  while (cursor < bf.slots.length) {
    const slot = bf.slots[cursor];
    const run = byId.get(scheduledRunId(h.job.name, slot));
    if (run) {
      const touchedSince = (run.clearedAt ?? run.createdAt) >= bf.requestedAt;
      if (!bf.rerun || touchedSince || h.isActive(run) || h.ended.has(run.id) || run.attempts.length >= MAX_ATTEMPTS) {
        cursor++;
        continue;
      }
      if (!canStart()) break;
      h.push({ type: 'clearRun', runId: run.id, attemptBase: lastAttemptNumber(run), requestedAt: bf.requestedAt, backfill: bf.id });
      h.cleared.add(run.id);
    } else {
      if (!canStart()) break;
      h.startBackfill(slot, bf.id);
    }
    mine++;
    cursor++;
  }
  if (cursor !== bf.cursor) h.push({ type: 'advanceBackfill', id: bf.id, cursor });
  if (cursor >= bf.slots.length && mine === 0) h.push({ type: 'endBackfill', id: bf.id, slots: bf.slots.length });
}
