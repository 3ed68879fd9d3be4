/** The ACICTL_* environment every run receives (DESIGN §2). Pure. */

export interface RunEnvInput {
  job: string;
  runId: string;
  attempt: number;
  scheduledTime: number;
  dataIntervalStart: number;
  dataIntervalEnd: number;
}

/** Instants are ISO 8601 in UTC (`2026-11-24T02:00:00Z`, milliseconds only when not whole seconds). */
export function isoUtc(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

export function runEnv(r: RunEnvInput): Record<string, string> {
  return {
    ACICTL_JOB: r.job,
    ACICTL_RUN_ID: r.runId,
    ACICTL_ATTEMPT: String(r.attempt),
    ACICTL_SCHEDULED_TIME: isoUtc(r.scheduledTime),
    ACICTL_DATA_INTERVAL_START: isoUtc(r.dataIntervalStart),
    ACICTL_DATA_INTERVAL_END: isoUtc(r.dataIntervalEnd),
  };
}
