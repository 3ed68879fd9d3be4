/**
 * An in-memory Store with the same semantics as SqliteStore: for tests and for `--state-dir`-less
 * runs. Everything is deep-copied in and out, so callers can never mutate stored state.
 */
import { randomBytes } from 'node:crypto';
import type { RunRecord, SchedulerState } from '../api/runs';
import { ChangeFeed, DEFAULT_EVENTS_PER_JOB, TxGate, checkExpected, clone, eventCopy, gated, lazy, nextJob } from './common';
import { StoreConflictError } from './types';
import type { Change, JobInput, JobStatus, Lazy, OutboxEntry, OutboxQuery, OutboxUpdate, Store, StoredEvent, StoredJob } from './types';

interface State {
  rv: number;
  jobs: Map<string, StoredJob>;
  sched: Map<string, SchedulerState>;
  runs: Map<string, { run: RunRecord; rv: number }>;
  /** key `${run}\u0000${attempt}` → container → content */
  logs: Map<string, Map<string, string>>;
  /** job → its newest events, oldest first */
  events: Map<string, StoredEvent[]>;
  eventId: number;
  secrets: Map<string, Buffer>;
  outbox: Map<string, OutboxEntry>;
}

export interface MemoryStoreOptions {
  /** Wall clock for creationTimestamp (ISO); injectable for tests. */
  now?: () => number;
  eventsPerJob?: number;
}

export class MemoryStore implements Store {
  private s: State = {
    rv: 0,
    jobs: new Map(),
    sched: new Map(),
    runs: new Map(),
    logs: new Map(),
    events: new Map(),
    eventId: 0,
    secrets: new Map(),
    outbox: new Map(),
  };
  private readonly gate = new TxGate();
  /** Commits so far (outermost writes and transactions): what a durable store would pay for. */
  readonly stats = { commits: 0 };
  private undo: (() => void)[] = [];
  private feed = new ChangeFeed();
  private closed = false;
  private readonly now: () => number;
  private readonly eventsPerJob: number;

  constructor(opts: MemoryStoreOptions = {}) {
    this.now = opts.now ?? (() => Date.now());
    this.eventsPerJob = opts.eventsPerJob ?? DEFAULT_EVENTS_PER_JOB;
  }

  // desired objects ---------------------------------------------------------------------------
  listJobs(): Promise<StoredJob[]> {
    return gated(this.gate, () => {
      this.open();
      return [...this.s.jobs.keys()].sort().map((k) => clone(this.s.jobs.get(k)!));
    });
  }

  forEachJob(fn: (job: StoredJob) => void): Promise<void> {
    return gated(this.gate, () => {
      this.open();
      for (const name of [...this.s.jobs.keys()].sort()) fn(clone(this.s.jobs.get(name)!));
    });
  }

  getJobResourceVersion(name: string): Promise<number | undefined> {
    return gated(this.gate, () => {
      this.open();
      return this.s.jobs.get(name)?.resourceVersion;
    });
  }

  listJobNames(): Promise<string[]> {
    return gated(this.gate, () => {
      this.open();
      return [...this.s.jobs.keys()].sort();
    });
  }

  getJob(name: string): Promise<StoredJob | undefined> {
    return gated(this.gate, () => {
      this.open();
      const j = this.s.jobs.get(name);
      return j ? clone(j) : undefined;
    });
  }

  // Stored objects are replaced on write, never changed in place: a captured one is a snapshot.
  peekJob(name: string): Promise<{ labels: Record<string, string>; load: Lazy<StoredJob> } | undefined> {
    return gated(this.gate, () => {
      this.open();
      const j = this.s.jobs.get(name);
      return j ? { labels: clone(j.labels), load: lazy(() => clone(j)) } : undefined;
    });
  }

  listJobLabels(): Promise<{ name: string; labels: Record<string, string> }[]> {
    return gated(this.gate, () => {
      this.open();
      return [...this.s.jobs.keys()].sort().map((name) => ({ name, labels: clone(this.s.jobs.get(name)!.labels) }));
    });
  }

  putJob(job: JobInput, expectedResourceVersion?: number): Promise<StoredJob> {
    return gated(this.gate, () => {
      return this.write(() => {
        const prev = this.s.jobs.get(job.name);
        checkExpected(job.name, prev, expectedResourceVersion, (m) => new StoreConflictError(m));
        const rv = ++this.s.rv;
        const stored = nextJob(job, prev, rv, new Date(this.now()).toISOString());
        this.set(this.s.jobs, job.name, stored);
        const written = { labels: clone(stored.labels), load: lazy(() => clone(stored)) };
        this.feed.queue({ resourceVersion: rv, resource: 'containerjobs', kind: prev ? 'MODIFIED' : 'ADDED', name: job.name, written });
        return clone(stored);
      });
    });
  }

  putJobStatus(name: string, status: JobStatus): Promise<StoredJob | undefined> {
    return gated(this.gate, () => {
      return this.write(() => {
        const prev = this.s.jobs.get(name);
        if (!prev) return undefined;
        const rv = ++this.s.rv;
        const stored: StoredJob = { ...prev, status: clone(status) ?? {}, resourceVersion: rv };
        this.set(this.s.jobs, name, stored);
        const written = { labels: clone(stored.labels), load: lazy(() => clone(stored)) };
        this.feed.queue({ resourceVersion: rv, resource: 'containerjobs', kind: 'MODIFIED', name, written });
        return clone(stored);
      });
    });
  }

  writeJobStatus(name: string, status: JobStatus): Promise<boolean> {
    return this.putJobStatus(name, status).then((j) => j !== undefined);
  }

  deleteJob(name: string): Promise<void> {
    return gated(this.gate, () => {
      this.write(() => {
        const last = this.s.jobs.get(name);
        if (!last) return;
        this.set(this.s.jobs, name, undefined);
        const rv = ++this.s.rv;
        this.feed.queue({ resourceVersion: rv, resource: 'containerjobs', kind: 'DELETED', name, last: lazy(() => clone(last)) });
        // the job's history goes with it (as SqliteStore): a job re-created under the same name starts clean
        for (const [id, r] of [...this.s.runs]) {
          if (r.run.job !== name) continue;
          this.set(this.s.runs, id, undefined);
          for (const key of [...this.s.logs.keys()]) if (key.startsWith(`${id}\u0000`)) this.set(this.s.logs, key, undefined);
          const run = r.run;
          this.feed.queue({ resourceVersion: ++this.s.rv, resource: 'containerjobruns', kind: 'DELETED', name: id, last: lazy(() => clone(run)) });
        }
        this.set(this.s.events, name, undefined);
        this.set(this.s.sched, name, undefined);
        for (const [id, e] of [...this.s.outbox]) if (e.job === name && e.state !== 'Pending') this.set(this.s.outbox, id, undefined);
      });
    });
  }

  // scheduler state ---------------------------------------------------------------------------
  getSchedulerState(job: string): Promise<SchedulerState | undefined> {
    return gated(this.gate, () => {
      this.open();
      const st = this.s.sched.get(job);
      return st ? clone(st) : undefined;
    });
  }

  putSchedulerState(job: string, state: SchedulerState): Promise<void> {
    return gated(this.gate, () => {
      this.write(() => {
        this.set(this.s.sched, job, clone(state));
      });
    });
  }

  // runs --------------------------------------------------------------------------------------
  listRuns(job?: string): Promise<RunRecord[]> {
    return gated(this.gate, () => {
      this.open();
      const out: RunRecord[] = [];
      for (const { run } of this.s.runs.values()) if (job === undefined || run.job === job) out.push(clone(run));
      return out.sort(compareRuns);
    });
  }

  listRunsWithVersion(job?: string): Promise<{ run: RunRecord; resourceVersion: number }[]> {
    return gated(this.gate, () => {
      this.open();
      const out: { run: RunRecord; resourceVersion: number }[] = [];
      for (const { run, rv } of this.s.runs.values()) if (job === undefined || run.job === job) out.push({ run: clone(run), resourceVersion: rv });
      return out.sort((a, b) => compareRuns(a.run, b.run));
    });
  }

  getRun(id: string): Promise<RunRecord | undefined> {
    return gated(this.gate, () => {
      this.open();
      const r = this.s.runs.get(id);
      return r ? clone(r.run) : undefined;
    });
  }

  getRunResourceVersion(id: string): Promise<number | undefined> {
    return gated(this.gate, () => {
      this.open();
      return this.s.runs.get(id)?.rv;
    });
  }

  peekRun(id: string): Promise<{ job: string; resourceVersion: number; load: Lazy<RunRecord> } | undefined> {
    return gated(this.gate, () => {
      this.open();
      const r = this.s.runs.get(id);
      return r ? { job: r.run.job, resourceVersion: r.rv, load: lazy(() => clone(r.run)) } : undefined;
    });
  }

  listRunJobs(): Promise<{ id: string; job: string }[]> {
    return gated(this.gate, () => {
      this.open();
      return [...this.s.runs.values()].sort((a, b) => compareRuns(a.run, b.run)).map((r) => ({ id: r.run.id, job: r.run.job }));
    });
  }

  putRun(run: RunRecord): Promise<void> {
    return gated(this.gate, () => {
      this.write(() => {
        const existed = this.s.runs.has(run.id);
        const rv = ++this.s.rv;
        const stored = clone(run);
        this.set(this.s.runs, run.id, { run: stored, rv });
        const written = { job: run.job, resourceVersion: rv, load: lazy(() => clone(stored)) };
        this.feed.queue({ resourceVersion: rv, resource: 'containerjobruns', kind: existed ? 'MODIFIED' : 'ADDED', name: run.id, written });
      });
    });
  }

  deleteRun(id: string): Promise<void> {
    return gated(this.gate, () => {
      this.write(() => {
        const last = this.s.runs.get(id);
        if (!last) return;
        this.set(this.s.runs, id, undefined);
        for (const key of [...this.s.logs.keys()]) if (key.startsWith(`${id}\u0000`)) this.set(this.s.logs, key, undefined);
        const rv = ++this.s.rv;
        this.feed.queue({ resourceVersion: rv, resource: 'containerjobruns', kind: 'DELETED', name: id, last: lazy(() => clone(last.run)) });
      });
    });
  }

  // logs --------------------------------------------------------------------------------------
  putLog(runId: string, attempt: number, container: string, content: string): Promise<void> {
    return gated(this.gate, () => {
      this.write(() => {
        const key = `${runId}\u0000${attempt}`;
        const m = new Map(this.s.logs.get(key) ?? []);
        m.set(container, content);
        this.set(this.s.logs, key, m);
      });
    });
  }

  getLog(runId: string, attempt: number, container?: string): Promise<{ container: string; content: string }[]> {
    return gated(this.gate, () => {
      this.open();
      const m = this.s.logs.get(`${runId}\u0000${attempt}`);
      if (!m) return [];
      const out: { container: string; content: string }[] = [];
      for (const [c, content] of m) if (container === undefined || c === container) out.push({ container: c, content });
      return out;
    });
  }

  // events ------------------------------------------------------------------------------------
  addEvent(event: StoredEvent): Promise<void> {
    return gated(this.gate, () => {
      this.write(() => {
        const e = eventCopy(event);
        e.id = ++this.s.eventId;
        const mine = [...(this.s.events.get(e.job) ?? []), e];
        this.set(this.s.events, e.job, mine.slice(Math.max(0, mine.length - this.eventsPerJob)));
      });
    });
  }

  listEvents(job?: string, limit?: number): Promise<StoredEvent[]> {
    return gated(this.gate, () => {
      this.open();
      const all =
        job !== undefined ? (this.s.events.get(job) ?? []) : [...this.s.events.values()].flat().sort((x, y) => x.id! - y.id!);
      const out = limit !== undefined && limit >= 0 ? all.slice(Math.max(0, all.length - limit)) : all;
      return out.map(eventCopy);
    });
  }

  // notification outbox -----------------------------------------------------------------------
  enqueueNotification(entry: OutboxEntry): Promise<boolean> {
    return gated(this.gate, () =>
      this.write(() => {
        if (this.s.outbox.has(entry.id)) return false;
        this.set(this.s.outbox, entry.id, clone(entry));
        return true;
      }),
    );
  }

  getNotification(id: string): Promise<OutboxEntry | undefined> {
    return gated(this.gate, () => {
      this.open();
      const e = this.s.outbox.get(id);
      return e ? clone(e) : undefined;
    });
  }

  listNotifications(q: OutboxQuery = {}): Promise<OutboxEntry[]> {
    return gated(this.gate, () => {
      this.open();
      const out = [...this.s.outbox.values()]
        .filter((e) => (q.job === undefined || e.job === q.job) && (q.state === undefined || e.state === q.state) && (q.dueBy === undefined || e.nextAttemptAt <= q.dueBy))
        .sort(compareOutbox);
      return (q.limit !== undefined ? out.slice(0, q.limit) : out).map(clone);
    });
  }

  updateNotification(id: string, update: OutboxUpdate): Promise<boolean> {
    return gated(this.gate, () =>
      this.write(() => {
        const e = this.s.outbox.get(id);
        if (!e) return false;
        const next: OutboxEntry = { ...e, state: update.state, attempts: update.attempts, nextAttemptAt: update.nextAttemptAt };
        delete next.lastError;
        delete next.finishedAt;
        if (update.lastError !== undefined) next.lastError = update.lastError;
        if (update.finishedAt !== undefined) next.finishedAt = update.finishedAt;
        this.set(this.s.outbox, id, next);
        return true;
      }),
    );
  }

  pruneNotifications(before: number): Promise<number> {
    return gated(this.gate, () =>
      this.write(() => {
        let n = 0;
        for (const [id, e] of [...this.s.outbox]) {
          if (e.state !== 'Pending' && (e.finishedAt ?? 0) < before) {
            this.set(this.s.outbox, id, undefined);
            n++;
          }
        }
        return n;
      }),
    );
  }

  // change feed -------------------------------------------------------------------------------
  currentResourceVersion(): Promise<number> {
    return gated(this.gate, () => {
      this.open();
      return this.s.rv;
    });
  }

  onChange(listener: (change: Change) => void): () => void {
    return this.feed.subscribe(listener);
  }

  getOrCreateSecret(name: string): Promise<Buffer> {
    return gated(this.gate, () => {
      return this.write(() => {
        let secret = this.s.secrets.get(name);
        if (!secret) {
          secret = randomBytes(32);
          this.set(this.s.secrets, name, secret);
        }
        return Buffer.from(secret);
      });
    });
  }

  /** Memory has no commit to defer: the same as transaction; `after` runs at once. */
  async transactionDeferred<T>(fn: () => Promise<T>, after?: () => void): Promise<T> {
    if (this.gate.inside()) throw new Error('transactionDeferred cannot run inside another transaction');
    const out = await this.transaction(fn);
    after?.();
    return out;
  }

  flush(): Promise<void> {
    return gated(this.gate, () => this.open());
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    this.open();
    if (this.gate.inside()) return fn(); // nested: joins the outer one
    return this.gate.hold(async () => {
      const scalars = this.begin();
      try {
        const out = await fn();
        this.commit();
        return out;
      } catch (err) {
        this.rollback(scalars);
        throw err;
      }
    });
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  // internals ---------------------------------------------------------------------------------
  private open(): void {
    if (this.closed) throw new Error('store is closed');
  }

  /** Set or delete a map entry, remembering how to undo it if the transaction fails. */
  private set<K, V>(map: Map<K, V>, key: K, value: V | undefined): void {
    const had = map.has(key);
    const before = map.get(key);
    this.undo.push(() => {
      if (had) map.set(key, before as V);
      else map.delete(key);
    });
    if (value === undefined) map.delete(key);
    else map.set(key, value);
  }

  /**
   * Run a write atomically. Stored values are never mutated in place (every write replaces the
   * entry through `set`, scalars are restored from a copy), so the undo log restores everything.
   */
  private write<T>(fn: () => T): T {
    this.open();
    if (this.gate.inside()) return fn();
    const scalars = this.begin();
    try {
      const out = fn();
      this.commit();
      return out;
    } catch (err) {
      this.rollback(scalars);
      throw err;
    }
  }

  /** A transaction starts: an empty undo log; the scalars to restore if it fails. */
  private begin(): { rv: number; eventId: number } {
    this.undo = [];
    return { rv: this.s.rv, eventId: this.s.eventId };
  }

  private commit(): void {
    this.undo = [];
    this.stats.commits++;
    this.feed.flush();
  }

  /** Undo every write of the failed transaction, newest first, and drop its changes. */
  private rollback(scalars: { rv: number; eventId: number }): void {
    for (let i = this.undo.length - 1; i >= 0; i--) this.undo[i]();
    this.undo = [];
    Object.assign(this.s, scalars);
    this.feed.discard();
  }
}

export function compareOutbox(a: OutboxEntry, b: OutboxEntry): number {
  if (a.nextAttemptAt !== b.nextAttemptAt) return a.nextAttemptAt - b.nextAttemptAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function compareRuns(a: RunRecord, b: RunRecord): number {
  if (a.job !== b.job) return a.job < b.job ? -1 : 1;
  if (a.scheduledTime !== b.scheduledTime) return a.scheduledTime - b.scheduledTime;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
