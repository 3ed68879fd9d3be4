/** Small pure policies of the planner: polling cadence, retry delays, schedule identity. */
import type { ResolvedJob } from '../api/types';

/** First observation of a fresh attempt: quick, so short jobs finish promptly. */
export const POLL_MIN_MS = 2_000;
/** Longest gap between two observations of a running attempt. */
export const POLL_MAX_MS = 30_000;

/**
 * Gap between two GETs of an active attempt, from the attempt's age at the last observation.
 *
 * Why adaptive: list responses carry no instance view, so each observation is a GET (plus one
 * log call per container), and every ARM read counts against a subscription-wide budget of
 * 12,000 reads per hour shared by all jobs. The gap equals the age (2 s, then doubling: polls at
 * about 2, 4, 8, 16, 32 s, then every 30 s): a short job is still noticed within ~2× its
 * duration, while a 60-s run costs 6 GETs and 6 log calls instead of 60 + 60 with per-second
 * polling — one tenth. The caller never polls later than the attempt's timeout.
 */
export function pollIntervalMs(ageMs: number): number {
  return Math.min(POLL_MAX_MS, Math.max(POLL_MIN_MS, ageMs));
}

/** Delay before the retry that follows failed attempt number `failed` (1-based). */
export function retryDelayMs(job: Pick<ResolvedJob, 'retryDelayMs' | 'retryBackoffFactor' | 'retryMaxDelayMs'>, failed: number): number {
  const raw = job.retryDelayMs * Math.pow(job.retryBackoffFactor, Math.max(0, failed - 1));
  return Math.max(0, Math.min(job.retryMaxDelayMs, raw));
}

/** The identity of a job's slot sequence: a change of schedule or time zone re-anchors. */
export function scheduleKey(job: Pick<ResolvedJob, 'schedule' | 'timeZone'>): string {
  return `${job.schedule ?? ''}|${job.timeZone}`;
}

/** Failure reasons after which another attempt is pointless. */
export const NON_RETRYABLE_REASONS = new Set(['Replaced', 'JobDeleted', 'Cancelled']);
