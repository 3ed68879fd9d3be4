/**
 * The PostgreSQL change feed across processes, when things go wrong (a real server of its own,
 * test/fixtures/postgres.ts):
 * - the change log is pruned to a bounded size / age, always as a prefix;
 * - a handle held back (its connections stalled through a pausable TCP proxy) while another
 *   writes and prunes past what it had delivered does not skip silently: its listeners are told
 *   to resync (the API's watch hub ends its watches with 410 and lists again), then delivery
 *   goes on after the gap; held back without pruning, it delivers everything, no resync;
 * - after a server restart the LISTEN connection comes back (NOTIFY-driven delivery, not only the
 *   poll), and reads during the outage fail instead of hanging.
 */
import { Client } from 'pg';
import { startApiServer } from '../../src/apiserver/server';
import { WatchHub, type WatchEvent } from '../../src/apiserver/watch';
import { validateObject } from '../../src/manifest/validate';
import { FencedError, PostgresStore, withFence } from '../../src/store/postgres';
import type { Change } from '../../src/store/types';
import { postgresForFile } from '../fixtures/postgres-suite';
import { startTcpProxy, type TcpProxy } from '../fixtures/tcp-proxy';
import { jobInput, runRecord } from './contract';

jest.setTimeout(60_000);
const { maybe, server } = postgresForFile('PostgreSQL feed tests');

let n = 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, fn: () => T | Promise<T>, ms = 10_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
const NO_PRUNE = { changeRetention: { everyMs: 0 } };

maybe('PostgreSQL change feed: retention, resync, reconnection', () => {
  let proxy: TcpProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  async function rows(url: string): Promise<number[]> {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query('SELECT rv FROM changes ORDER BY rv')).rows.map((r) => Number(r.rv));
    } finally {
      await c.end();
    }
  }

  test('the change log is pruned to the newest rows and by age, always a prefix; the timer prunes by itself', async () => {
    const url = server().createDatabase(`prune${n++}`);
    const s = await PostgresStore.open(url, NO_PRUNE);
    try {
      for (let i = 0; i < 30; i++) await s.putJob(jobInput(`j${i}`));
      expect(await rows(url)).toHaveLength(30);
      expect(await s.pruneChanges({ maxRows: 10, maxAgeMs: 3_600_000 })).toBe(20);
      expect(await rows(url)).toEqual(Array.from({ length: 10 }, (_, i) => 21 + i));
      await sleep(300);
      for (let i = 0; i < 3; i++) await s.putJob(jobInput(`k${i}`));
      expect(await s.pruneChanges({ maxRows: 1000, maxAgeMs: 200 })).toBe(10); // the older ones, by age
      expect(await rows(url)).toEqual([31, 32, 33]);
      expect(await s.listJobNames()).toHaveLength(33); // the objects stay, only the log is cut
    } finally {
      await s.close();
    }
    const t = await PostgresStore.open(url, { changeRetention: { everyMs: 100, maxRows: 2 } });
    try {
      for (let i = 0; i < 5; i++) await t.putJob(jobInput(`m${i}`));
      await until('the timer to prune', async () => (await rows(url)).length <= 2);
      expect(t.feedStats.pruned).toBeGreaterThanOrEqual(4);
    } finally {
      await t.close();
    }
  });

  test('a handle held back past the pruned horizon resyncs (its watches end 410 and the hub lists again) instead of skipping; held back without pruning it misses nothing', async () => {
    const url = server().createDatabase(`resync${n++}`);
    proxy = await startTcpProxy(server().port);
    const a = await PostgresStore.open(url, NO_PRUNE);
    const b = await PostgresStore.open(url.replace(`:${server().port}/`, `:${proxy.port}/`), { ...NO_PRUNE, pollMs: 100 });
    const seen: number[] = [];
    const resyncs: number[] = [];
    b.onChange((c: Change) => seen.push(c.resourceVersion));
    b.onResync((rv) => resyncs.push(rv));
    const hub = await WatchHub.open(b);
    try {
      await a.putJob(jobInput('j0'));
      await until('b to see j0', () => seen.includes(1));

      // held back, no pruning: everything arrives, in order, no resync
      proxy.pause();
      for (let i = 1; i <= 5; i++) await a.putJob(jobInput(`j${i}`));
      await sleep(300);
      expect(seen).toEqual([1]);
      proxy.resume();
      await until('b to catch up', () => seen.includes(6));
      expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
      expect(resyncs).toEqual([]);

      // a watch on b's hub and one through b's HTTP API, then b held back while a writes 20
      // changes and prunes to the last 5
      const events: WatchEvent[] = [];
      const gone: number[] = [];
      hub.subscribe((e) => events.push(e), (rv) => gone.push(rv));
      const api = await startApiServer(
        {
          store: b,
          token: 't0ken-for-this-test-only',
          validate: (obj, o) => validateObject(obj, o),
          enqueue: () => undefined,
          trigger: async () => ({ run: 'x' }),
          setSuspended: async () => undefined,
          logs: async function* () {},
          metrics: async () => ({ contentType: 'text/plain', body: '' }),
          ready: () => true,
        },
        { host: '127.0.0.1', port: 0 },
      );
      const httpWatch = fetch(`${api.url}/apis/acictl.dev/v1/containerjobs?watch=true&resourceVersion=6`, { headers: { authorization: 'Bearer t0ken-for-this-test-only' } }).then((r) => r.text());
      await sleep(200);
      proxy.pause();
      await a.putJob(jobInput('added-in-the-gap', 'busybox:1', { labels: { team: 'x' } }));
      for (let i = 0; i < 19; i++) await a.putJob(jobInput(`j${i % 4}`, `busybox:${i + 2}`));
      expect(await a.currentResourceVersion()).toBe(26);
      expect(await a.pruneChanges({ maxRows: 5, maxAgeMs: 3_600_000 })).toBe(21);
      proxy.resume();
      await until('b to resync', () => resyncs.length > 0);
      await until('b to deliver after the gap', () => seen.includes(26));
      // rvs 7..21 were pruned before b read them: not delivered, and b said so
      expect(resyncs).toEqual([21]);
      expect(seen).toEqual([1, 2, 3, 4, 5, 6, 22, 23, 24, 25, 26]);
      expect(b.feedStats.resyncs).toBe(1);
      // the hub ended the watch (410: list again) and refuses a resume from before the gap
      expect(gone).toEqual([21]);
      expect(events).toEqual([]);
      expect(hub.since('containerjobs', 6)).toBe('gone');
      // the HTTP watch ended with a 410 Status (the client lists again)
      const lines = (await httpWatch).trim().split('\n').map((l) => JSON.parse(l) as { type: string; object: { code?: number; reason?: string } });
      expect(lines.map((l) => [l.type, l.object.code, l.object.reason])).toEqual([['ERROR', 410, 'Expired']]);
      await api.close();
      await until('the hub to list again', () => hub.available());
      expect(hub.resyncs).toBe(1);
      // the hub's listing knows the job created in the gap: its deletion reaches a new watch
      const after: WatchEvent[] = [];
      hub.subscribe((e) => after.push(e));
      await a.deleteJob('added-in-the-gap');
      await until('the DELETED event', () => after.find((e) => e.type === 'DELETED'));
      expect(after.map((e) => [e.type, e.view])).toEqual([['DELETED', { resource: 'containerjobs', name: 'added-in-the-gap', labels: { team: 'x' } }]]);
      expect(hub.since('containerjobs', 26)).toHaveLength(1);
    } finally {
      hub.close();
      await b.close();
      await a.close();
    }
  });

  test('a database behind a stalled network (no reset, no refusal): reads and writes fail after the timeouts instead of hanging, and work again once it flows', async () => {
    const url = server().createDatabase(`stall${n++}`);
    proxy = await startTcpProxy(server().port);
    const s = await PostgresStore.open(url.replace(`:${server().port}/`, `:${proxy.port}/`), { ...NO_PRUNE, queryTimeoutMs: 1000, connectionTimeoutMs: 2000 });
    try {
      await s.putJob(jobInput('before'));
      proxy.pause();
      const t0 = Date.now();
      await expect(s.getJob('before')).rejects.toThrow(/timeout/i);
      const readMs = Date.now() - t0;
      const t1 = Date.now();
      await expect(s.putJob(jobInput('during'))).rejects.toThrow(/timeout/i);
      const writeMs = Date.now() - t1;
      expect(readMs).toBeLessThan(4000);
      expect(writeMs).toBeLessThan(6000);
      proxy.resume();
      await until('the store to work again', () => s.putJob(jobInput('after')).then(() => true, () => false), 15_000);
      expect((await s.listJobNames()).sort()).toEqual(['after', 'before']);
      console.log(`feed: stalled network: a read failed after ${readMs} ms, a write after ${writeMs} ms (query timeout 1 s, connect timeout 2 s)`);
    } finally {
      proxy.resume();
      await s.close();
    }
  });

  test('a refusal caught inside the transaction body still voids the transaction and is reported as a refusal (not as the 25P02 after it)', async () => {
    const url = server().createDatabase(`fence-caught${n++}`);
    const s = await PostgresStore.open(url, NO_PRUNE);
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(`INSERT INTO lease (name, holder, token, renew_time, lease_duration_ms) VALUES ('controller', 'r2', 8, now(), 15000)`);
      // like the reconciler's driver: the body catches what its first statement threw, then goes on
      const caught: string[] = [];
      const attempt = withFence(7, () =>
        s.transaction(async () => {
          try {
            await s.putJob(jobInput('stale-a'));
          } catch (err) {
            caught.push((err as { code?: string }).code ?? '?');
          }
          await s.putRun({ ...runRecord('stale-a', 1) }).catch(() => undefined);
        }),
      );
      await expect(attempt).rejects.toThrow(FencedError);
      expect(caught).toEqual(['AC001']);
      expect(s.fencingRefusals).toBe(1);
      expect(await s.getJob('stale-a')).toBeUndefined();
      expect(await s.getRun('stale-a-1')).toBeUndefined();
      await until('the refusal row', async () => Number((await c.query(`SELECT count(*) AS n FROM fencing_refusals WHERE token = 7 AND what = 'write'`)).rows[0].n) === 1);
    } finally {
      await c.end();
      await s.close();
    }
  });

  test('after a server restart the LISTEN connection is back (delivery without the poll); reads during the outage fail, not hang', async () => {
    const url = server().createDatabase(`relisten${n++}`);
    const a = await PostgresStore.open(url, NO_PRUNE);
    const feedErrors: string[] = [];
    const b = await PostgresStore.open(url, { ...NO_PRUNE, pollMs: 600_000, onFeedError: (e) => feedErrors.push(e.message) });
    const seen: string[] = [];
    b.onChange((c) => seen.push(c.name));
    const wakes: string[] = [];
    b.onWake((name) => wakes.push(name));
    try {
      await a.wake('woken-by-a');
      await until('a wake-up', () => wakes.includes('woken-by-a'), 3000);
      await a.putJob(jobInput('before'));
      await until('NOTIFY delivery', () => seen.includes('before'), 3000);
      server().stopServer('fast');
      const t0 = Date.now();
      await expect(b.getJob('before')).rejects.toThrow();
      await expect(b.putJob(jobInput('during'))).rejects.toThrow();
      const failMs = Date.now() - t0;
      expect(failMs).toBeLessThan(12_000);
      await sleep(1000);
      server().startServer();
      await until('the LISTEN connection to come back', () => b.feedStats.relistens >= 1, 15_000);
      await until('a write through a once-broken pool', () => a.putJob(jobInput('after')).then(() => true, () => false), 10_000);
      // the poll runs every 10 minutes here: only NOTIFY can deliver this in time
      await until('NOTIFY delivery after the restart', () => seen.includes('after'), 3000);
      expect(seen).toEqual(['before', 'after']);
      // wake-ups sent while it was away are lost: the re-opened listener says so ('')
      expect(wakes).toEqual(['woken-by-a', '']);
      console.log(`feed: reads failed after ${failMs} ms during the outage; LISTEN re-opened ${b.feedStats.relistens} time(s); feed errors reported: ${feedErrors.length}`);
    } finally {
      await b.close();
      await a.close();
    }
  });
});
