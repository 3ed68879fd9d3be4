/**
 * The shared Store: PostgreSQL (`pg`), for several controller replicas on one database.
 *
 * Semantics are the SQLite store's (the same contract suite runs against both):
 * - Every write transaction takes one transaction-scoped advisory lock first, so write
 *   transactions are serialized across every process on the database, as SQLite's BEGIN
 *   IMMEDIATE serializes them on one file: a read-modify-write inside `transaction` cannot lose
 *   another replica's write, and resourceVersions are handed out in commit order.
 * - Reads outside a transaction go to the pool and see what is committed.
 * - Changes: each write also appends to the `changes` table. A process delivers its own changes
 *   after COMMIT (with the written objects at hand), and another process's changes by reading
 *   that table (woken by NOTIFY, and polled): listeners see every change once, in
 *   resourceVersion order, whoever wrote it — so the API's watches on a follower work.
 * - Fencing: a write transaction made in a fenced context (`withFence(token, fn)`: the leader's
 *   reconciles) first calls `acictl_fence($token)` in the database, which takes a share lock on
 *   the lease row and raises SQLSTATE 'AC001' unless `token` is the lease's current token. The
 *   lease cannot change hands before that transaction ends, so a stale leader's writes are
 *   refused by the database and never half-applied. `flush()` in a fenced context makes the same
 *   check: the reconciler calls it right before every ARM call.
 * - `transactionDeferred` commits at once (a networked COMMIT is not worth deferring, and an open
 *   transaction would hold the advisory lock).
 * - Connections run with `idle_in_transaction_session_timeout`, so a process frozen (SIGSTOP) in
 *   the middle of a transaction loses its session and its locks instead of blocking the others.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { Client, Pool, type PoolClient, type QueryResultRow } from 'pg';
import type { RunRecord, SchedulerState } from '../api/runs';
import { ChangeFeed, DEFAULT_EVENTS_PER_JOB, TxGate, checkExpected, lazy, jobRow, nextJob, rowToJob, rowToOutbox } from './common';
import { StoreConflictError } from './types';
import type { Change, JobInput, JobStatus, Lazy, OutboxEntry, OutboxQuery, OutboxUpdate, Store, StoredEvent, StoredJob } from './types';

/** The advisory lock key every write transaction takes ('acictl' in ASCII). */
const WRITE_LOCK = 0x616369637463;
const CHANNEL = 'acictl_changes';
/** Wake-ups for the leader: a job to reconcile now (a follower's API wrote its scheduler state, which makes no change row). */
const WAKE_CHANNEL = 'acictl_wake';
export const LEASE_NAME = 'controller';

/** Whether `url` names a PostgreSQL database (postgres:// or postgresql://). */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/** A write refused because the fencing token is no longer the lease's. */
export class FencedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FencedError';
  }
}

/** SQL migrations, applied in order at start-up (schema_migrations records each). */
export const PG_MIGRATIONS: readonly string[] = [
  // 1: the initial schema (what the SQLite store holds), the change log, the lease and fencing
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
  INSERT INTO meta (key, value) VALUES ('resourceVersion', 0);
  CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE jobs (
    name TEXT PRIMARY KEY,
    uid TEXT NOT NULL,
    resource_version BIGINT NOT NULL,
    generation BIGINT NOT NULL,
    creation_timestamp TEXT NOT NULL,
    deletion_timestamp TEXT,
    finalizers TEXT NOT NULL,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL,
    spec TEXT NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL
  );
  CREATE TABLE scheduler_state (job TEXT PRIMARY KEY, state TEXT NOT NULL);
  CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    job TEXT NOT NULL,
    scheduled_time BIGINT NOT NULL,
    resource_version BIGINT NOT NULL,
    record TEXT NOT NULL
  );
  CREATE INDEX runs_by_job ON runs (job, scheduled_time, id);
  CREATE TABLE logs (
    run_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    container TEXT NOT NULL,
    content TEXT NOT NULL,
    seq BIGSERIAL,
    PRIMARY KEY (run_id, attempt, container)
  );
  CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    job TEXT NOT NULL,
    run TEXT,
    time TEXT NOT NULL,
    type TEXT NOT NULL,
    reason TEXT NOT NULL,
    message TEXT NOT NULL
  );
  CREATE INDEX events_by_job ON events (job, id);
  CREATE TABLE secrets (name TEXT PRIMARY KEY, value BYTEA NOT NULL);
  CREATE TABLE changes (
    rv BIGINT PRIMARY KEY,
    resource TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    last TEXT
  );
  CREATE TABLE lease (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    token BIGINT NOT NULL,
    renew_time TIMESTAMPTZ NOT NULL,
    lease_duration_ms INTEGER NOT NULL,
    transitions INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE fencing_refusals (id BIGSERIAL PRIMARY KEY, token BIGINT NOT NULL, current BIGINT, at TIMESTAMPTZ NOT NULL DEFAULT now());
  CREATE FUNCTION acictl_fence(t BIGINT) RETURNS VOID LANGUAGE plpgsql AS $$
  DECLARE cur BIGINT;
  BEGIN
    SELECT token INTO cur FROM lease WHERE name = '${LEASE_NAME}' FOR SHARE;
    IF cur IS DISTINCT FROM t THEN
      RAISE EXCEPTION 'fencing token % is stale (the lease is at %)', t, cur USING ERRCODE = 'AC001';
    END IF;
  END $$;
  `,
  // 2: a change carries its object as written at that resourceVersion (ADDED/MODIFIED too), so a
  // follower never has to read the current row, which may already be gone or newer
  `ALTER TABLE changes RENAME COLUMN last TO object;`,
  // 3: the notification outbox (src/notify/)
  `
  CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    job TEXT NOT NULL,
    event TEXT NOT NULL,
    target TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    finished_at BIGINT
  );
  CREATE INDEX outbox_due ON outbox (state, next_attempt_at, id);
  CREATE INDEX outbox_by_job ON outbox (job);
  `,
  // 4: a refusal says what was refused (a store write, or the check right before an ARM call);
  // a change row says when it was written (bounded retention of the change log)
  `
  ALTER TABLE fencing_refusals ADD COLUMN what TEXT NOT NULL DEFAULT 'write';
  ALTER TABLE changes ADD COLUMN at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp();
  `,
  // 5: the leader's database session (backend pid of a connection it holds for its term): once
  // that session is gone (the process died, its socket closed) followers need not wait the lease out
  `ALTER TABLE lease ADD COLUMN holder_session INTEGER;`,
];

/** What a fenced refusal refused: a store write, or the check the reconciler makes right before an ARM call. */
export type FencedWhat = 'write' | 'arm';

/** Bounded retention of the change log (`changes`): rows older than `maxAgeMs`, or beyond the newest `maxRows`, are deleted. */
export interface ChangeRetention {
  maxAgeMs: number;
  maxRows: number;
  /** How often this process prunes (ms); 0: never (another replica does). */
  everyMs: number;
}

export const DEFAULT_CHANGE_RETENTION: ChangeRetention = { maxAgeMs: 10 * 60_000, maxRows: 100_000, everyMs: 60_000 };

export interface PostgresStoreOptions {
  now?: () => number;
  eventsPerJob?: number;
  /** Pool size (default 8). */
  poolSize?: number;
  /** How often other processes' changes are looked for besides NOTIFY (ms, default 1000). */
  pollMs?: number;
  /** Server-side limit on a transaction left open by a frozen process (ms, default 5000). */
  idleInTransactionTimeoutMs?: number;
  /** Called when reading other processes' changes fails (the store keeps trying). */
  onFeedError?: (err: Error) => void;
  /** Called for every fenced write or pre-ARM check the database refused. */
  onFencingRefusal?: (what: FencedWhat, token: number) => void;
  /** Change-log retention (default DEFAULT_CHANGE_RETENTION). */
  changeRetention?: Partial<ChangeRetention>;
  /** Called when this process had not delivered changes that were pruned: listeners were told to resync. */
  onResync?: (resourceVersion: number) => void;
  /** Waiting for a free connection (ms, default 10000): past it a read or write fails instead of waiting on. */
  connectionTimeoutMs?: number;
  /**
   * Waiting for a statement's answer (ms, default 30000): past it the statement fails and its
   * connection is discarded — a database behind a stalled network (no reset, no refusal) makes
   * reads and writes fail instead of hanging until TCP gives up, hours later.
   */
  queryTimeoutMs?: number;
}

interface Tx {
  /** The transaction's connection; a query sends the deferred statements before it, in the same round trip. */
  client: TxClient;
  live: boolean;
  /** NaN until the transaction has begun in the database (`await tx.client.begin()` before using it). */
  rv: number;
  rvAtBegin: number;
  changes: { change: Change; object: string }[];
  /**
   * What this transaction read or wrote, by key (null: absent). It holds the write lock, so no
   * one else writes meanwhile: a second read of the same row needs no round trip.
   */
  schedulerStates: Map<string, string | null>;
  runs: Map<string, string | null>;
}

type Result = { rows: Row[]; rowCount: number | null };

/**
 * A transaction's connection. Statements whose result nobody needs (`defer`) are held and sent
 * with the next query, or with the COMMIT, as one simple-protocol query (their parameters as
 * literals): one round trip for all of them. An error in one of them fails that later query, and
 * with it the transaction (rolled back whole, as it would have been). The transaction's opening
 * statements (beginSql) are held the same way: the write lock is taken, and the fencing token
 * checked, in the round trip of the first query, before it runs.
 */
class TxClient {
  private pending: string[];
  /** Where the resourceVersion read by the opening statements is in the next batch (-1: already read). */
  private rvAt: number;
  private deferred = 0;
  /**
   * The first statement error of this transaction. The database aborts the transaction at it, so
   * nothing may be committed after it even if the caller caught it (a COMMIT would silently roll
   * back), and it is the cause to report (a fencing refusal, AC001, rather than the 25P02 of
   * whatever was sent after it).
   */
  failed: Error | undefined;

  constructor(
    readonly raw: PoolClient,
    opening: string[],
    private readonly onBegun: (rv: number) => void,
  ) {
    this.pending = [...opening];
    this.rvAt = opening.length - 1;
  }

  get begun(): boolean {
    return this.rvAt < 0;
  }

  /** Whether anything was written or read (nothing: there is nothing to commit either). */
  get used(): boolean {
    return this.begun || this.deferred > 0;
  }

  defer(sql: string, params: unknown[] = []): void {
    this.pending.push(inline(sql, params));
    this.deferred++;
  }

  async query(sql: string, params: unknown[] = []): Promise<Result> {
    if (this.pending.length === 0) return this.raw.query(sql, params).catch((err: Error) => this.fail(err));
    const results = await this.send(inline(sql, params));
    return results[results.length - 1];
  }

  private fail(err: Error): never {
    this.failed ??= err;
    throw err;
  }

  /** Begin in the database now, if not yet (the resourceVersion is needed before the next query). */
  async begin(): Promise<void> {
    if (!this.begun) await this.send();
  }

  /** What is held, followed by `last`, in one round trip; every statement's result. */
  async send(last?: string): Promise<Result[]> {
    const batch = last === undefined ? this.pending : [...this.pending, last];
    this.pending = [];
    const out = (await this.raw.query(batch.join('; ')).catch((err: Error) => this.fail(err))) as unknown as Result | Result[];
    const results = Array.isArray(out) ? out : [out];
    if (this.rvAt >= 0) {
      const at = this.rvAt;
      this.rvAt = -1;
      this.onBegun(Number(results[at].rows[0].value));
    }
    return results;
  }
}

type Row = QueryResultRow;

/** Run pending migrations (under an advisory lock: replicas starting together apply each once). */
export async function migratePostgres(client: Client | PoolClient, migrations: readonly string[] = PG_MIGRATIONS): Promise<number> {
  await client.query('SELECT pg_advisory_lock($1)', [WRITE_LOCK + 1]);
  try {
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    const { rows } = await client.query('SELECT coalesce(max(version), 0) AS v FROM schema_migrations');
    const current = Number(rows[0].v);
    if (current > migrations.length) throw new Error(`store schema version ${current} is newer than this acictl understands (${migrations.length})`);
    for (let v = current; v < migrations.length; v++) {
      await client.query('BEGIN');
      try {
        await client.query(migrations[v]);
        await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [v + 1]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    }
    return migrations.length;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [WRITE_LOCK + 1]);
  }
}

/** Fencing context: store writes made inside `fn` (followed through awaits) carry `token`. */
const fenceContext = new AsyncLocalStorage<{ token: number }>();

export function withFence<T>(token: number, fn: () => T): T {
  return fenceContext.run({ token }, fn);
}

export class PostgresStore implements Store {
  private readonly feed = new ChangeFeed();
  private readonly gate = new TxGate();
  private readonly als = new AsyncLocalStorage<Tx>();
  private readonly now: () => number;
  private readonly eventsPerJob: number;
  /** Every change up to here has been delivered to listeners. */
  private delivered = 0;
  private closed = false;
  private listener: Client | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private catching: Promise<void> | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private readonly wakeListeners = new Set<(name: string) => void>();
  private relistenTimer: NodeJS.Timeout | null = null;
  /** Fenced writes refused by the database so far. */
  fencingRefusals = 0;
  /** Times other processes' changes were lost to pruning and listeners told to resync; rows pruned by this process. */
  readonly feedStats = { resyncs: 0, pruned: 0, relistens: 0 };

  private constructor(
    private readonly pool: Pool,
    private readonly url: string,
    private readonly opts: PostgresStoreOptions,
  ) {
    this.now = opts.now ?? (() => Date.now());
    this.eventsPerJob = opts.eventsPerJob ?? DEFAULT_EVENTS_PER_JOB;
  }

  /** Connect, migrate, and follow other processes' changes. */
  static async open(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const timeout = opts.idleInTransactionTimeoutMs ?? 5000;
    const pool = new Pool({
      connectionString: url,
      max: opts.poolSize ?? 8,
      options: `-c idle_in_transaction_session_timeout=${timeout}`,
      connectionTimeoutMillis: opts.connectionTimeoutMs ?? 10_000,
      query_timeout: opts.queryTimeoutMs ?? 30_000,
      keepAlive: true,
    });
    pool.on('error', () => undefined); // an idle client lost (server restart): the next query reconnects
    const store = new PostgresStore(pool, url, opts);
    try {
      const c = await pool.connect();
      try {
        await migratePostgres(c);
      } finally {
        c.release();
      }
      store.delivered = await store.committedRv();
      await store.follow();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  /** The underlying pool (leader election shares it). */
  get db(): Pool {
    return this.pool;
  }

  // desired objects ---------------------------------------------------------------------------
  async listJobs(): Promise<StoredJob[]> {
    return (await this.q('SELECT * FROM jobs ORDER BY name COLLATE "C"')).map(rowToJob);
  }

  async forEachJob(fn: (job: StoredJob) => void): Promise<void> {
    for (const j of await this.listJobs()) fn(j);
  }

  async listJobNames(): Promise<string[]> {
    return (await this.q('SELECT name FROM jobs ORDER BY name COLLATE "C"')).map((r) => r.name as string);
  }

  async getJob(name: string): Promise<StoredJob | undefined> {
    const rows = await this.q('SELECT * FROM jobs WHERE name = $1', [name]);
    return rows[0] ? rowToJob(rows[0]) : undefined;
  }

  async getJobResourceVersion(name: string): Promise<number | undefined> {
    const rows = await this.q('SELECT resource_version FROM jobs WHERE name = $1', [name]);
    return rows[0] ? Number(rows[0].resource_version) : undefined;
  }

  async peekJob(name: string): Promise<{ labels: Record<string, string>; load: Lazy<StoredJob> } | undefined> {
    const rows = await this.q('SELECT * FROM jobs WHERE name = $1', [name]);
    const row = rows[0];
    return row ? { labels: JSON.parse(row.labels as string) as Record<string, string>, load: lazy(() => rowToJob(row)) } : undefined;
  }

  async listJobLabels(): Promise<{ name: string; labels: Record<string, string> }[]> {
    return (await this.q('SELECT name, labels FROM jobs ORDER BY name COLLATE "C"')).map((r) => ({ name: r.name as string, labels: JSON.parse(r.labels as string) as Record<string, string> }));
  }

  putJob(job: JobInput, expectedResourceVersion?: number): Promise<StoredJob> {
    return this.write(async (tx) => {
      const prevRows = await tx.client.query('SELECT * FROM jobs WHERE name = $1', [job.name]);
      const prev = prevRows.rows[0] ? rowToJob(prevRows.rows[0]) : undefined;
      checkExpected(job.name, prev, expectedResourceVersion, (m) => new StoreConflictError(m));
      const stored = nextJob(job, prev, ++tx.rv, new Date(this.now()).toISOString());
      const row = jobRow(stored);
      tx.client.defer(
        `INSERT INTO jobs (name, uid, resource_version, generation, creation_timestamp, deletion_timestamp, finalizers, labels, annotations, spec, source, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (name) DO UPDATE SET uid = excluded.uid, resource_version = excluded.resource_version,
           generation = excluded.generation, creation_timestamp = excluded.creation_timestamp,
           deletion_timestamp = excluded.deletion_timestamp, finalizers = excluded.finalizers, labels = excluded.labels,
           annotations = excluded.annotations, spec = excluded.spec, source = excluded.source, status = excluded.status`,
        [row.name, row.uid, row.resource_version, row.generation, row.creation_timestamp, row.deletion_timestamp, row.finalizers, row.labels, row.annotations, row.spec, row.source, row.status],
      );
      const written = { labels: { ...stored.labels }, load: lazy(() => rowToJob(row)) };
      this.queue(tx, { resourceVersion: tx.rv, resource: 'containerjobs', kind: prev ? 'MODIFIED' : 'ADDED', name: job.name, written }, JSON.stringify(stored));
      return stored;
    });
  }

  async putJobStatus(name: string, status: JobStatus): Promise<StoredJob | undefined> {
    return this.write(async (tx) => {
      const row = await this.statusWrite(tx, name, status);
      return row ? rowToJob(row) : undefined;
    });
  }

  async writeJobStatus(name: string, status: JobStatus): Promise<boolean> {
    return this.write(async (tx) => (await this.statusWrite(tx, name, status)) !== undefined);
  }

  private async statusWrite(tx: Tx, name: string, status: JobStatus): Promise<Row | undefined> {
    await tx.client.begin();
    const { rows } = await tx.client.query('UPDATE jobs SET status = $1, resource_version = $2 WHERE name = $3 RETURNING *', [JSON.stringify(status ?? {}), tx.rv + 1, name]);
    const row = rows[0];
    if (!row) return undefined;
    tx.rv++;
    const written = { labels: JSON.parse(row.labels as string) as Record<string, string>, load: lazy(() => rowToJob(row)) };
    this.queue(tx, { resourceVersion: tx.rv, resource: 'containerjobs', kind: 'MODIFIED', name, written }, JSON.stringify(rowToJob(row)));
    return row;
  }

  deleteJob(name: string): Promise<void> {
    return this.write(async (tx) => {
      const { rows } = await tx.client.query('DELETE FROM jobs WHERE name = $1 RETURNING *', [name]);
      const row = rows[0];
      if (!row) return;
      this.queue(tx, { resourceVersion: ++tx.rv, resource: 'containerjobs', kind: 'DELETED', name, last: lazy(() => rowToJob(row)) }, JSON.stringify(rowToJob(row)));
      // the job's history goes with it (as SqliteStore): a job re-created under the same name starts clean
      await tx.client.query('DELETE FROM logs WHERE run_id IN (SELECT id FROM runs WHERE job = $1)', [name]);
      const runs = await tx.client.query('DELETE FROM runs WHERE job = $1 RETURNING id, record', [name]);
      for (const r of runs.rows) {
        const record = r.record as string;
        this.queue(tx, { resourceVersion: ++tx.rv, resource: 'containerjobruns', kind: 'DELETED', name: r.id as string, last: lazy(() => JSON.parse(record) as RunRecord) }, record);
      }
      await tx.client.query('DELETE FROM events WHERE job = $1', [name]);
      await tx.client.query('DELETE FROM scheduler_state WHERE job = $1', [name]);
      tx.schedulerStates.delete(name);
      tx.runs.clear(); // its runs are gone (by job, not by id)
      await tx.client.query(`DELETE FROM outbox WHERE job = $1 AND state <> 'Pending'`, [name]);
    });
  }

  // scheduler state ---------------------------------------------------------------------------
  async getSchedulerState(job: string): Promise<SchedulerState | undefined> {
    const tx = this.tx();
    let text = tx?.schedulerStates.get(job);
    if (text === undefined) {
      const rows = await this.q('SELECT state FROM scheduler_state WHERE job = $1', [job]);
      text = rows[0] ? (rows[0].state as string) : null;
      tx?.schedulerStates.set(job, text);
    }
    return text === null ? undefined : (JSON.parse(text) as SchedulerState);
  }

  putSchedulerState(job: string, state: SchedulerState): Promise<void> {
    return this.write(async (tx) => {
      const text = JSON.stringify(state);
      tx.client.defer('INSERT INTO scheduler_state (job, state) VALUES ($1, $2) ON CONFLICT (job) DO UPDATE SET state = excluded.state', [job, text]);
      tx.schedulerStates.set(job, text);
    });
  }

  // runs --------------------------------------------------------------------------------------
  async listRuns(job?: string): Promise<RunRecord[]> {
    return (await this.listRunsWithVersion(job)).map((r) => r.run);
  }

  async listRunsWithVersion(job?: string): Promise<{ run: RunRecord; resourceVersion: number }[]> {
    const rows =
      job === undefined
        ? await this.q('SELECT record, resource_version FROM runs ORDER BY job COLLATE "C", scheduled_time, id COLLATE "C"')
        : await this.q('SELECT record, resource_version FROM runs WHERE job = $1 ORDER BY scheduled_time, id COLLATE "C"', [job]);
    return rows.map((r) => ({ run: JSON.parse(r.record as string) as RunRecord, resourceVersion: Number(r.resource_version) }));
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const tx = this.tx();
    let text = tx?.runs.get(id);
    if (text === undefined) {
      const rows = await this.q('SELECT record FROM runs WHERE id = $1', [id]);
      text = rows[0] ? (rows[0].record as string) : null;
      tx?.runs.set(id, text);
    }
    return text === null ? undefined : (JSON.parse(text) as RunRecord);
  }

  async getRunResourceVersion(id: string): Promise<number | undefined> {
    const rows = await this.q('SELECT resource_version FROM runs WHERE id = $1', [id]);
    return rows[0] ? Number(rows[0].resource_version) : undefined;
  }

  async peekRun(id: string): Promise<{ job: string; resourceVersion: number; load: Lazy<RunRecord> } | undefined> {
    const rows = await this.q('SELECT job, record, resource_version FROM runs WHERE id = $1', [id]);
    const row = rows[0];
    return row ? { job: row.job as string, resourceVersion: Number(row.resource_version), load: lazy(() => JSON.parse(row.record as string) as RunRecord) } : undefined;
  }

  async listRunJobs(): Promise<{ id: string; job: string }[]> {
    return (await this.q('SELECT id, job FROM runs ORDER BY job COLLATE "C", scheduled_time, id COLLATE "C"')).map((r) => ({ id: r.id as string, job: r.job as string }));
  }

  putRun(run: RunRecord): Promise<void> {
    return this.write(async (tx) => {
      const text = JSON.stringify(run);
      await tx.client.begin();
      const rv = ++tx.rv;
      const upsert = `INSERT INTO runs (id, job, scheduled_time, resource_version, record) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET job = excluded.job, scheduled_time = excluded.scheduled_time,
           resource_version = excluded.resource_version, record = excluded.record`;
      const params = [run.id, run.job, run.scheduledTime, rv, text];
      // Whether it is new (ADDED or MODIFIED): known without asking when this transaction read or wrote it.
      const known = tx.runs.get(run.id);
      let inserted: boolean;
      if (known !== undefined) {
        inserted = known === null;
        tx.client.defer(upsert, params);
      } else {
        inserted = Boolean((await tx.client.query(`${upsert} RETURNING (xmax = 0) AS inserted`, params)).rows[0].inserted);
      }
      tx.runs.set(run.id, text);
      const written = { job: run.job, resourceVersion: rv, load: lazy(() => JSON.parse(text) as RunRecord) };
      this.queue(tx, { resourceVersion: rv, resource: 'containerjobruns', kind: inserted ? 'ADDED' : 'MODIFIED', name: run.id, written }, text);
    });
  }

  deleteRun(id: string): Promise<void> {
    return this.write(async (tx) => {
      const { rows } = await tx.client.query('DELETE FROM runs WHERE id = $1 RETURNING record', [id]);
      tx.runs.set(id, null);
      if (!rows[0]) return;
      tx.client.defer('DELETE FROM logs WHERE run_id = $1', [id]);
      const record = rows[0].record as string;
      this.queue(tx, { resourceVersion: ++tx.rv, resource: 'containerjobruns', kind: 'DELETED', name: id, last: lazy(() => JSON.parse(record) as RunRecord) }, record);
    });
  }

  // logs --------------------------------------------------------------------------------------
  putLog(runId: string, attempt: number, container: string, content: string): Promise<void> {
    return this.write(async (tx) => {
      tx.client.defer(
        'INSERT INTO logs (run_id, attempt, container, content) VALUES ($1, $2, $3, $4) ON CONFLICT (run_id, attempt, container) DO UPDATE SET content = excluded.content',
        [runId, attempt, container, content],
      );
    });
  }

  async getLog(runId: string, attempt: number, container?: string): Promise<{ container: string; content: string }[]> {
    const rows =
      container === undefined
        ? await this.q('SELECT container, content FROM logs WHERE run_id = $1 AND attempt = $2 ORDER BY seq', [runId, attempt])
        : await this.q('SELECT container, content FROM logs WHERE run_id = $1 AND attempt = $2 AND container = $3', [runId, attempt, container]);
    return rows.map((r) => ({ container: r.container as string, content: r.content as string }));
  }

  // events ------------------------------------------------------------------------------------
  addEvent(event: StoredEvent): Promise<void> {
    return this.write(async (tx) => {
      tx.client.defer('INSERT INTO events (job, run, time, type, reason, message) VALUES ($1, $2, $3, $4, $5, $6)', [
        event.job,
        event.run ?? null,
        event.time,
        event.type,
        event.reason,
        event.message,
      ]);
      tx.client.defer('DELETE FROM events WHERE job = $1 AND id <= (SELECT id FROM events WHERE job = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)', [event.job, this.eventsPerJob]);
    });
  }

  async listEvents(job?: string, limit?: number): Promise<StoredEvent[]> {
    const max = limit !== undefined && limit >= 0 ? limit : null; // LIMIT NULL = no limit
    const rows =
      job === undefined
        ? await this.q('SELECT * FROM (SELECT * FROM events ORDER BY id DESC LIMIT $1) e ORDER BY id', [max])
        : await this.q('SELECT * FROM (SELECT * FROM events WHERE job = $1 ORDER BY id DESC LIMIT $2) e ORDER BY id', [job, max]);
    return rows.map((r) => {
      const e: StoredEvent = { id: Number(r.id), time: r.time as string, job: r.job as string, type: r.type as StoredEvent['type'], reason: r.reason as string, message: r.message as string };
      if (r.run !== null) e.run = r.run as string;
      return e;
    });
  }

  // notification outbox -----------------------------------------------------------------------
  enqueueNotification(e: OutboxEntry): Promise<boolean> {
    return this.write(async (tx) => {
      const r = await tx.client.query(
        `INSERT INTO outbox (id, job, event, target, payload, created_at, state, attempts, next_attempt_at, last_error, finished_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING`,
        [e.id, e.job, e.event, e.target, e.payload, e.createdAt, e.state, e.attempts, e.nextAttemptAt, e.lastError ?? null, e.finishedAt ?? null],
      );
      return r.rowCount === 1;
    });
  }

  async getNotification(id: string): Promise<OutboxEntry | undefined> {
    const rows = await this.q('SELECT * FROM outbox WHERE id = $1', [id]);
    return rows[0] ? rowToOutbox(rows[0]) : undefined;
  }

  async listNotifications(q: OutboxQuery = {}): Promise<OutboxEntry[]> {
    const rows = await this.q(
      `SELECT * FROM outbox WHERE ($1::text IS NULL OR job = $1) AND ($2::text IS NULL OR state = $2)
         AND ($3::bigint IS NULL OR next_attempt_at <= $3) ORDER BY next_attempt_at, id COLLATE "C" LIMIT $4`,
      [q.job ?? null, q.state ?? null, q.dueBy ?? null, q.limit ?? null],
    );
    return rows.map(rowToOutbox);
  }

  updateNotification(id: string, u: OutboxUpdate): Promise<boolean> {
    return this.write(async (tx) => {
      const r = await tx.client.query('UPDATE outbox SET state = $1, attempts = $2, next_attempt_at = $3, last_error = $4, finished_at = $5 WHERE id = $6', [
        u.state,
        u.attempts,
        u.nextAttemptAt,
        u.lastError ?? null,
        u.finishedAt ?? null,
        id,
      ]);
      return r.rowCount === 1;
    });
  }

  pruneNotifications(before: number): Promise<number> {
    return this.write(async (tx) => {
      const r = await tx.client.query(`DELETE FROM outbox WHERE state <> 'Pending' AND coalesce(finished_at, 0) < $1`, [before]);
      return r.rowCount ?? 0;
    });
  }

  // change feed -------------------------------------------------------------------------------
  async currentResourceVersion(): Promise<number> {
    const tx = this.tx();
    if (tx) {
      await tx.client.begin();
      return tx.rv;
    }
    return this.committedRv();
  }

  onChange(listener: (change: Change) => void): () => void {
    return this.feed.subscribe(listener);
  }

  onResync(listener: (resourceVersion: number) => void): () => void {
    return this.feed.subscribeResync(listener);
  }

  /**
   * Ask whichever process leads to reconcile `name` now (NOTIFY): for writes that make no change
   * row (scheduler state: a manual trigger, a suspend override) made by a follower. Best effort: a
   * wake-up sent while the leader's LISTEN connection is down is lost (the job's own timers and a
   * new leader's full resync still come).
   */
  async wake(name: string): Promise<void> {
    this.open();
    await this.pool.query(`SELECT pg_notify('${WAKE_CHANNEL}', $1)`, [name]);
  }

  private emitWake(name: string): void {
    for (const w of [...this.wakeListeners]) {
      try {
        w(name);
      } catch {
        // a faulty listener must not break the feed
      }
    }
  }

  /** `name` is '' after the LISTEN connection was re-opened: wake-ups may have been lost meanwhile. */
  onWake(listener: (name: string) => void): () => void {
    this.wakeListeners.add(listener);
    return () => {
      this.wakeListeners.delete(listener);
    };
  }

  /**
   * Delete change-log rows older than the retention age or beyond the newest `maxRows` (always a
   * prefix: every row up to a resourceVersion, so what is left has no holes). Any replica may run
   * it. A process that had not yet delivered a pruned row finds out (catchUp) and resyncs.
   */
  async pruneChanges(retention: Partial<ChangeRetention> = {}): Promise<number> {
    this.open();
    const r = { ...DEFAULT_CHANGE_RETENTION, ...this.opts.changeRetention, ...retention };
    const { rowCount } = await this.pool.query(
      `DELETE FROM changes WHERE rv <= greatest(
         (SELECT max(rv) FROM changes WHERE at < clock_timestamp() - make_interval(secs => $1::double precision / 1000)),
         (SELECT max(rv) FROM changes) - $2::bigint)`,
      [r.maxAgeMs, r.maxRows],
    );
    this.feedStats.pruned += rowCount ?? 0;
    return rowCount ?? 0;
  }

  getOrCreateSecret(name: string): Promise<Buffer> {
    return this.write(async (tx) => {
      const { rows } = await tx.client.query('SELECT value FROM secrets WHERE name = $1', [name]);
      if (rows[0]) return Buffer.from(rows[0].value as Buffer);
      const secret = randomBytes(32);
      await tx.client.query('INSERT INTO secrets (name, value) VALUES ($1, $2)', [name, secret]);
      return Buffer.from(secret);
    });
  }

  /** A shared setting (e.g. the instance id every replica tags groups with), created with `make` on first use. */
  getOrCreateSetting(key: string, make: () => string): Promise<string> {
    return this.write(async (tx) => {
      const { rows } = await tx.client.query('SELECT value FROM settings WHERE key = $1', [key]);
      if (rows[0]) return rows[0].value as string;
      const value = make();
      await tx.client.query('INSERT INTO settings (key, value) VALUES ($1, $2)', [key, value]);
      return value;
    });
  }

  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.write(() => fn());
  }

  async transactionDeferred<T>(fn: () => Promise<T>, after?: () => void): Promise<T> {
    if (this.tx()) throw new Error('transactionDeferred cannot run inside another transaction');
    const out = await this.transaction(fn);
    after?.();
    return out;
  }

  /** Nothing is deferred here; in a fenced context, the fencing token is checked in the database (before an ARM call). */
  async flush(): Promise<void> {
    this.open();
    const fence = fenceContext.getStore();
    if (!fence) return;
    try {
      await this.pool.query('SELECT acictl_fence($1)', [fence.token]);
    } catch (err) {
      throw this.fenceError(err, fence.token, 'arm');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    if (this.relistenTimer) clearTimeout(this.relistenTimer);
    const l = this.listener;
    this.listener = null;
    await l?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }

  // internals ---------------------------------------------------------------------------------
  private open(): void {
    if (this.closed) throw new Error('store is closed');
  }

  private tx(): Tx | undefined {
    const t = this.als.getStore();
    return t && t.live ? t : undefined;
  }

  private async q(sql: string, params: unknown[] = []): Promise<Row[]> {
    this.open();
    const tx = this.tx();
    return (await (tx ? tx.client : this.pool).query(sql, params)).rows;
  }

  private async committedRv(): Promise<number> {
    const { rows } = await this.pool.query(`SELECT value FROM meta WHERE key = 'resourceVersion'`);
    return Number(rows[0].value);
  }

  /** `object`: the JSON of the object as written (ADDED/MODIFIED) or as it was (DELETED), for other processes. */
  private queue(tx: Tx, change: Change, object: string): void {
    if (!Number.isSafeInteger(change.resourceVersion)) throw new Error(`store: a change at resourceVersion ${change.resourceVersion} (the transaction had not begun)`);
    tx.changes.push({ change, object });
  }

  /** Run `fn` in a write transaction (joining the caller's when there is one). */
  private async write<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    this.open();
    const outer = this.tx();
    if (outer) return fn(outer);
    return this.gate.hold(async () => {
      this.open();
      const fence = fenceContext.getStore();
      const opening = beginSql(fence?.token);
      const client = await this.pool.connect();
      // A connection lost while checked out (the server stopped between two statements) emits
      // 'error' on the client, which would end the process unheard: the next statement fails instead.
      let lost: Error | undefined;
      const onLost = (e: Error): void => void (lost ??= e);
      client.on('error', onLost);
      // Write transactions are serialized, so every round trip in one is paid once per write by
      // the whole process: the opening statements go with the first query (TxClient), the
      // closing ones with the COMMIT (commitSql), and writes whose result nobody needs with either.
      const tx: Tx = { client: undefined as unknown as TxClient, live: true, rv: NaN, rvAtBegin: NaN, changes: [], schedulerStates: new Map(), runs: new Map() };
      tx.client = new TxClient(client, opening, (rv) => (tx.rv = tx.rvAtBegin = rv));
      let out: T;
      try {
        out = await this.als.run(tx, () => fn(tx));
        if (tx.client.failed) throw tx.client.failed; // a statement failed and was caught in fn: the transaction is void
        if (tx.client.used) await tx.client.send(commitSql(tx)); // else nothing was sent: nothing to commit
      } catch (caught) {
        tx.live = false;
        const err = tx.client.failed ?? caught; // the first failure is the cause
        let broken: Error | undefined = lost ?? (/Query read timeout/.test((err as Error)?.message ?? '') ? (err as Error) : undefined);
        // a connection that timed out or was lost is discarded (the server rolls back what it had)
        if (!broken) await client.query('ROLLBACK').catch((e: Error) => (broken = e));
        client.off('error', onLost);
        client.release(broken ?? lost); // a connection that cannot even roll back is dropped, not reused
        throw fence ? this.fenceError(err, fence.token, 'write') : err;
      }
      tx.live = false;
      client.off('error', onLost);
      client.release(lost);
      // Deliver in resourceVersion order: first what other processes committed before us.
      if (tx.rvAtBegin > this.delivered) await this.catchUp(tx.rvAtBegin);
      for (const { change } of tx.changes) this.deliver(change);
      return out;
    });
  }

  private fenceError(err: unknown, token: number, what: FencedWhat): unknown {
    if ((err as { code?: string }).code === 'AC001') {
      this.fencingRefusals++;
      this.opts.onFencingRefusal?.(what, token);
      void this.pool
        .query('INSERT INTO fencing_refusals (token, current, what) VALUES ($1, (SELECT token FROM lease WHERE name = $2), $3)', [token, LEASE_NAME, what])
        .catch(() => undefined);
      return new FencedError((err as Error).message);
    }
    return err;
  }

  private deliver(change: Change): void {
    if (change.resourceVersion <= this.delivered) return;
    this.delivered = change.resourceVersion;
    this.feed.queue(change);
    this.feed.flush();
  }

  /**
   * Listen for other processes' commits; poll as well (a NOTIFY can be missed while reconnecting).
   * A lost LISTEN connection (server restart, network) is re-opened with backoff; the poll goes on
   * meanwhile, so changes keep arriving, at the poll's pace.
   */
  private async follow(): Promise<void> {
    await this.listen();
    this.pollTimer = setInterval(() => {
      void this.catchUp().catch((err: Error) => this.opts.onFeedError?.(err));
    }, this.opts.pollMs ?? 1000);
    this.pollTimer.unref();
    const retention = { ...DEFAULT_CHANGE_RETENTION, ...this.opts.changeRetention };
    if (retention.everyMs > 0) {
      this.pruneTimer = setInterval(() => {
        void this.pruneChanges().catch((err: Error) => this.opts.onFeedError?.(err));
      }, retention.everyMs);
      this.pruneTimer.unref();
    }
  }

  private async listen(): Promise<void> {
    const l = new Client({ connectionString: this.url, connectionTimeoutMillis: this.opts.connectionTimeoutMs ?? 10_000, keepAlive: true });
    let lost = false;
    const onLost = (): void => {
      if (lost) return;
      lost = true;
      if (this.listener === l) this.listener = null;
      void l.end().catch(() => undefined);
      this.relisten(250);
    };
    let connected = false;
    l.on('notification', (msg) => {
      if (msg.channel === WAKE_CHANNEL) {
        if (msg.payload) this.emitWake(msg.payload);
        return;
      }
      // The payload is the committed resourceVersion: this process's own commits are delivered already.
      if (Number(msg.payload) > this.delivered) void this.catchUp().catch((err: Error) => this.opts.onFeedError?.(err));
    });
    l.on('error', () => connected && onLost()); // before connect too: an unhandled 'error' would end the process
    l.on('end', () => connected && onLost());
    try {
      await l.connect();
      await l.query(`LISTEN ${CHANNEL}; LISTEN ${WAKE_CHANNEL}`);
    } catch (err) {
      lost = true;
      await l.end().catch(() => undefined);
      throw err;
    }
    connected = true;
    if (this.closed) {
      await l.end().catch(() => undefined);
      return;
    }
    this.listener = l;
  }

  private relisten(delayMs: number): void {
    if (this.closed || this.relistenTimer) return;
    this.relistenTimer = setTimeout(() => {
      this.relistenTimer = null;
      if (this.closed) return;
      this.listen().then(
        () => {
          this.feedStats.relistens++;
          void this.catchUp().catch((err: Error) => this.opts.onFeedError?.(err)); // what was NOTIFYed while away
          this.emitWake(''); // wake-ups sent while away are lost: '' = any job may have been woken
        },
        (err: Error) => {
          this.opts.onFeedError?.(err);
          this.relisten(Math.min(delayMs * 2, 5000));
        },
      );
    }, delayMs);
    this.relistenTimer.unref();
  }

  /**
   * Deliver the changes other processes committed (up to `upTo`, or all). One reader at a time.
   * The rows and the head resourceVersion are read in one statement (one snapshot): every
   * resourceVersion has its row, so when the first row is not the next one expected (or there is
   * none though the head moved on), the rows in between were pruned before this process read
   * them: listeners are told to resync (list again), and delivery goes on after the gap.
   */
  private async catchUp(upTo?: number): Promise<void> {
    while (this.catching) await this.catching;
    if (this.closed || (upTo !== undefined && this.delivered >= upTo)) return;
    this.catching = (async () => {
      const { rows } = await this.pool.query(
        `SELECT m.value AS head, c.rv, c.resource, c.kind, c.name, c.object FROM meta m
           LEFT JOIN changes c ON c.rv > $1 ${upTo !== undefined ? 'AND c.rv <= $2' : ''}
          WHERE m.key = 'resourceVersion' ORDER BY c.rv`,
        upTo !== undefined ? [this.delivered, upTo] : [this.delivered],
      );
      if (rows.length === 0) return;
      const head = Math.min(Number(rows[0].head), upTo ?? Infinity);
      const first = rows[0].rv === null ? null : Number(rows[0].rv);
      if (head > this.delivered && first !== this.delivered + 1) {
        const through = first === null ? head : first - 1;
        this.delivered = through;
        this.feedStats.resyncs++;
        this.feed.resync(through);
        this.opts.onResync?.(through);
      }
      for (const r of rows) if (r.rv !== null) this.deliver(remoteChange(r));
    })();
    try {
      await this.catching;
    } finally {
      this.catching = null;
    }
  }
}

/**
 * The statements that open a write transaction, sent ahead of its first query in the same round
 * trip (TxClient): BEGIN, the write lock, the fencing check when fenced, and the current
 * resourceVersion (the last of them). Only integers are interpolated.
 */
function beginSql(fenceToken: number | undefined): string[] {
  const sql = ['BEGIN', `SELECT pg_advisory_xact_lock(${WRITE_LOCK})`];
  if (fenceToken !== undefined) {
    if (!Number.isSafeInteger(fenceToken)) throw new Error(`fencing token ${fenceToken} is not an integer`);
    sql.push(`SELECT acictl_fence(${fenceToken})`);
  }
  sql.push(`SELECT value FROM meta WHERE key = 'resourceVersion'`);
  return sql;
}

/**
 * The statements that end a write transaction, as one simple-protocol query (one round trip): the
 * new resourceVersion, the change rows, the NOTIFY, COMMIT. Strings go in as escaped literals
 * (sqlText), since the simple protocol has no parameters.
 */
function commitSql(tx: Tx): string {
  if (!tx.client.begun || tx.rv === tx.rvAtBegin) return 'COMMIT';
  if (!Number.isSafeInteger(tx.rv)) throw new Error(`resourceVersion ${tx.rv} is not an integer`);
  const sql = [`UPDATE meta SET value = ${tx.rv} WHERE key = 'resourceVersion'`];
  if (tx.changes.length > 0) {
    const values = tx.changes.map(({ change: c, object }) => `(${Number(c.resourceVersion)}, ${sqlText(c.resource)}, ${sqlText(c.kind)}, ${sqlText(c.name)}, ${sqlText(object)})`);
    sql.push(`INSERT INTO changes (rv, resource, kind, name, object) VALUES ${values.join(', ')}`);
  }
  sql.push(`SELECT pg_notify('${CHANNEL}', '${tx.rv}')`, 'COMMIT');
  return sql.join('; ');
}

/** `sql` with its parameters ($1, $2, …) written in as literals (for a batch sent by the simple protocol). */
function inline(sql: string, params: unknown[]): string {
  return sql.replace(/\$(\d+)/g, (_, i: string) => literal(params[Number(i) - 1]));
}

function literal(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'string') return sqlText(v);
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (Buffer.isBuffer(v)) return `${sqlText(`\\x${v.toString('hex')}`)}::bytea`;
  throw new Error(`no SQL literal for a parameter of type ${typeof v}`);
}

/** A string as an SQL literal: E'…' with quotes and backslashes doubled, right whatever standard_conforming_strings says. */
export function sqlText(s: string): string {
  return `E'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** A change another process committed, with the object as written at that resourceVersion (or, DELETED, as it was). */
function remoteChange(r: Row): Change {
  const change: Change = { resourceVersion: Number(r.rv), resource: r.resource as Change['resource'], kind: r.kind as Change['kind'], name: r.name as string, remote: true };
  const text = r.object as string | null;
  if (text === null) return change;
  if (change.kind === 'DELETED') {
    change.last = lazy(() => JSON.parse(text)) as Lazy<StoredJob> | Lazy<RunRecord>;
  } else if (change.resource === 'containerjobs') {
    const job = lazy(() => JSON.parse(text) as StoredJob);
    change.written = { labels: job().labels, load: job };
  } else {
    const run = lazy(() => JSON.parse(text) as RunRecord);
    change.written = { job: run().job, resourceVersion: change.resourceVersion, load: run };
  }
  return change;
}
