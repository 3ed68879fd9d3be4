/**
 * LeaderElector against a database whose answers the test controls (the SQL itself is exercised
 * against a real server by test/e2e/controller-ha*.test.ts): a leader whose renew never comes back
 * (a stalled network, no error) still steps down at its renew deadline, and reports the database
 * out of reach (for /readyz).
 */
import type { Pool } from 'pg';
import { LeaderElector, leaseTimings, type Term } from '../../src/controller/leader';

const T = { leaseDurationMs: 400, renewDeadlineMs: 200, retryPeriodMs: 50 };

function fakeDb(): { db: Pool; stall(): void; queries: string[] } {
  let stalled = false;
  const queries: string[] = [];
  const query = (q: string | { text: string }): Promise<unknown> => {
    const text = typeof q === 'string' ? q : q.text;
    queries.push(text.trim().split(/\s+/)[0]);
    if (stalled) return new Promise(() => undefined); // never answers, never fails
    if (/^SELECT holder/.test(text.trim())) return Promise.resolve({ rows: [] });
    if (/^INSERT INTO lease/.test(text.trim())) return Promise.resolve({ rows: [{ token: '1' }] });
    if (/^UPDATE lease SET renew_time = now\(\), lease_duration_ms/.test(text.trim())) return Promise.resolve({ rowCount: 1, rows: [] });
    return Promise.resolve({ rowCount: 0, rows: [] });
  };
  return { db: { query } as unknown as Pool, stall: () => (stalled = true), queries };
}

test('a leader whose renew hangs steps down at the renew deadline, and says the database is out of reach', async () => {
  const { db, stall, queries } = fakeDb();
  const stops: string[] = [];
  let term: Term | null = null;
  const e = new LeaderElector(db, 'me', T, { onStart: (t) => void (term = t), onStop: (_t, reason) => void stops.push(reason) });
  e.start();
  try {
    await new Promise((r) => setTimeout(r, 150));
    expect(e.isLeader()).toBe(true);
    expect(term!.token).toBe(1);
    expect(queries).toContain('UPDATE'); // it renewed
    expect(e.reachable()).toBe(true);
    stall();
    const at = Date.now();
    while (e.isLeader() && Date.now() - at < 2000) await new Promise((r) => setTimeout(r, 10));
    const ms = Date.now() - at;
    expect(e.isLeader()).toBe(false);
    expect(stops).toEqual(['renew deadline passed']);
    expect(term!.signal.aborted).toBe(true);
    expect(ms).toBeLessThanOrEqual(T.renewDeadlineMs + 2 * T.retryPeriodMs + 400); // timers on a loaded machine
    await new Promise((r) => setTimeout(r, T.renewDeadlineMs));
    expect(e.reachable()).toBe(false);
    expect(e.sinceContactMs()).toBeGreaterThan(T.renewDeadlineMs);
  } finally {
    await Promise.race([e.stop(), new Promise((r) => setTimeout(r, 100))]);
  }
});

test('ACICTL_LEASE parsing', () => {
  expect(leaseTimings(undefined)).toEqual({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
  expect(leaseTimings('3000,2000,500')).toEqual({ leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 });
  expect(() => leaseTimings('3000,4000,500')).toThrow(/RETRY < RENEW < DURATION/);
});
