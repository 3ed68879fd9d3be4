/**
 * Tag keys, run names and container-group names: the deterministic naming of DESIGN §3.
 * A PerRun group name is derived from (job, slot, attempt) only, so that it is the lock that
 * prevents a second run for the same slot after a crash or a retried request.
 */

export const TAG_MANAGED_BY = 'acictl.dev/managed-by';
export const TAG_JOB = 'acictl.dev/job';
export const TAG_RUN = 'acictl.dev/run';
export const TAG_SCHEDULED_TIME = 'acictl.dev/scheduled-time';
export const TAG_SPEC_HASH = 'acictl.dev/spec-hash';
/** Extension of the contract: the attempt number of the run the group carries. */
export const TAG_ATTEMPT = 'acictl.dev/attempt';

/** The finalizer every job carries until the controller has deleted its container groups. */
export const FINALIZER_CLEANUP = 'acictl.dev/cleanup';

/** ACI group/container names: 1–63 characters, lower-case alphanumerics and single hyphens. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const MAX_GROUP_NAME = 63;
/** Longest run-name suffix: "-m" + 14 digits (manual) + "-a" + 2 digits (attempt up to 99). */
export const MAX_RUN_SUFFIX = 20;
/** A job name must leave room for the longest run suffix inside 63 characters. */
export const MAX_JOB_NAME = MAX_GROUP_NAME - MAX_RUN_SUFFIX;
export const MAX_ATTEMPTS = 99;

export function isValidGroupName(name: string): boolean {
  return name.length >= 1 && name.length <= MAX_GROUP_NAME && DNS_LABEL.test(name) && !name.includes('--');
}

function stamp(ms: number, withSeconds: boolean): string {
  const iso = new Date(ms).toISOString(); // 2026-11-24T02:00:05.000Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  return withSeconds ? digits : digits.slice(0, 12);
}

/**
 * The run id of a scheduled slot: `JOB-yyyyMMddHHmm` in UTC, with seconds appended only when the
 * slot is not on a whole minute (schedules with a seconds field).
 */
export function scheduledRunId(job: string, slotMs: number): string {
  const withSeconds = new Date(slotMs).getUTCSeconds() !== 0 || slotMs % 1000 !== 0;
  return `${job}-${stamp(slotMs, withSeconds)}`;
}

/** The run id of a manual run: `JOB-myyyyMMddHHmmss`, from the instant the trigger was accepted. */
export function manualRunId(job: string, requestedMs: number): string {
  return `${job}-m${stamp(requestedMs, true)}`;
}

/** PerRun: the group of attempt 1 is named after the run; a retry gets `-aN`. */
export function perRunGroupName(runId: string, attempt: number): string {
  return attempt <= 1 ? runId : `${runId}-a${attempt}`;
}

/** Reuse: one group named after the job. */
export function reuseGroupName(job: string): string {
  return job;
}
