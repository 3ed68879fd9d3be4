/**
 * The Store contract against a real PostgreSQL server (test/fixtures/postgres.ts), plus what is
 * particular to a shared database: two processes' handles see each other's changes in order,
 * migrations are versioned, and fenced writes under a stale token are refused by the database.
 */
import { Client } from 'pg';
import { FencedError, LEASE_NAME, PG_MIGRATIONS, PostgresStore, withFence } from '../../src/store/postgres';
import { postgresForFile } from '../fixtures/postgres-suite';
import { jobInput, runRecord, storeContract } from './contract';

jest.setTimeout(60_000); // a networked store under a loaded machine: the 250-event contract case takes seconds
const { maybe, server } = postgresForFile('PostgreSQL store tests');

let n = 0;

maybe('PostgresStore', () => {
  storeContract('PostgresStore', async () => ({ store: await PostgresStore.open(server().createDatabase(`contract${n++}`)) }));

  test('migrations are versioned and applied once, also by two stores opening together', async () => {
    const url = server().createDatabase(`mig${n++}`);
    const [a, b] = await Promise.all([PostgresStore.open(url), PostgresStore.open(url)]);
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      const { rows } = await c.query('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(PG_MIGRATIONS.map((_, i) => i + 1));
    } finally {
      await c.end();
      await a.close();
      await b.close();
    }
  });

  test('two handles (two replicas): each sees the other\'s writes and changes, in resourceVersion order, with the objects', async () => {
    const url = server().createDatabase(`two${n++}`);
    const a = await PostgresStore.open(url, { pollMs: 50 });
    const b = await PostgresStore.open(url, { pollMs: 50 });
    try {
      const seen: string[] = [];
      b.onChange((c) => {
        const obj = c.written?.load() as { name?: string; id?: string } | undefined;
        seen.push(`${c.resourceVersion}:${c.kind}:${c.name}:${obj?.name ?? obj?.id ?? (c.last ? 'last' : '-')}`);
      });
      await a.putJob(jobInput('x'));
      await a.putRun(runRecord('x', 1));
      await a.deleteRun('x-1');
      await b.putJob(jobInput('y')); // b's own write: delivered after a's three, in order
      const deadline = Date.now() + 5000;
      while (seen.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(seen).toEqual(['1:ADDED:x:x', '2:ADDED:x-1:x-1', '3:DELETED:x-1:last', '4:ADDED:y:y']);
      expect((await b.getJob('x'))?.name).toBe('x');
      expect(await a.currentResourceVersion()).toBe(4);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('another process\'s ADDED carries the object as written, even when it was deleted in the same commit', async () => {
    const url = server().createDatabase(`gone${n++}`);
    const a = await PostgresStore.open(url, { pollMs: 50 });
    const b = await PostgresStore.open(url, { pollMs: 50 });
    try {
      const seen: string[] = [];
      b.onChange((c) => {
        const obj = c.written?.load() as { name?: string; id?: string; image?: string } | undefined;
        seen.push(`${c.kind}:${c.name}:${obj ? (obj.name ?? obj.id) : c.last ? 'last' : '-'}`);
      });
      await a.transaction(async () => {
        await a.putJob(jobInput('z', 'img:1'));
        await a.putJob(jobInput('z', 'img:2'));
        await a.putRun(runRecord('z', 1));
        await a.deleteRun('z-1');
        await a.deleteJob('z');
      });
      const deadline = Date.now() + 5000;
      while (seen.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(seen).toEqual(['ADDED:z:z', 'MODIFIED:z:z', 'ADDED:z-1:z-1', 'DELETED:z-1:last', 'DELETED:z:last']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a transaction serializes against another process: read-modify-write loses nothing', async () => {
    const url = server().createDatabase(`rmw${n++}`);
    const a = await PostgresStore.open(url);
    const b = await PostgresStore.open(url);
    try {
      await a.putJob(jobInput('c', 'img:0', { labels: { n: '0' } }));
      const bump = (s: PostgresStore) =>
        s.transaction(async () => {
          const j = (await s.getJob('c'))!;
          await s.putJob({ ...j, labels: { n: String(Number(j.labels.n) + 1) } }, j.resourceVersion);
        });
      await Promise.all(Array.from({ length: 20 }, (_, i) => bump(i % 2 ? a : b)));
      expect((await a.getJob('c'))!.labels.n).toBe('20');
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('fencing: writes and checks under a stale token are refused by the database, unfenced writes are not', async () => {
    const url = server().createDatabase(`fence${n++}`);
    const s = await PostgresStore.open(url);
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(`INSERT INTO lease (name, holder, token, renew_time, lease_duration_ms) VALUES ($1, 'r1', 7, now(), 15000)`, [LEASE_NAME]);
      await withFence(7, () => s.putJob(jobInput('ok')));
      await withFence(7, () => s.flush());
      await c.query(`UPDATE lease SET holder = 'r2', token = 8 WHERE name = $1`, [LEASE_NAME]);
      await expect(withFence(7, () => s.putJob(jobInput('late')))).rejects.toThrow(FencedError);
      await expect(withFence(7, () => s.transaction(async () => s.putRun(runRecord('ok', 1))))).rejects.toThrow(/stale/);
      await expect(withFence(7, () => s.flush())).rejects.toThrow(FencedError);
      expect(await s.getJob('late')).toBeUndefined();
      expect(await s.getRun('ok-1')).toBeUndefined();
      expect(s.fencingRefusals).toBe(3);
      await withFence(8, () => s.putJob(jobInput('new-leader')));
      await s.putJob(jobInput('api-write')); // not fenced: an API write through any replica
      expect((await s.listJobNames()).sort()).toEqual(['api-write', 'new-leader', 'ok']);
    } finally {
      await c.end();
      await s.close();
    }
  });
});
