/**
 * Defaults of the manifest API (DESIGN §2) and the resolution of a validated ContainerJob into a
 * ResolvedJob. Every default here is also the `default` of the same field in
 * `schemas/containerjob.v1.schema.json`; test/manifest/defaults.test.ts keeps the two equal.
 *
 * resolveJob expects a job that already passed validation (durations parse, times are RFC 3339);
 * it throws on input the validator would have rejected rather than guessing.
 */
import type { ContainerJob, ResolvedJob } from './types';
import { parseDuration } from './duration';

/** Defaults as they are written in a manifest (durations as strings). */
export const SPEC_DEFAULTS = {
  schedule: null,
  timeZone: 'UTC',
  startTime: null,
  endTime: null,
  suspend: false,
  catchup: false,
  maxCatchupRuns: 10,
  startingDeadlineSeconds: 300,
  concurrencyPolicy: 'Forbid',
  retries: 0,
  retryDelay: '1m',
  retryBackoff: { factor: 2, maxDelay: '10m' },
  timeout: null,
  groupPolicy: 'PerRun',
  failIfExists: true,
  cleanup: { onSuccess: 'Delete', onFailure: 'Keep', ttlAfterFinished: '1h' },
  successfulRunsHistoryLimit: 3,
  failedRunsHistoryLimit: 1,
  dependsOn: [],
  dependsOnPast: false,
} as const;

export const TEMPLATE_DEFAULTS = {
  subscriptionId: null,
  osType: 'Linux',
  restartPolicy: 'Never',
  priority: 'Regular',
} as const;

/**
 * ARM location names are lower-case without spaces; users often write the display name.
 * "East US" → "eastus", "West Europe" → "westeurope", "eastus2" stays.
 */
export function normalizeLocation(location: string): string {
  return location.replace(/\s+/g, '').toLowerCase();
}

/** RFC 3339 instant → epoch ms; null/undefined stay null. Throws on an unparseable value. */
export function parseInstant(value: string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new Error(`invalid time "${value}": expected RFC 3339, e.g. 2020-12-01T00:00:00Z`);
  return ms;
}

function durationOrNull(value: string | null | undefined, fallback: string | null): number | null {
  const text = value === undefined ? fallback : value;
  return text === null ? null : parseDuration(text);
}

function deepCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Applies every default of DESIGN §2 and normalises units. Pure; never mutates `job`. */
export function resolveJob(job: ContainerJob): ResolvedJob {
  const s = job.spec;
  const d = SPEC_DEFAULTS;
  const template = deepCopy(s.template);
  const startingDeadlineSeconds = s.startingDeadlineSeconds === undefined ? d.startingDeadlineSeconds : s.startingDeadlineSeconds;
  return {
    name: job.metadata.name,
    labels: { ...(job.metadata.labels ?? {}) },
    schedule: s.schedule ?? d.schedule,
    timeZone: s.timeZone ?? d.timeZone,
    startTime: parseInstant(s.startTime),
    endTime: parseInstant(s.endTime),
    suspend: s.suspend ?? d.suspend,
    catchup: s.catchup ?? d.catchup,
    maxCatchupRuns: s.maxCatchupRuns ?? d.maxCatchupRuns,
    startingDeadlineMs: startingDeadlineSeconds === null ? null : startingDeadlineSeconds * 1000,
    concurrencyPolicy: s.concurrencyPolicy ?? d.concurrencyPolicy,
    retries: s.retries ?? d.retries,
    retryDelayMs: parseDuration(s.retryDelay ?? d.retryDelay),
    retryBackoffFactor: s.retryBackoff?.factor ?? d.retryBackoff.factor,
    retryMaxDelayMs: parseDuration(s.retryBackoff?.maxDelay ?? d.retryBackoff.maxDelay),
    timeoutMs: durationOrNull(s.timeout, d.timeout),
    groupPolicy: s.groupPolicy ?? d.groupPolicy,
    failIfExists: s.failIfExists ?? d.failIfExists,
    cleanup: {
      onSuccess: s.cleanup?.onSuccess ?? d.cleanup.onSuccess,
      onFailure: s.cleanup?.onFailure ?? d.cleanup.onFailure,
      ttlAfterFinishedMs: durationOrNull(s.cleanup?.ttlAfterFinished, d.cleanup.ttlAfterFinished),
    },
    successfulRunsHistoryLimit: s.successfulRunsHistoryLimit ?? d.successfulRunsHistoryLimit,
    failedRunsHistoryLimit: s.failedRunsHistoryLimit ?? d.failedRunsHistoryLimit,
    dependsOn: [...new Set((s.dependsOn ?? []).map((x) => x.job))],
    dependsOnPast: s.dependsOnPast ?? d.dependsOnPast,
    template: {
      ...template,
      subscriptionId: template.subscriptionId ?? TEMPLATE_DEFAULTS.subscriptionId,
      location: normalizeLocation(template.location),
      osType: template.osType ?? TEMPLATE_DEFAULTS.osType,
      restartPolicy: template.restartPolicy ?? TEMPLATE_DEFAULTS.restartPolicy,
      priority: template.priority ?? TEMPLATE_DEFAULTS.priority,
    },
  };
}
