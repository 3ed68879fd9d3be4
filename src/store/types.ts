/**
 * The durable state of one controller: desired objects, their status, scheduler state, runs,
 * archived logs and events. Asynchronous: every method returns a Promise, so one interface fits
 * the embedded SQLite store (which answers at once) and a networked one (PostgreSQL) alike.
 *
 * Transactions: `transaction(fn)` runs `fn` (async) with every store call made from inside it — in
 * its async context, followed through awaits — joining the transaction; calls made from elsewhere
 * while it is open wait for it to end (they never see its uncommitted writes).
 */
import type { ContainerJob } from '../api/types';
import type { RunRecord, SchedulerState } from '../api/runs';

export interface Condition {
  type: 'Ready' | 'Scheduled' | 'LastRunSucceeded' | 'Invalid' | string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface JobStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  lastScheduleTime?: string;
  lastSuccessfulTime?: string;
  nextScheduleTime?: string;
  active?: { run: string; group: string; attempt: number }[];
  lastRunResult?: 'Succeeded' | 'Failed';
  /** Revision of the manifest source (symlink target name or git commit) the spec came from. */
  sourceRevision?: string;
  suspended?: boolean;
  specHash?: string;
  /** The backfill in progress: how many of its slots were handled, how many of its runs are active. */
  backfill?: { id: string; from: string; to: string; slots: number; handled: number; active: number };
}

/** Where a desired object came from. Directory objects are read-only through the API. */
export type JobSource =
  | { kind: 'directory'; root: string; file: string; line?: number; revision?: string }
  | { kind: 'api'; fieldManager?: string; applySet?: string };

/** A desired object with Kubernetes metadata. `spec` holds secret references only, never values. */
export interface StoredJob {
  name: string;
  uid: string;
  resourceVersion: number;
  generation: number;
  creationTimestamp: string;
  deletionTimestamp?: string;
  finalizers: string[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: ContainerJob['spec'];
  source: JobSource;
  status: JobStatus;
}

export interface StoredEvent {
  id?: number;
  time: string;
  job: string;
  run?: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export type ChangeKind = 'ADDED' | 'MODIFIED' | 'DELETED';
export interface WrittenJob {
  labels: Record<string, string>;
  load: Lazy<StoredJob>;
}
export interface WrittenRun {
  job: string;
  resourceVersion: number;
  load: Lazy<RunRecord>;
}

export interface Change {
  resourceVersion: number;
  resource: 'containerjobs' | 'containerjobruns';
  kind: ChangeKind;
  name: string;
  /**
   * DELETED only: the object as it was just before the delete (a StoredJob or a RunRecord, by
   * `resource`), decoded on first use — so a watcher can send it without anyone keeping a copy
   * of every object.
   */
  last?: Lazy<StoredJob> | Lazy<RunRecord>;
  /**
   * ADDED/MODIFIED (every store sets it): what `peekJob` / `peekRun` would return right after the
   * write (the watch hub reads nothing per change, and listeners stay synchronous).
   */
  written?: WrittenJob | WrittenRun;
  /** Set when another process made the change (a shared store): what this process did not write itself. */
  remote?: true;
}

/** A value read now and decoded on its first call (then kept): cheap to hold, cheap when never looked at. */
export type Lazy<T> = () => T;

export class StoreConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreConflictError';
  }
}

/** Where an outbox row is: waiting to be sent (again), sent, or given up on. */
export type NotificationState = 'Pending' | 'Delivered' | 'Failed';

/**
 * One notification in the outbox (src/notify/): written in the same transaction as the change that
 * caused it, under a deterministic id (job/run/attempt/event/target), so an event is enqueued once
 * whatever crashes; the dispatcher sends it and records the outcome here.
 */
export interface OutboxEntry {
  id: string;
  job: string;
  /** failure | retry | missed | recovery | invalid */
  event: string;
  /** The target's name within spec.notify. */
  target: string;
  /** What to send and where, as JSON: secret references only, never a secret value. */
  payload: string;
  createdAt: number;
  state: NotificationState;
  /** Delivery attempts so far. */
  attempts: number;
  /** When the next delivery attempt is due (ms since the epoch). */
  nextAttemptAt: number;
  lastError?: string;
  /** When it was delivered or given up on. */
  finishedAt?: number;
}

/** What the dispatcher records after an attempt. */
export type OutboxUpdate = Pick<OutboxEntry, 'state' | 'attempts' | 'nextAttemptAt'> & Partial<Pick<OutboxEntry, 'lastError' | 'finishedAt'>>;

export interface OutboxQuery {
  job?: string;
  state?: NotificationState;
  /** Only entries with nextAttemptAt <= dueBy. */
  dueBy?: number;
  limit?: number;
}

/** What a caller hands to `putJob`: the store assigns uid, resourceVersion, generation and creationTimestamp. */
export type JobInput = Omit<StoredJob, 'uid' | 'resourceVersion' | 'generation' | 'creationTimestamp'> &
  Partial<Pick<StoredJob, 'uid' | 'creationTimestamp'>>;

export interface Store {
  // desired objects --------------------------------------------------------------------------
  listJobs(): Promise<StoredJob[]>;
  /**
   * Visit every job in name order, decoding one at a time (nothing is held for all of them at
   * once: a scan of 10,000 jobs). `fn` must not write to the store.
   */
  forEachJob(fn: (job: StoredJob) => void): Promise<void>;
  /** The names of every job, sorted (no decoding: for counts and queueing). */
  listJobNames(): Promise<string[]>;
  getJob(name: string): Promise<StoredJob | undefined>;
  /** The stored job's resourceVersion (no decoding: "has it changed since I read it?"). */
  getJobResourceVersion(name: string): Promise<number | undefined>;
  /**
   * Create or replace a job. `expectedResourceVersion` (when given) must match the stored one or
   * StoreConflictError is thrown; `0` means "must not exist yet" (create only). Bumps resourceVersion;
   * bumps generation only when spec changed (deep compare). uid and creationTimestamp are kept from
   * the stored object, else taken from the input, else generated. Returns the stored object.
   */
  putJob(job: JobInput, expectedResourceVersion?: number): Promise<StoredJob>;
  /** Replace status only (bumps resourceVersion, never generation). */
  putJobStatus(name: string, status: JobStatus): Promise<StoredJob | undefined>;
  /** putJobStatus without reading the object back (the reconciler's path): false when there is no such job. */
  writeJobStatus(name: string, status: JobStatus): Promise<boolean>;
  /**
   * Remove the object for good (after finalizers are cleared, so its container groups are gone),
   * and its history with it: its runs (a DELETED change each), their archived logs, its events,
   * its scheduler state and its finished outbox entries (pending ones are still delivered). A job re-created under the same name has no runs and no last schedule.
   */
  deleteJob(name: string): Promise<void>;
  /**
   * getJob for holders of many objects that rarely look inside them (the API's watch hub): the
   * stored form is read now, decoded on first use — no JSON decoding for an object nobody reads.
   */
  peekJob(name: string): Promise<{ labels: Record<string, string>; load: Lazy<StoredJob> } | undefined>;
  /** Every job's name and labels, sorted by name (what a label selector looks at). */
  listJobLabels(): Promise<{ name: string; labels: Record<string, string> }[]>;

  // scheduler state ---------------------------------------------------------------------------
  getSchedulerState(job: string): Promise<SchedulerState | undefined>;
  putSchedulerState(job: string, state: SchedulerState): Promise<void>;

  // runs --------------------------------------------------------------------------------------
  listRuns(job?: string): Promise<RunRecord[]>;
  /** listRuns with each run's resourceVersion, in one read (what a run list shows). */
  listRunsWithVersion(job?: string): Promise<{ run: RunRecord; resourceVersion: number }[]>;
  getRun(id: string): Promise<RunRecord | undefined>;
  /** Create or replace a run record (bumps the global resourceVersion; ADDED or MODIFIED change). */
  putRun(run: RunRecord): Promise<void>;
  /** The resourceVersion of a run's last write (for Kubernetes-style run objects), or undefined. */
  getRunResourceVersion(id: string): Promise<number | undefined>;
  /** Remove a run record and its archived logs. */
  deleteRun(id: string): Promise<void>;
  /** getRun and getRunResourceVersion in one read, decoding deferred (see peekJob). */
  peekRun(id: string): Promise<{ job: string; resourceVersion: number; load: Lazy<RunRecord> } | undefined>;
  /** Every run's id and job (what a run selector looks at), without reading the records. */
  listRunJobs(): Promise<{ id: string; job: string }[]>;

  // logs (archived per attempt and container) --------------------------------------------------
  putLog(runId: string, attempt: number, container: string, content: string): Promise<void>;
  getLog(runId: string, attempt: number, container?: string): Promise<{ container: string; content: string }[]>;

  // events ------------------------------------------------------------------------------------
  /** Append an event (id assigned by the store); only the newest events of each job are kept. */
  addEvent(event: StoredEvent): Promise<void>;
  /** Events oldest first; with `limit`, the newest `limit` of them. */
  listEvents(job?: string, limit?: number): Promise<StoredEvent[]>;

  // notification outbox (src/notify/) ---------------------------------------------------------
  /** Insert `entry` unless an entry with its id exists (then nothing changes): true when inserted. */
  enqueueNotification(entry: OutboxEntry): Promise<boolean>;
  getNotification(id: string): Promise<OutboxEntry | undefined>;
  /** Entries matching `q`, by nextAttemptAt then id (oldest due first). */
  listNotifications(q?: OutboxQuery): Promise<OutboxEntry[]>;
  /** Record a delivery attempt's outcome: false when there is no such entry. */
  updateNotification(id: string, update: OutboxUpdate): Promise<boolean>;
  /** Remove Delivered / Failed entries finished before `before`; returns how many. */
  pruneNotifications(before: number): Promise<number>;

  // change feed for watches -------------------------------------------------------------------
  /** The current global resourceVersion. */
  currentResourceVersion(): Promise<number>;
  /** Subscribe to changes; returns an unsubscribe function. */
  onChange(listener: (change: Change) => void): () => void;
  /**
   * Subscribe to "changes were lost" (a shared store whose change log was pruned past what this
   * process had delivered, like Kubernetes' 410 Gone): the listener must forget what it derived
   * from the feed and list again; changes after `resourceVersion` are delivered as usual. Stores
   * that never lose changes (SQLite, memory) do not implement it.
   */
  onResync?(listener: (resourceVersion: number) => void): () => void;

  // secrets of the store itself -------------------------------------------------------------
  /**
   * A random 32-byte secret, created on first use and kept for the life of the store (e.g. a key
   * for keyed hashes). Never log or expose it.
   */
  getOrCreateSecret(name: string): Promise<Buffer>;

  /** Run `fn` atomically: all of its writes or none (it rolls back on throw). Nested calls join the outer one. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Run `fn` atomically now (a throw undoes its writes, and only its writes), but let its COMMIT
   * wait for the next write of any kind, `flush()`, or the next turn of the event loop, whichever
   * comes first; `after` runs once it is committed. For writes nothing outside depends on yet: a
   * caller about to act on them (an ARM call) calls `flush()` first. Until then they are visible
   * to readers of this store but not durable. Not for use inside `transaction`.
   */
  transactionDeferred<T>(fn: () => Promise<T>, after?: () => void): Promise<T>;
  /** Commit what deferred transactions wrote (throws if the COMMIT fails: their writes are then gone). */
  flush(): Promise<void>;
  close(): Promise<void>;
}
