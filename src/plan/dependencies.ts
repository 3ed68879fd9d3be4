/**
 * Dependencies per data interval (spec.dependsOn) and dependsOnPast: pure. Given what the
 * reconciler read about each upstream job, is a run of the downstream job for data interval
 * [start, end) ready to start, still waiting, or blocked by a failure?
 *
 * The upstream runs a downstream interval needs are those of the upstream's slots whose data
 * interval overlaps it: with equal schedules the same slot; a daily job on an hourly one needs the
 * 24 hourly runs of its day; an hourly job on a daily one needs the run of that day. Each needed
 * slot's run (by its deterministic name) must be Succeeded:
 * - Failed or UpstreamFailed → blocked (UpstreamFailed): released when that run is cleared and succeeds;
 * - active → waiting (UpstreamRunning);
 * - no run, slot at or before the upstream's anchor (it was missed, or never run because the upstream
 *   came later) → blocked (UpstreamMissed): released when it is backfilled and succeeds;
 * - no run yet → waiting (UpstreamPending), or UpstreamSuspended while the upstream is suspended;
 * - the upstream job is absent or being deleted → waiting (UpstreamMissing); without a usable
 *   spec (invalid, no last good one) → waiting (UpstreamInvalid); without a schedule → waiting
 *   (UpstreamUnscheduled). The downstream's startingDeadlineSeconds bounds every wait.
 * dependsOnPast: the run of the previous slot of the same job must be Succeeded; Failed →
 * blocked (PreviousFailed), active → waiting (PreviousRunning), no run → no constraint.
 */
import { scheduledRunId } from '../api/names';
import type { RunPhase, RunRecord } from '../api/runs';
import type { SlotSchedule } from './types';

/** Most upstream slots one downstream interval may need (a bound on work, not a rule). */
export const MAX_UPSTREAM_SLOTS = 2000;

/** What the planner is told about one upstream job. */
export interface UpstreamView {
  job: string;
  /** Ready: usable spec (possibly the last good one of an invalid source). */
  status: 'Ready' | 'Missing' | 'Deleting' | 'Invalid';
  suspended: boolean;
  /** Null for a manual-only upstream (or when not Ready). */
  schedule: SlotSchedule | null;
  /** The upstream's scheduler anchor: slots at or before it were handled (run or missed). */
  anchor: number | null;
  /** Phase of the upstream's runs, by run id (only the scheduled ones matter). */
  runs: ReadonlyMap<string, RunPhase>;
}

export type Gate =
  | { kind: 'ready' }
  | { kind: 'waiting'; reason: string; message: string }
  | { kind: 'blocked'; reason: string; message: string };

/** The upstream slots whose data interval overlaps [start, end), oldest first. */
export function neededSlots(schedule: SlotSchedule, start: number, end: number, limit = MAX_UPSTREAM_SLOTS): number[] {
  const out: number[] = [];
  let t = schedule.next(start);
  while (t !== null && out.length < limit) {
    if (schedule.dataInterval(t).start >= end) break;
    out.push(t);
    t = schedule.next(t);
  }
  return out;
}

function isActivePhase(p: RunPhase): boolean {
  return p === 'Waiting' || p === 'Pending' || p === 'Running' || p === 'Retrying';
}

function upstreamGate(u: UpstreamView, start: number, end: number): Gate {
  if (u.status === 'Missing' || u.status === 'Deleting') return { kind: 'waiting', reason: 'UpstreamMissing', message: `upstream job ${u.job} ${u.status === 'Missing' ? 'does not exist' : 'is being deleted'}` };
  if (u.status === 'Invalid') return { kind: 'waiting', reason: 'UpstreamInvalid', message: `upstream job ${u.job} has no valid spec` };
  if (!u.schedule) return { kind: 'waiting', reason: 'UpstreamUnscheduled', message: `upstream job ${u.job} has no schedule, so no run covers a data interval` };
  let waiting: Gate | null = null;
  for (const slot of neededSlots(u.schedule, start, end)) {
    const id = scheduledRunId(u.job, slot);
    const phase = u.runs.get(id);
    if (phase === 'Succeeded') continue;
    if (phase === 'Failed' || phase === 'UpstreamFailed') return { kind: 'blocked', reason: 'UpstreamFailed', message: `upstream run ${id} ${phase === 'Failed' ? 'failed' : 'is blocked by its own upstream'}; clear it to go on` };
    if (phase !== undefined && isActivePhase(phase)) {
      waiting ??= { kind: 'waiting', reason: 'UpstreamRunning', message: `waiting for upstream run ${id} (${phase})` };
      continue;
    }
    if (u.anchor !== null && slot <= u.anchor) return { kind: 'blocked', reason: 'UpstreamMissed', message: `upstream slot ${id} has no run (missed); backfill it to go on` };
    waiting ??= u.suspended
      ? { kind: 'waiting', reason: 'UpstreamSuspended', message: `upstream job ${u.job} is suspended; waiting for run ${id}` }
      : { kind: 'waiting', reason: 'UpstreamPending', message: `waiting for upstream run ${id}` };
  }
  return waiting ?? { kind: 'ready' };
}

export interface GateInput {
  upstream: UpstreamView[];
  /** dependsOnPast: the job's own schedule and runs. */
  dependsOnPast: boolean;
  schedule: SlotSchedule | null;
  runs: RunRecord[];
}

/** Whether the run of `slot` (data interval [start, end)) may start. */
export function gate(i: GateInput, slot: number, start: number, end: number): Gate {
  let waiting: Gate | null = null;
  if (i.dependsOnPast && i.schedule) {
    const prev = i.schedule.latest(slot - 1);
    const prevRun = prev === null ? undefined : i.runs.find((r) => r.slot === prev && !r.manual);
    if (prevRun && prevRun.phase !== 'Succeeded') {
      if (prevRun.phase === 'Failed' || prevRun.phase === 'UpstreamFailed') return { kind: 'blocked', reason: 'PreviousFailed', message: `the previous run ${prevRun.id} did not succeed (dependsOnPast); clear it to go on` };
      waiting = { kind: 'waiting', reason: 'PreviousRunning', message: `waiting for the previous run ${prevRun.id} (dependsOnPast)` };
    }
  }
  for (const u of i.upstream) {
    const g = upstreamGate(u, start, end);
    if (g.kind === 'blocked') return g;
    if (g.kind === 'waiting') waiting ??= g;
  }
  return waiting ?? { kind: 'ready' };
}
