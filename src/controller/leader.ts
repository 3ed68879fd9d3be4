/**
 * Leader election on the shared PostgreSQL store: one lease row (holder, token, renewTime,
 * leaseDuration, transitions) with Kubernetes Lease semantics.
 *
 * - Every `retryPeriodMs` each replica reads the row. A follower remembers when it last saw the
 *   row change (holder, token or renewTime) on ITS OWN clock; once `leaseDurationMs` passes on
 *   that clock with no change, it takes the lease over with a compare-and-set UPDATE on what it
 *   saw, bumping the fencing token. Clocks are never compared across machines.
 * - The leader renews (UPDATE … WHERE holder = me AND token = mine). When it cannot renew for
 *   `renewDeadlineMs` (< leaseDuration), or the row shows someone else, it steps down at once:
 *   `onStop` runs, and its term's signal aborts.
 * - The token increases by one at every change of holder: the store refuses fenced writes under
 *   an older one (src/store/postgres.ts acictl_fence).
 * - Crash detection (an addition to Kubernetes' rules): the leader holds one database connection
 *   for its term and records its backend pid in the row (`holder_session`). When that session is
 *   no longer in pg_stat_activity — the process died and the kernel closed its socket, so the
 *   server ended the session at once — a follower takes over at its next round instead of waiting
 *   the lease out. A paused or cut-off leader keeps its session (or its absence is not known yet):
 *   then the lease is the rule as before. Either way fencing is what keeps a late writer out.
 */
import type { Pool, PoolClient } from 'pg';
import { LEASE_NAME } from '../store/postgres';

export interface LeaseTimings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export const DEFAULT_LEASE: LeaseTimings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** `ACICTL_LEASE=DURATION,RENEW,RETRY` in ms (tests shorten them); default Kubernetes' 15 s / 10 s / 2 s. */
export function leaseTimings(spec: string | undefined): LeaseTimings {
  if (!spec) return DEFAULT_LEASE;
  const [d, r, p] = spec.split(',').map(Number);
  if (!(d > 0 && r > 0 && p > 0 && r < d && p < r)) throw new Error(`ACICTL_LEASE: expected DURATION,RENEW,RETRY in ms with RETRY < RENEW < DURATION (got ${spec})`);
  return { leaseDurationMs: d, renewDeadlineMs: r, retryPeriodMs: p };
}

export interface Term {
  token: number;
  /** Aborted when this replica stops leading. */
  signal: AbortSignal;
  startedAt: number;
}

export interface LeaseRecord {
  holder: string;
  token: number;
  renewTime: string;
  leaseDurationMs: number;
  transitions: number;
  /** now() - renew_time on the database's clock (ms). */
  renewAgeMs?: number;
  /** The holder recorded a database session and that session has ended (its process is gone). */
  holderGone?: boolean;
}

export interface ElectorEvents {
  onStart(term: Term): void | Promise<void>;
  onStop(term: Term, reason: string): void;
  log?: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
}

export class LeaderElector {
  private term: (Term & { ctl: AbortController }) | null = null;
  private lastRenew = 0;
  private observed: { key: string; at: number } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private busy = false;
  /** The elector's own connection; lease writes record its backend pid as `holder_session`. */
  private session: { client: PoolClient } | null = null;
  /** When a round last reached the database (this replica's clock), and why it last stepped down. */
  private lastContact: number;
  lastStepDown: { reason: string; at: number } | null = null;
  /** Times this replica became leader / stopped leading. */
  readonly stats = { acquired: 0, lost: 0 };

  constructor(
    private readonly db: Pool,
    readonly identity: string,
    private readonly timings: LeaseTimings,
    private readonly events: ElectorEvents,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastContact = now();
  }

  /** Whether the last election round reached the database within the renew deadline (for /readyz). */
  reachable(): boolean {
    return this.now() - this.lastContact <= this.timings.renewDeadlineMs;
  }

  /** How long since a round last reached the database (ms). */
  sinceContactMs(): number {
    return this.now() - this.lastContact;
  }

  isLeader(): boolean {
    return this.term !== null && !this.term.signal.aborted;
  }

  current(): Term | null {
    return this.isLeader() ? this.term : null;
  }

  /** Try at once, then every retry period. */
  start(): void {
    // Not chained on the round: a round stuck on an unreachable database must not keep a leader
    // that can no longer renew from stepping down at its deadline (checked at every tick while a
    // round is in flight, and at the end of every round).
    const tick = (): void => {
      if (this.stopped) return;
      if (this.busy) this.checkDeadline();
      else void this.tryOnce();
      this.timer = setTimeout(tick, this.timings.retryPeriodMs);
    };
    tick();
  }

  /** Stop electing; a leader gives the lease up (renewTime in the past) so another takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const t = this.term;
    if (t) {
      this.stepDown('shutting down');
      await this.db
        .query(`UPDATE lease SET renew_time = now() - interval '1 hour', holder = '' WHERE name = $1 AND holder = $2 AND token = $3`, [LEASE_NAME, this.identity, t.token])
        .catch(() => undefined);
    }
    this.closeSession();
  }

  /** The lease row as stored (for `get leases`). */
  static async read(db: Pick<Pool, 'query'>): Promise<LeaseRecord | null> {
    const { rows } = await db.query(
      `SELECT holder, token, renew_time, lease_duration_ms, transitions, (extract(epoch FROM now() - renew_time) * 1000)::float8 AS age_ms,
              (holder_session IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = lease.holder_session)) AS holder_gone
         FROM lease WHERE name = $1`,
      [LEASE_NAME],
    );
    const r = rows[0];
    return r
      ? { holder: r.holder, token: Number(r.token), renewTime: new Date(r.renew_time).toISOString(), leaseDurationMs: r.lease_duration_ms, transitions: r.transitions, renewAgeMs: Math.round(Number(r.age_ms)), holderGone: r.holder_gone === true }
      : null;
  }

  private stepDown(reason: string): void {
    const t = this.term;
    if (!t) return;
    this.term = null;
    this.stats.lost++;
    this.lastStepDown = { reason, at: Date.now() };
    t.ctl.abort(new Error(`lost leadership: ${reason}`));
    this.events.log?.warn({ token: t.token, reason }, 'stopped leading');
    this.events.onStop(t, reason);
  }

  /** One election round (exported for tests). */
  async tryOnce(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.round();
    } catch (err) {
      this.events.log?.warn({ err: (err as Error).message }, 'lease round failed');
    } finally {
      this.checkDeadline();
      this.busy = false;
    }
  }

  /** A leader that could not renew in time stops acting, whatever the database says. */
  private checkDeadline(): void {
    if (this.term && this.now() - this.lastRenew > this.timings.renewDeadlineMs) this.stepDown('renew deadline passed');
  }

  /**
   * The elector's own connection (opened again after it was lost), or the pool when it gives none
   * (test doubles). Lease writes through it record `pg_backend_pid()`: the session of the very
   * connection that wrote, so a recorded session is always one that was alive at that moment.
   */
  private async conn(): Promise<{ q: Pick<Pool, 'query'>; pid: string }> {
    if (this.session) return { q: this.session.client, pid: 'pg_backend_pid()' };
    if (typeof (this.db as Partial<Pool>).connect !== 'function') return { q: this.db, pid: 'NULL' };
    const c = await this.db.connect();
    const lost = (): void => {
      if (this.session?.client === c) this.closeSession(true);
    };
    c.on('error', lost);
    c.on('end', lost);
    this.session = { client: c };
    return { q: c, pid: 'pg_backend_pid()' };
  }

  private closeSession(broken = false): void {
    const s = this.session;
    this.session = null;
    if (s) s.client.release(broken ? true : undefined);
  }

  private async round(): Promise<void> {
    const { q, pid } = await this.conn();
    try {
      await this.roundOn(q, pid);
    } catch (err) {
      if (q !== this.db) this.closeSession(true); // a connection that failed a query is not trusted again
      throw err;
    }
  }

  private async roundOn(q: Pick<Pool, 'query'>, pid: string): Promise<void> {
    const started = this.now();
    if (this.term) {
      const { rowCount } = await q.query({
        text: `UPDATE lease SET renew_time = now(), lease_duration_ms = $4, holder_session = ${pid} WHERE name = $1 AND holder = $2 AND token = $3`,
        values: [LEASE_NAME, this.identity, this.term.token, this.timings.leaseDurationMs],
      });
      this.lastContact = this.now();
      if (rowCount === 1) {
        this.lastRenew = started;
        return;
      }
      this.stepDown('the lease is held by another replica');
      return;
    }
    const rec = await LeaderElector.read(q);
    this.lastContact = this.now();
    if (!rec) {
      const { rows } = await q.query(
        `INSERT INTO lease (name, holder, token, renew_time, lease_duration_ms, transitions, holder_session) VALUES ($1, $2, 1, now(), $3, 1, ${pid})
         ON CONFLICT (name) DO NOTHING RETURNING token`,
        [LEASE_NAME, this.identity, this.timings.leaseDurationMs],
      );
      if (rows[0]) await this.begin(Number(rows[0].token), this.now()); // see below
      return;
    }
    const key = `${rec.holder}|${rec.token}|${rec.renewTime}`;
    if (!this.observed || this.observed.key !== key) this.observed = { key, at: started };
    const free = rec.holder === '' || rec.holder === this.identity;
    // held and alive, as far as we can tell: its session is there, and the lease not out on our clock
    if (!free && !rec.holderGone && started - this.observed.at < rec.leaseDurationMs) return;
    if (!free && rec.holderGone) this.events.log?.info({ holder: rec.holder, token: rec.token }, "the leader's database session has ended: taking over");
    const { rows } = await q.query(
      `UPDATE lease SET holder = $2, token = token + 1, renew_time = now(), lease_duration_ms = $4, transitions = transitions + 1, holder_session = ${pid}
        WHERE name = $1 AND token = $3 RETURNING token`,
      [LEASE_NAME, this.identity, rec.token, this.timings.leaseDurationMs],
    );
    // The term's renew clock starts when the takeover is answered, not when it was sent: a
    // compare-and-set that waited on the row lock (a frozen ex-leader's open transaction holds it
    // until the server ends that transaction) would otherwise start its term past the renew
    // deadline and step down at once (seen: became leader 4 → stopped 9 ms later → leader 5).
    // Others count the lease from when they see the change, which is no later than this answer.
    if (rows[0]) await this.begin(Number(rows[0].token), this.now());
  }

  private async begin(token: number, at: number): Promise<void> {
    const ctl = new AbortController();
    this.term = { token, signal: ctl.signal, startedAt: Date.now(), ctl };
    this.lastRenew = at;
    this.stats.acquired++;
    this.events.log?.info({ token, identity: this.identity }, 'became leader');
    await this.events.onStart(this.term);
  }
}
