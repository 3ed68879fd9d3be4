/** The acictl.dev/v1 resources as the CLI sees them, and typed calls for each verb. */
import type { ContainerJobSpec } from '../../api/types';
import type { JobStatus } from '../../store/types';
import { API_BASE, ApiClient, ApiError, lines } from './http';

export const LABEL_JOB = 'acictl.dev/job';
export const LABEL_APPLYSET = 'acictl.dev/applyset';
/** The labels, annotations and spec acictl applied last: lets the next apply remove what it added. */
export const ANNOTATION_LAST_APPLIED = 'acictl.dev/last-applied-configuration';
/** Which apply set (and which tool) owns the object. */
export const ANNOTATION_APPLYSET = 'acictl.dev/applyset-inventory';

export interface K8sMeta {
  name: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

/** Output-only: where a job comes from (set by the server for jobs of a manifests directory). */
export interface JobSourceStatus {
  kind: 'directory' | 'api' | string;
  file?: string;
  revision?: string;
}

export interface JobObject {
  apiVersion: string;
  kind: 'ContainerJob';
  metadata: K8sMeta;
  spec: ContainerJobSpec;
  status?: JobStatus & { source?: JobSourceStatus };
}

/** The manifest file a job is read from, when it comes from a manifests directory (read-only through the API). */
export function directorySource(job: JobObject | undefined): string | undefined {
  const src = job?.status?.source;
  return src?.kind === 'directory' ? (src.file ?? 'a manifests directory') : undefined;
}

export interface RunAttempt {
  attempt: number;
  groupName?: string;
  phase?: string;
  exitCode?: number | null;
  startedAt?: string | number;
  finishedAt?: string | number;
  reason?: string;
  message?: string;
}

export interface RunObject {
  apiVersion: string;
  kind: 'ContainerJobRun';
  metadata: K8sMeta;
  spec: { job: string; slot?: string | number | null; manual?: boolean; scheduledTime?: string | number };
  status?: { phase?: string; attempts?: RunAttempt[]; startedAt?: string | number; finishedAt?: string | number };
}

export interface BackfillResult {
  job: string;
  id: string | null;
  dryRun: boolean;
  maxActive: number;
  slots: { slot: string; run: string; action: 'run' | 'rerun' | 'skip'; phase?: string }[];
}

export interface ListObject<T> {
  kind: string;
  apiVersion?: string;
  items: T[];
  metadata?: { resourceVersion?: string; continue?: string };
}

export interface EventItem {
  time: string;
  type: string;
  reason: string;
  message: string;
  run?: string;
}

/** An undelivered notification of a job (GET containerjobs/NAME/notifications). */
export interface NotificationItem {
  id: string;
  event: string;
  target: string;
  state: 'Pending' | 'Failed';
  attempts: number;
  createdAt: string;
  nextAttemptAt: string;
  lastError?: string;
  finishedAt?: string;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

const JOBS = `${API_BASE}/containerjobs`;
const RUNS = `${API_BASE}/containerjobruns`;
const enc = encodeURIComponent;

/** Converts a time that may be epoch ms or an ISO string into epoch ms (undefined when absent). */
export function toMs(t: string | number | null | undefined): number | undefined {
  if (t === null || t === undefined || t === '') return undefined;
  if (typeof t === 'number') return t;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404;
}

export class AcictlApi {
  constructor(readonly http: ApiClient) {}

  async getJob(name: string): Promise<JobObject | undefined> {
    try {
      return await this.http.request<JobObject>('GET', `${JOBS}/${enc(name)}`);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Lists every job (following `continue` tokens). */
  async listJobs(labelSelector?: string): Promise<ListObject<JobObject>> {
    return this.listAll<JobObject>(JOBS, labelSelector);
  }

  createJob(obj: JobObject, dryRun: boolean): Promise<JobObject> {
    return this.http.request<JobObject>('POST', JOBS, { body: obj, query: { dryRun: dryRun ? 'All' : undefined } });
  }

  replaceJob(obj: JobObject, dryRun: boolean): Promise<JobObject> {
    return this.http.request<JobObject>('PUT', `${JOBS}/${enc(obj.metadata.name)}`, { body: obj, query: { dryRun: dryRun ? 'All' : undefined } });
  }

  deleteJob(name: string, dryRun: boolean): Promise<unknown> {
    return this.http.request('DELETE', `${JOBS}/${enc(name)}`, { query: { dryRun: dryRun ? 'All' : undefined } });
  }

  trigger(name: string): Promise<{ run: string }> {
    return this.http.request<{ run: string }>('POST', `${JOBS}/${enc(name)}/trigger`, { body: {} });
  }

  /** acictl backfill (POST containerjobs/NAME/backfill). */
  backfill(name: string, body: { from: string; to: string; maxActive?: number; rerun?: boolean; dryRun?: boolean }): Promise<BackfillResult> {
    return this.http.request<BackfillResult>('POST', `${JOBS}/${enc(name)}/backfill`, { body });
  }

  /** acictl clear / acictl runs cancel (POST containerjobruns/RUN/clear|cancel). */
  runVerb(run: string, verb: 'clear' | 'cancel'): Promise<{ run: string; job: string }> {
    return this.http.request<{ run: string; job: string }>('POST', `${RUNS}/${enc(run)}/${verb}`, { body: {} });
  }

  setSuspended(name: string, suspended: boolean): Promise<unknown> {
    return this.http.request('POST', `${JOBS}/${enc(name)}/${suspended ? 'suspend' : 'resume'}`, { body: {} });
  }

  /** Recent events of a job; undefined when the server does not offer the events endpoint. */
  async events(name: string): Promise<EventItem[] | undefined> {
    try {
      const res = await this.http.request<{ items?: EventItem[] }>('GET', `${JOBS}/${enc(name)}/events`);
      return res?.items ?? [];
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 405 || err.status === 501)) return undefined;
      throw err;
    }
  }

  /** A job's undelivered notifications; undefined when the server does not offer them. */
  async notifications(name: string): Promise<NotificationItem[] | undefined> {
    try {
      const res = await this.http.request<{ items?: NotificationItem[] }>('GET', `${JOBS}/${enc(name)}/notifications`);
      return res?.items ?? [];
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 405 || err.status === 501)) return undefined;
      throw err;
    }
  }

  async getRun(name: string): Promise<RunObject | undefined> {
    try {
      return await this.http.request<RunObject>('GET', `${RUNS}/${enc(name)}`);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Runs, optionally of one job (by the `acictl.dev/job` label) and/or a further selector. */
  listRuns(job?: string, labelSelector?: string): Promise<ListObject<RunObject>> {
    const parts = [job ? `${LABEL_JOB}=${job}` : undefined, labelSelector].filter(Boolean);
    return this.listAll<RunObject>(RUNS, parts.length ? parts.join(',') : undefined);
  }

  /** The log text of a run as a chunk stream. */
  async logs(run: string, opts: { attempt?: number; follow: boolean; tail?: number; signal?: AbortSignal }): Promise<AsyncIterable<string>> {
    const res = await this.http.stream('GET', `${RUNS}/${enc(run)}/log`, {
      query: { attempt: opts.attempt, follow: opts.follow ? 'true' : undefined, tail: opts.tail },
      signal: opts.signal,
      // A followed log may be silent for a long time before its first byte.
      timeoutMs: opts.follow ? 24 * 3_600_000 : undefined,
    });
    return res.chunks;
  }

  /** Watches a collection from `resourceVersion`; yields events until the server or the signal ends it. */
  async *watch<T>(resource: 'containerjobs' | 'containerjobruns', opts: { labelSelector?: string; resourceVersion?: string; signal?: AbortSignal }): AsyncIterable<WatchEvent<T>> {
    const res = await this.http.stream('GET', `${API_BASE}/${resource}`, {
      query: { watch: '1', labelSelector: opts.labelSelector, resourceVersion: opts.resourceVersion },
      signal: opts.signal,
      timeoutMs: 24 * 3_600_000,
    });
    for await (const line of lines(res.chunks)) {
      if (!line.trim()) continue;
      yield JSON.parse(line) as WatchEvent<T>;
    }
  }

  private async listAll<T>(pathname: string, labelSelector?: string): Promise<ListObject<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let first: ListObject<T> | undefined;
    do {
      const page = await this.http.request<ListObject<T>>('GET', pathname, { query: { labelSelector, continue: cont, limit: 500 } });
      first ??= page;
      items.push(...(page.items ?? []));
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return { ...first!, items, metadata: { resourceVersion: first?.metadata?.resourceVersion } };
  }
}
