/**
 * The embedded, durable Store: one SQLite file (node:sqlite) in the state dir.
 *
 * Durability choice: WAL journal with `synchronous=NORMAL`. A committed transaction is in the WAL
 * (in the OS page cache) before COMMIT returns, so a `kill -9` of the controller loses nothing
 * and never corrupts the file; only a power loss / kernel crash may lose the last few commits
 * (still without corruption). That trade keeps single writes cheap (no fsync per commit), and the
 * controller tolerates a lost "Creating" record because group names are deterministic.
 *
 * Every write is its own transaction unless it runs inside `transaction(fn)`; nested
 * `transaction` calls join the outermost one. Change notifications go out after COMMIT only.
 */
import { randomBytes } from 'node:crypto';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { RunRecord, SchedulerState } from '../api/runs';
import { ChangeFeed, DEFAULT_EVENTS_PER_JOB, TxGate, checkExpected, gated, lazy, jobRow, nextJob, rowToJob, rowToOutbox } from './common';
import { StoreConflictError } from './types';
import type { Change, JobInput, JobStatus, Lazy, OutboxEntry, OutboxQuery, OutboxUpdate, Store, StoredEvent, StoredJob } from './types';

/** A schema migration: runs inside one transaction; `user_version` is set to its index + 1 after it. */
export type Migration = (db: DatabaseSync) => void;

export const MIGRATIONS: readonly Migration[] = [
  // 1: the initial schema
  (db) =>
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value ANY) STRICT;
      CREATE TABLE jobs (
        name TEXT PRIMARY KEY,
        uid TEXT NOT NULL,
        resource_version INTEGER NOT NULL,
        generation INTEGER NOT NULL,
        creation_timestamp TEXT NOT NULL,
        deletion_timestamp TEXT,
        finalizers TEXT NOT NULL,
        labels TEXT NOT NULL,
        annotations TEXT NOT NULL,
        spec TEXT NOT NULL,
        source TEXT NOT NULL,
        status TEXT NOT NULL
      ) STRICT;
      CREATE TABLE scheduler_state (job TEXT PRIMARY KEY, state TEXT NOT NULL) STRICT;
      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        job TEXT NOT NULL,
        scheduled_time INTEGER NOT NULL,
        resource_version INTEGER NOT NULL,
        record TEXT NOT NULL
      ) STRICT;
      CREATE INDEX runs_by_job ON runs (job, scheduled_time, id);
      CREATE TABLE logs (
        run_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        container TEXT NOT NULL,
        content TEXT NOT NULL,
        PRIMARY KEY (run_id, attempt, container)
      ) STRICT;
      CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job TEXT NOT NULL,
        run TEXT,
        time TEXT NOT NULL,
        type TEXT NOT NULL,
        reason TEXT NOT NULL,
        message TEXT NOT NULL
      ) STRICT;
      CREATE INDEX events_by_job ON events (job, id);
      INSERT INTO meta (key, value) VALUES ('resourceVersion', 0);
    `),
  // 2: secrets of the store live in their own table (BLOB values), away from scalar meta
  (db) =>
    db.exec(`
      CREATE TABLE secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT;
      INSERT INTO secrets (name, value)
        SELECT substr(key, 8), value FROM meta WHERE key LIKE 'secret:%' AND typeof(value) = 'blob';
      DELETE FROM meta WHERE key LIKE 'secret:%';
    `),
  // 3: the notification outbox (src/notify/)
  (db) =>
    db.exec(`
      CREATE TABLE outbox (
        id TEXT PRIMARY KEY,
        job TEXT NOT NULL,
        event TEXT NOT NULL,
        target TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        finished_at INTEGER
      ) STRICT;
      CREATE INDEX outbox_due ON outbox (state, next_attempt_at, id);
      CREATE INDEX outbox_by_job ON outbox (job);
    `),
];

export interface SqliteStoreOptions {
  /** Wall clock for creationTimestamp; injectable for tests. */
  now?: () => number;
  eventsPerJob?: number;
  /** How long a write waits for another connection's lock (ms). */
  busyTimeoutMs?: number;
  /** The migrations to apply (tests pass a prefix to build an old schema). */
  migrations?: readonly Migration[];
  /** A deferred COMMIT that failed on its own turn of the event loop (its writes are gone). */
  onDeferredCommitError?: (err: Error) => void;
}

type Row = Record<string, unknown>;

/** Apply pending migrations, each in its own transaction; refuses a file newer than this code. */
export function migrate(db: DatabaseSync, migrations: readonly Migration[] = MIGRATIONS): number {
  const current = Number((db.prepare('PRAGMA user_version').get() as Row).user_version);
  if (current > migrations.length) {
    throw new Error(`store schema version ${current} is newer than this acictl understands (${migrations.length})`);
  }
  for (let v = current; v < migrations.length; v++) {
    db.exec('BEGIN IMMEDIATE');
    try {
      migrations[v](db);
      db.exec(`PRAGMA user_version = ${v + 1}`);
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }
  return migrations.length;
}

export class SqliteStore implements Store {
  private readonly feed = new ChangeFeed();
  private readonly gate = new TxGate();
  /** A synchronous write is running (a nested one joins it). */
  private syncDepth = 0;
  /** A transaction holding deferred writes is open (depth is 0 between them). */
  private deferredOpen = false;
  private deferredAfter: (() => void)[] = [];
  private readonly onDeferredCommitError: ((err: Error) => void) | undefined;
  private rv: number;
  private rvAtBegin = 0;
  private closed = false;
  private readonly now: () => number;
  private readonly eventsPerJob: number;
  private readonly q: Record<string, StatementSync>;

  /** Open (creating if needed) and migrate the store file. */
  static open(file: string, opts: SqliteStoreOptions = {}): SqliteStore {
    return new SqliteStore(file, opts);
  }

  private constructor(
    readonly file: string,
    opts: SqliteStoreOptions,
    private readonly db = new DatabaseSync(file, { timeout: opts.busyTimeoutMs ?? 5000 }),
  ) {
    this.now = opts.now ?? (() => Date.now());
    this.eventsPerJob = opts.eventsPerJob ?? DEFAULT_EVENTS_PER_JOB;
    this.onDeferredCommitError = opts.onDeferredCommitError;
    try {
      db.exec('PRAGMA journal_mode = WAL');
      db.exec('PRAGMA synchronous = NORMAL');
      db.exec('PRAGMA foreign_keys = ON');
      migrate(db, opts.migrations ?? MIGRATIONS);
    } catch (err) {
      db.close();
      throw err;
    }
    this.q = {
      getRv: db.prepare(`SELECT value FROM meta WHERE key = 'resourceVersion'`),
      setRv: db.prepare(`UPDATE meta SET value = ? WHERE key = 'resourceVersion'`),
      listJobs: db.prepare('SELECT * FROM jobs ORDER BY name'),
      listJobNames: db.prepare('SELECT name FROM jobs ORDER BY name'),
      listJobLabels: db.prepare('SELECT name, labels FROM jobs ORDER BY name'),
      getJob: db.prepare('SELECT * FROM jobs WHERE name = ?'),
      getJobRv: db.prepare('SELECT resource_version FROM jobs WHERE name = ?'),
      putJob: db.prepare(`
        INSERT INTO jobs (name, uid, resource_version, generation, creation_timestamp, deletion_timestamp,
                          finalizers, labels, annotations, spec, source, status)
        VALUES ($name, $uid, $resource_version, $generation, $creation_timestamp, $deletion_timestamp, $finalizers, $labels, $annotations, $spec, $source, $status)
        ON CONFLICT (name) DO UPDATE SET uid = excluded.uid, resource_version = excluded.resource_version,
          generation = excluded.generation, creation_timestamp = excluded.creation_timestamp,
          deletion_timestamp = excluded.deletion_timestamp, finalizers = excluded.finalizers,
          labels = excluded.labels, annotations = excluded.annotations, spec = excluded.spec,
          source = excluded.source, status = excluded.status`),
      putStatus: db.prepare('UPDATE jobs SET status = ?, resource_version = ? WHERE name = ? RETURNING *'),
      deleteJob: db.prepare('DELETE FROM jobs WHERE name = ? RETURNING *'),
      deleteJobRuns: db.prepare('DELETE FROM runs WHERE job = ? RETURNING id, record'),
      deleteJobLogs: db.prepare('DELETE FROM logs WHERE run_id IN (SELECT id FROM runs WHERE job = ?)'),
      deleteJobEvents: db.prepare('DELETE FROM events WHERE job = ?'),
      deleteJobSched: db.prepare('DELETE FROM scheduler_state WHERE job = ?'),
      getSched: db.prepare('SELECT state FROM scheduler_state WHERE job = ?'),
      putSched: db.prepare(
        'INSERT INTO scheduler_state (job, state) VALUES (?, ?) ON CONFLICT (job) DO UPDATE SET state = excluded.state',
      ),
      listRuns: db.prepare('SELECT record FROM runs ORDER BY job, scheduled_time, id'),
      listRunJobs: db.prepare('SELECT id, job FROM runs ORDER BY job, scheduled_time, id'),
      listRunsV: db.prepare('SELECT record, resource_version FROM runs ORDER BY job, scheduled_time, id'),
      listRunsOfV: db.prepare('SELECT record, resource_version FROM runs WHERE job = ? ORDER BY scheduled_time, id'),
      listRunsOf: db.prepare('SELECT record FROM runs WHERE job = ? ORDER BY scheduled_time, id'),
      getRun: db.prepare('SELECT job, record, resource_version FROM runs WHERE id = ?'),
      hasRun: db.prepare('SELECT 1 AS x FROM runs WHERE id = ?'),
      putRun: db.prepare(`
        INSERT INTO runs (id, job, scheduled_time, resource_version, record) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET job = excluded.job, scheduled_time = excluded.scheduled_time,
          resource_version = excluded.resource_version, record = excluded.record`),
      deleteRun: db.prepare('DELETE FROM runs WHERE id = ? RETURNING record'),
      deleteRunLogs: db.prepare('DELETE FROM logs WHERE run_id = ?'),
      putLog: db.prepare(`
        INSERT INTO logs (run_id, attempt, container, content) VALUES (?, ?, ?, ?)
        ON CONFLICT (run_id, attempt, container) DO UPDATE SET content = excluded.content`),
      getLogs: db.prepare('SELECT container, content FROM logs WHERE run_id = ? AND attempt = ? ORDER BY rowid'),
      getLog: db.prepare('SELECT container, content FROM logs WHERE run_id = ? AND attempt = ? AND container = ?'),
      addEvent: db.prepare('INSERT INTO events (job, run, time, type, reason, message) VALUES (?, ?, ?, ?, ?, ?)'),
      capEvents: db.prepare(`
        DELETE FROM events WHERE job = $job AND id <= (
          SELECT id FROM events WHERE job = $job ORDER BY id DESC LIMIT 1 OFFSET $keep)`),
      eventsOf: db.prepare('SELECT * FROM (SELECT * FROM events WHERE job = ? ORDER BY id DESC LIMIT ?) ORDER BY id'),
      eventsAll: db.prepare('SELECT * FROM (SELECT * FROM events ORDER BY id DESC LIMIT ?) ORDER BY id'),
      getSecret: db.prepare('SELECT value FROM secrets WHERE name = ?'),
      putSecret: db.prepare('INSERT INTO secrets (name, value) VALUES (?, ?)'),
      enqueue: db.prepare(`
        INSERT INTO outbox (id, job, event, target, payload, created_at, state, attempts, next_attempt_at, last_error, finished_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`),
      getOutbox: db.prepare('SELECT * FROM outbox WHERE id = ?'),
      listOutbox: db.prepare(`
        SELECT * FROM outbox WHERE ($job IS NULL OR job = $job) AND ($state IS NULL OR state = $state)
          AND ($due IS NULL OR next_attempt_at <= $due) ORDER BY next_attempt_at, id LIMIT $limit`),
      updateOutbox: db.prepare('UPDATE outbox SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?, finished_at = ? WHERE id = ?'),
      pruneOutbox: db.prepare(`DELETE FROM outbox WHERE state <> 'Pending' AND coalesce(finished_at, 0) < ?`),
      deleteJobOutbox: db.prepare(`DELETE FROM outbox WHERE job = ? AND state <> 'Pending'`),
    };
    this.rv = Number((this.q.getRv.get() as Row).value);
  }

  // desired objects ---------------------------------------------------------------------------
  listJobs(): Promise<StoredJob[]> {
    return gated(this.gate, () => {
      this.open();
      return (this.q.listJobs.all() as Row[]).map(rowToJob);
    });
  }

  forEachJob(fn: (job: StoredJob) => void): Promise<void> {
    return gated(this.gate, () => {
      this.open();
      for (const row of this.q.listJobs.iterate() as Iterable<Row>) fn(rowToJob(row));
    });
  }

  getJobResourceVersion(name: string): Promise<number | undefined> {
    return gated(this.gate, () => {
      this.open();
      const row = this.q.getJobRv.get(name) as Row | undefined;
      return row ? Number(row.resource_version) : undefined;
    });
  }

  listJobNames(): Promise<string[]> {
    return gated(this.gate, () => {
      this.open();
      return (this.q.listJobNames.all() as Row[]).map((r) => r.name as string);
    });
  }

  getJob(name: string): Promise<StoredJob | undefined> {
    return gated(this.gate, () => {
      this.open();
      const row = this.q.getJob.get(name) as Row | undefined;
      return row ? rowToJob(row) : undefined;
    });
  }

  peekJob(name: string): Promise<{ labels: Record<string, string>; load: Lazy<StoredJob> } | undefined> {
    return gated(this.gate, () => {
      this.open();
      const row = this.q.getJob.get(name) as Row | undefined;
      return row ? { labels: JSON.parse(row.labels as string) as Record<string, string>, load: lazy(() => rowToJob(row)) } : undefined;
    });
  }

  listJobLabels(): Promise<{ name: string; labels: Record<string, string> }[]> {
    return gated(this.gate, () => {
      this.open();
      return (this.q.listJobLabels.all() as Row[]).map((row) => ({ name: row.name as string, labels: JSON.parse(row.labels as string) as Record<string, string> }));
    });
  }

  putJob(job: JobInput, expectedResourceVersion?: number): Promise<StoredJob> {
    return gated(this.gate, () => {
      return this.write(() => {
        const prevRow = this.q.getJob.get(job.name) as Row | undefined;
        const prev = prevRow ? rowToJob(prevRow) : undefined;
        checkExpected(job.name, prev, expectedResourceVersion, (m) => new StoreConflictError(m));
        const stored = nextJob(job, prev, ++this.rv, new Date(this.now()).toISOString());
        const row = jobRow(stored);
        this.q.putJob.run(row);
        const written = { labels: { ...stored.labels }, load: lazy(() => rowToJob(row)) };
        this.feed.queue({ resourceVersion: this.rv, resource: 'containerjobs', kind: prev ? 'MODIFIED' : 'ADDED', name: job.name, written });
        return stored;
      });
    });
  }

  putJobStatus(name: string, status: JobStatus): Promise<StoredJob | undefined> {
    return gated(this.gate, () => {
      return this.write(() => (this.writeStatusSync(name, status) ? rowToJob(this.q.getJob.get(name) as Row) : undefined));
    });
  }

  writeJobStatus(name: string, status: JobStatus): Promise<boolean> {
    return gated(this.gate, () => this.writeStatusSync(name, status));
  }

  private writeStatusSync(name: string, status: JobStatus): boolean {
    {
      return this.write(() => {
        const row = this.q.putStatus.get(JSON.stringify(status ?? {}), this.rv + 1, name) as Row | undefined;
        if (!row) return false;
        this.rv++;
        const written = { labels: JSON.parse(row.labels as string) as Record<string, string>, load: lazy(() => rowToJob(row)) };
        this.feed.queue({ resourceVersion: this.rv, resource: 'containerjobs', kind: 'MODIFIED', name, written });
        return true;
      });
    }
  }

  deleteJob(name: string): Promise<void> {
    return gated(this.gate, () => {
      this.write(() => {
        const row = this.q.deleteJob.get(name) as Row | undefined;
        if (!row) return;
        this.feed.queue({ resourceVersion: ++this.rv, resource: 'containerjobs', kind: 'DELETED', name, last: lazy(() => rowToJob(row)) });
        // the job's history goes with it: a job re-created under the same name starts clean
        this.q.deleteJobLogs.run(name);
        for (const r of this.q.deleteJobRuns.all(name) as Row[]) {
          const record = r.record as string;
          this.feed.queue({ resourceVersion: ++this.rv, resource: 'containerjobruns', kind: 'DELETED', name: r.id as string, last: lazy(() => JSON.parse(record) as RunRecord) });
        }
        this.q.deleteJobEvents.run(name);
        this.q.deleteJobSched.run(name);
        this.q.deleteJobOutbox.run(name);
      });
    });
  }

  // scheduler state ---------------------------------------------------------------------------
  getSchedulerState(job: string): Promise<SchedulerState | undefined> {
    return gated(this.gate, () => {
      this.open();
      const row = this.q.getSched.get(job) as Row | undefined;
      return row ? (JSON.parse(row.state as string) as SchedulerState) : undefined;
    });
  }

  putSchedulerState(job: string, state: SchedulerState): Promise<void> {
    return gated(this.gate, () => {
      this.write(() => {
        this.q.putSched.run(job, JSON.stringify(state));
      });
    });
  }

  // runs --------------------------------------------------------------------------------------
  listRuns(job?: string): Promise<RunRecord[]> {
    return gated(this.gate, () => {
      this.open();
      const rows = (job === undefined ? this.q.listRuns.all() : this.q.listRunsOf.all(job)) as Row[];
      return rows.map((r) => JSON.parse(r.record as string) as RunRecord);
    });
  }

  listRunsWithVersion(job?: string): Promise<{ run: RunRecord; resourceVersion: number }[]> {
    return gated(this.gate, () => {
      this.open();
      const rows = (job === undefined ? this.q.listRunsV.all() : this.q.listRunsOfV.all(job)) as Row[];
      return rows.map((r) => ({ run: JSON.parse(r.record as string) as RunRecord, resourceVersion: Number(r.resource_version) }));
    });
  }

  getRun(id: string): Promise<RunRecord | undefined> {
    return gated(this.gate, () => {
      this.open();
      const row = this.q.getRun.get(id) as Row | undefined;
      return row ? (JSON.parse(row.record as string) as RunRecord) : undefined;
    });
  }

  getRunResourceVersion(id: string): Promise<number | undefined> {
    return gated(this.gate, () => {
      this.open();
      const row = this.q.getRun.get(id) as Row | undefined;
      return row ? Number(row.resource_version) : undefined;
    });
  }

  peekRun(id: string): Promise<{ job: string; resourceVersion: number; load: Lazy<RunRecord> } | undefined> {
    return gated(this.gate, () => {
      this.open();
      const row = this.q.getRun.get(id) as Row | undefined;
      return row ? { job: row.job as string, resourceVersion: Number(row.resource_version), load: lazy(() => JSON.parse(row.record as string) as RunRecord) } : undefined;
    });
  }

  listRunJobs(): Promise<{ id: string; job: string }[]> {
    return gated(this.gate, () => {
      this.open();
      return (this.q.listRunJobs.all() as Row[]).map((row) => ({ id: row.id as string, job: row.job as string }));
    });
  }

  putRun(run: RunRecord): Promise<void> {
    return gated(this.gate, () => {
      this.write(() => {
        const existed = this.q.hasRun.get(run.id) !== undefined;
        const text = JSON.stringify(run);
        const rv = ++this.rv;
        this.q.putRun.run(run.id, run.job, run.scheduledTime, rv, text);
        const written = { job: run.job, resourceVersion: rv, load: lazy(() => JSON.parse(text) as RunRecord) };
        this.feed.queue({ resourceVersion: rv, resource: 'containerjobruns', kind: existed ? 'MODIFIED' : 'ADDED', name: run.id, written });
      });
    });
  }

  deleteRun(id: string): Promise<void> {
    return gated(this.gate, () => {
      this.write(() => {
        const row = this.q.deleteRun.get(id) as Row | undefined;
        if (!row) return;
        this.q.deleteRunLogs.run(id);
        const record = row.record as string;
        this.feed.queue({ resourceVersion: ++this.rv, resource: 'containerjobruns', kind: 'DELETED', name: id, last: lazy(() => JSON.parse(record) as RunRecord) });
      });
    });
  }

  // logs --------------------------------------------------------------------------------------
  putLog(runId: string, attempt: number, container: string, content: string): Promise<void> {
    return gated(this.gate, () => {
      this.write(() => {
        this.q.putLog.run(runId, attempt, container, content);
      });
    });
  }

  getLog(runId: string, attempt: number, container?: string): Promise<{ container: string; content: string }[]> {
    return gated(this.gate, () => {
      this.open();
      const rows = (container === undefined ? this.q.getLogs.all(runId, attempt) : this.q.getLog.all(runId, attempt, container)) as Row[];
      return rows.map((r) => ({ container: r.container as string, content: r.content as string }));
    });
  }

  // events ------------------------------------------------------------------------------------
  addEvent(event: StoredEvent): Promise<void> {
    return gated(this.gate, () => {
      this.write(() => {
        this.q.addEvent.run(event.job, event.run ?? null, event.time, event.type, event.reason, event.message);
        this.q.capEvents.run({ job: event.job, keep: this.eventsPerJob });
      });
    });
  }

  listEvents(job?: string, limit?: number): Promise<StoredEvent[]> {
    return gated(this.gate, () => {
      this.open();
      const max = limit !== undefined && limit >= 0 ? limit : -1; // LIMIT -1 = no limit
      const rows = (job === undefined ? this.q.eventsAll.all(max) : this.q.eventsOf.all(job, max)) as Row[];
      return rows.map((r) => {
        const e: StoredEvent = {
          id: Number(r.id),
          time: r.time as string,
          job: r.job as string,
          type: r.type as StoredEvent['type'],
          reason: r.reason as string,
          message: r.message as string,
        };
        if (r.run !== null) e.run = r.run as string;
        return e;
      });
    });
  }

  // notification outbox -----------------------------------------------------------------------
  enqueueNotification(e: OutboxEntry): Promise<boolean> {
    return gated(this.gate, () =>
      this.write(() => {
        const r = this.q.enqueue.run(e.id, e.job, e.event, e.target, e.payload, e.createdAt, e.state, e.attempts, e.nextAttemptAt, e.lastError ?? null, e.finishedAt ?? null);
        return Number(r.changes) === 1;
      }),
    );
  }

  getNotification(id: string): Promise<OutboxEntry | undefined> {
    return gated(this.gate, () => {
      this.open();
      const row = this.q.getOutbox.get(id) as Row | undefined;
      return row ? rowToOutbox(row) : undefined;
    });
  }

  listNotifications(q: OutboxQuery = {}): Promise<OutboxEntry[]> {
    return gated(this.gate, () => {
      this.open();
      const rows = this.q.listOutbox.all({ job: q.job ?? null, state: q.state ?? null, due: q.dueBy ?? null, limit: q.limit ?? -1 }) as Row[];
      return rows.map(rowToOutbox);
    });
  }

  updateNotification(id: string, u: OutboxUpdate): Promise<boolean> {
    return gated(this.gate, () =>
      this.write(() => Number(this.q.updateOutbox.run(u.state, u.attempts, u.nextAttemptAt, u.lastError ?? null, u.finishedAt ?? null, id).changes) === 1),
    );
  }

  pruneNotifications(before: number): Promise<number> {
    return gated(this.gate, () => this.write(() => Number(this.q.pruneOutbox.run(before).changes)));
  }

  // change feed -------------------------------------------------------------------------------
  currentResourceVersion(): Promise<number> {
    return gated(this.gate, () => {
      this.open();
      // outside a transaction, read the committed counter (another handle on the file may have written)
      if (!this.gate.inside() && !this.deferredOpen) this.rv = Number((this.q.getRv.get() as Row).value);
      return this.rv;
    });
  }

  onChange(listener: (change: Change) => void): () => void {
    return this.feed.subscribe(listener);
  }

  getOrCreateSecret(name: string): Promise<Buffer> {
    return gated(this.gate, () => {
      return this.write(() => {
        const row = this.q.getSecret.get(name) as Row | undefined;
        if (row) return Buffer.from(row.value as Uint8Array);
        const secret = randomBytes(32);
        this.q.putSecret.run(name, secret);
        return Buffer.from(secret);
      });
    });
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    this.open();
    if (this.gate.inside()) return fn(); // nested: joins the outer one
    return this.gate.hold(async () => {
      this.open();
      if (this.deferredOpen) {
        // Commits when it returns, as every write does — with what was deferred before it.
        const out = await this.inSavepoint(fn);
        this.flushSync();
        return out;
      }
      this.db.exec('BEGIN IMMEDIATE');
      // the write lock is held now: the counter cannot move under us
      this.rv = Number((this.q.getRv.get() as Row).value);
      this.rvAtBegin = this.rv;
      let out: T;
      try {
        out = await fn();
        if (this.closed) throw new Error('store is closed');
        if (this.rv !== this.rvAtBegin) this.q.setRv.run(this.rv);
        this.db.exec('COMMIT');
      } catch (err) {
        if (!this.closed && this.db.isTransaction) this.db.exec('ROLLBACK');
        this.rv = this.rvAtBegin;
        this.feed.discard();
        throw err;
      }
      this.feed.flush();
      return out;
    });
  }

  /**
   * See Store.transactionDeferred. Why: the reconciler's last stretch after an ARM call (the run
   * marked Running, the status) is followed by no external action, so its COMMIT can go with the
   * next transaction's — in a burst of 1,000 launches, one COMMIT per launch instead of two
   * (each COMMIT writes every page it touched to the WAL), and no one waits for it.
   */
  async transactionDeferred<T>(fn: () => Promise<T>, after?: () => void): Promise<T> {
    this.open();
    if (this.gate.inside()) throw new Error('transactionDeferred cannot run inside another transaction');
    return this.gate.hold(async () => {
      this.open();
      if (!this.deferredOpen) {
        this.db.exec('BEGIN IMMEDIATE');
        this.rv = Number((this.q.getRv.get() as Row).value);
        this.rvAtBegin = this.rv;
        this.deferredOpen = true;
        setImmediate(() => {
          void this.flush().catch((err: Error) => this.onDeferredCommitError?.(err));
        });
      }
      const out = await this.inSavepoint(fn);
      if (after) this.deferredAfter.push(after);
      return out;
    });
  }

  flush(): Promise<void> {
    return gated(this.gate, () => this.flushSync());
  }

  private flushSync(): void {
    if (!this.deferredOpen || this.closed) return;
    this.deferredOpen = false;
    const after = this.deferredAfter;
    this.deferredAfter = [];
    try {
      if (this.rv !== this.rvAtBegin) this.q.setRv.run(this.rv);
      this.db.exec('COMMIT');
    } catch (err) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      this.rv = this.rvAtBegin;
      this.feed.discard();
      throw err;
    }
    this.feed.flush();
    for (const f of after) f();
  }

  close(): Promise<void> {
    return gated(this.gate, () => this.closeSync());
  }

  /** Close at once (whatever holds the gate finds the store closed). */
  closeSync(): void {
    if (this.closed) return;
    try {
      this.flushSync();
    } catch {
      // closing anyway: what was deferred is gone, as after a crash
    }
    this.closed = true;
    this.db.close();
  }

  // internals ---------------------------------------------------------------------------------
  private open(): void {
    if (this.closed) throw new Error('store is closed');
  }

  /** Run `fn` in a savepoint of the open transaction: a throw undoes its writes only. */
  private async inSavepoint<T>(fn: () => Promise<T>): Promise<T> {
    const rvMark = this.rv;
    const feedMark = this.feed.mark();
    this.db.exec('SAVEPOINT part');
    try {
      const out = await fn();
      this.open();
      this.db.exec('RELEASE part');
      return out;
    } catch (err) {
      if (!this.closed) {
        this.db.exec('ROLLBACK TO part');
        this.db.exec('RELEASE part');
      }
      this.rv = rvMark;
      this.feed.discardAfter(feedMark);
      throw err;
    }
  }

  /** One synchronous write: joins the open transaction when called from inside it, else is its own. */
  private write<T>(fn: () => T): T {
    this.open();
    if (this.gate.inside() || this.syncDepth > 0) return fn();
    this.syncDepth++;
    try {
      return this.writeOwn(fn);
    } finally {
      this.syncDepth--;
    }
  }

  private writeOwn<T>(fn: () => T): T {
    if (this.deferredOpen) {
      // Commits when it returns, as every write does — with what was deferred before it.
      const rvMark = this.rv;
      const feedMark = this.feed.mark();
      this.db.exec('SAVEPOINT part');
      let out: T;
      try {
        out = fn();
        this.db.exec('RELEASE part');
      } catch (err) {
        this.db.exec('ROLLBACK TO part');
        this.db.exec('RELEASE part');
        this.rv = rvMark;
        this.feed.discardAfter(feedMark);
        throw err;
      }
      this.flushSync();
      return out;
    }
    this.db.exec('BEGIN IMMEDIATE');
    this.rv = Number((this.q.getRv.get() as Row).value);
    this.rvAtBegin = this.rv;
    try {
      const out = fn();
      if (this.rv !== this.rvAtBegin) this.q.setRv.run(this.rv);
      this.db.exec('COMMIT');
      this.feed.flush();
      return out;
    } catch (err) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      this.rv = this.rvAtBegin;
      this.feed.discard();
      throw err;
    }
  }
}

