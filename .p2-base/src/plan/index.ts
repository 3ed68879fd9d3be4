/** The pure reconcile planner (DESIGN §1: no I/O, no wall clock). */
export { plan, isActiveRun } from './plan';
export { assessGroup, type Assessment } from './assess';
export { pollIntervalMs, retryDelayMs, scheduleKey, POLL_MIN_MS, POLL_MAX_MS, NON_RETRYABLE_REASONS } from './policy';
export { runEnv, isoUtc, type RunEnvInput } from './run-env';
export type { Action, ActionType, DeleteReason, LaunchMode, MissedReason, PlanInput, PlanResult, SlotSchedule, StopReason } from './types';
