/** Helpers shared by the Store implementations (semantics that must be identical in both). */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { Change, JobInput, Lazy, OutboxEntry, StoredEvent, StoredJob } from './types';

/** Events kept per job; older ones are dropped as new ones arrive. */
/**
 * Who holds a store's transaction. A transaction's `fn` is async: the calls it makes (in its async
 * context, followed through awaits by AsyncLocalStorage) join it; a call from any other context
 * waits until it has ended, so it never sees uncommitted writes nor slips a write into them.
 */
export class TxGate {
  private readonly als = new AsyncLocalStorage<{ live: boolean }>();
  private holder: { live: boolean } | null = null;
  private released: Promise<void> = Promise.resolve();

  /** The caller runs inside the open transaction. */
  inside(): boolean {
    const t = this.als.getStore();
    return t !== undefined && t.live && t === this.holder;
  }

  /** undefined when the caller may go ahead now (no transaction, or its own); else a promise to wait on, then ask again. */
  wait(): Promise<void> | undefined {
    if (this.holder === null || this.inside()) return undefined;
    return this.released;
  }

  /** Run `fn` holding the gate (callers check `inside()` first: holding is not re-entrant). */
  async hold<T>(fn: () => Promise<T>): Promise<T> {
    while (this.holder !== null) await this.released;
    const token = { live: true };
    let release!: () => void;
    this.released = new Promise<void>((r) => (release = r));
    this.holder = token;
    try {
      return await this.als.run(token, fn);
    } finally {
      token.live = false;
      this.holder = null;
      release();
    }
  }
}

/**
 * A synchronous step of a store that runs at once unless another context holds the gate (then
 * after it): its result or its throw as a promise.
 */
export function gated<T>(gate: TxGate, f: () => T): Promise<T> {
  const w = gate.wait();
  if (w) return w.then(() => gated(gate, f));
  try {
    return Promise.resolve(f());
  } catch (err) {
    return Promise.reject(err);
  }
}

export const DEFAULT_EVENTS_PER_JOB = 200;

/** Structural equality of JSON-like values; object key order does not matter, `undefined` members are ignored. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], bb[i])) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  if (ak.length !== bk.length) return false;
  for (const k of ak) {
    if (!Object.prototype.hasOwnProperty.call(bo, k) || !deepEqual(ao[k], bo[k])) return false;
  }
  return true;
}

/** A deep copy through JSON: what a durable store would hand back (drops `undefined` members). */
export function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/**
 * Build the stored form of a job write. `prev` is the currently stored object (if any): uid and
 * creationTimestamp are kept from it, generation is bumped only when spec changed.
 */
export function nextJob(input: JobInput, prev: StoredJob | undefined, resourceVersion: number, nowIso: string): StoredJob {
  const copy = clone(input) as StoredJob;
  const generation = prev ? (deepEqual(prev.spec, input.spec) ? prev.generation : prev.generation + 1) : 1;
  return {
    ...copy,
    name: input.name,
    uid: prev?.uid ?? input.uid ?? randomUUID(),
    creationTimestamp: prev?.creationTimestamp ?? input.creationTimestamp ?? nowIso,
    resourceVersion,
    generation,
    finalizers: copy.finalizers ?? [],
    labels: copy.labels ?? {},
    annotations: copy.annotations ?? {},
    status: copy.status ?? {},
  };
}

/** Optimistic concurrency: 0 means "must not exist yet"; any other number must equal the stored version. */
export function checkExpected(name: string, prev: StoredJob | undefined, expected: number | undefined, conflict: (m: string) => Error): void {
  if (expected === undefined) return;
  if (expected === 0) {
    if (prev) throw conflict(`containerjob ${name} already exists`);
    return;
  }
  if (!prev) throw conflict(`containerjob ${name} does not exist (expected resourceVersion ${expected})`);
  if (prev.resourceVersion !== expected) {
    throw conflict(`containerjob ${name}: resourceVersion ${expected} is stale (current ${prev.resourceVersion})`);
  }
}

/**
 * Change listeners see changes only after the outermost transaction commits (and never for a
 * rolled-back one). A throwing listener is isolated from the writer and from other listeners.
 */
export class ChangeFeed {
  private listeners = new Set<(c: Change) => void>();
  private resyncListeners = new Set<(rv: number) => void>();
  private pending: Change[] = [];

  /** See Store.onResync. */
  subscribeResync(listener: (rv: number) => void): () => void {
    this.resyncListeners.add(listener);
    return () => {
      this.resyncListeners.delete(listener);
    };
  }

  /** Tell resync listeners that changes up to `rv` could not be delivered (pending ones are delivered first). */
  resync(rv: number): void {
    this.flush();
    for (const l of [...this.resyncListeners]) {
      try {
        l(rv);
      } catch {
        // as for changes: a faulty subscriber must not break the feed
      }
    }
  }

  subscribe(listener: (c: Change) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  queue(change: Change): void {
    this.pending.push(change);
  }

  discard(): void {
    this.pending = [];
  }

  /** How many changes are queued (a mark to undo back to). */
  mark(): number {
    return this.pending.length;
  }

  /** Drop the changes queued after `mark` (a rolled-back savepoint). */
  discardAfter(mark: number): void {
    this.pending.length = Math.min(this.pending.length, mark);
  }

  flush(): void {
    const out = this.pending;
    this.pending = [];
    for (const change of out) {
      for (const l of [...this.listeners]) {
        try {
          l({ ...change });
        } catch {
          // a faulty subscriber must not break the write path
        }
      }
    }
  }
}

export function eventCopy(e: StoredEvent): StoredEvent {
  const out: StoredEvent = { time: e.time, job: e.job, type: e.type, reason: e.reason, message: e.message };
  if (e.id !== undefined) out.id = e.id;
  if (e.run !== undefined) out.run = e.run;
  return out;
}

/** Memoize a decoder: runs at most once, and drops what it captured once it has. */
export function lazy<T>(decode: () => T): Lazy<T> {
  let f: (() => T) | null = decode;
  let value: T;
  return () => {
    if (f) {
      value = f();
      f = null;
    }
    return value;
  };
}

/** A `jobs` table row (SQLite and PostgreSQL share the column layout) as a stored job. */
export function rowToJob(r: Record<string, unknown>): StoredJob {
  const job: StoredJob = {
    name: r.name as string,
    uid: r.uid as string,
    resourceVersion: Number(r.resource_version),
    generation: Number(r.generation),
    creationTimestamp: r.creation_timestamp as string,
    finalizers: JSON.parse(r.finalizers as string),
    labels: JSON.parse(r.labels as string),
    annotations: JSON.parse(r.annotations as string),
    spec: JSON.parse(r.spec as string),
    source: JSON.parse(r.source as string),
    status: JSON.parse(r.status as string),
  };
  if (r.deletion_timestamp !== null && r.deletion_timestamp !== undefined) job.deletionTimestamp = r.deletion_timestamp as string;
  return job;
}

/** A stored job as a `jobs` table row (the inverse of rowToJob). */
export function jobRow(stored: StoredJob): Record<string, string | number | null> {
  return {
    name: stored.name,
    uid: stored.uid,
    resource_version: stored.resourceVersion,
    generation: stored.generation,
    creation_timestamp: stored.creationTimestamp,
    deletion_timestamp: stored.deletionTimestamp ?? null,
    finalizers: JSON.stringify(stored.finalizers),
    labels: JSON.stringify(stored.labels),
    annotations: JSON.stringify(stored.annotations),
    spec: JSON.stringify(stored.spec),
    source: JSON.stringify(stored.source),
    status: JSON.stringify(stored.status),
  };
}

/** An outbox row (SQLite or PostgreSQL) as an entry. */
export function rowToOutbox(r: Record<string, unknown>): OutboxEntry {
  const e: OutboxEntry = {
    id: r.id as string,
    job: r.job as string,
    event: r.event as string,
    target: r.target as string,
    payload: r.payload as string,
    createdAt: Number(r.created_at),
    state: r.state as OutboxEntry['state'],
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
  };
  if (r.last_error !== null && r.last_error !== undefined) e.lastError = r.last_error as string;
  if (r.finished_at !== null && r.finished_at !== undefined) e.finishedAt = Number(r.finished_at);
  return e;
}

/**
 * Whether `err` says the store's server is out of reach (a networked store: refused, reset or
 * timed-out connections, a server shutting down, a connection lost mid-statement), as opposed to
 * a bug or a bad request: the API answers 503 for these, so clients retry.
 */
export function storeUnreachable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', '57P01', '57P02', '57P03'].includes(code) || code.startsWith('08'))) return true;
  return typeof message === 'string' && /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection refused/i.test(message);
}
