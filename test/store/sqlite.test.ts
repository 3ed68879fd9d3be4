import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { MIGRATIONS, SqliteStore, migrate } from '../../src/store/sqlite';
import { jobInput, runRecord, storeContract } from './contract';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'acictl-store-'));
}

storeContract('SqliteStore', () => {
  const dir = tempDir();
  return { store: SqliteStore.open(join(dir, 'state.db')), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
});

describe('SqliteStore deferred commits', () => {
  let dir: string;
  beforeEach(async () => {
    dir = tempDir();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('deferred writes are durable (seen by another handle) once committed: at the next turn, with one COMMIT', async () => {
    const file = join(dir, 'state.db');
    const s = SqliteStore.open(file);
    const other = SqliteStore.open(file, { busyTimeoutMs: 0 });
    const notified: string[] = [];
    s.onChange((c) => notified.push(c.name));
    for (const i of [1, 2, 3]) await s.transactionDeferred(async () => await s.putRun(runRecord('a', i)));
    expect(await s.listRuns('a')).toHaveLength(3);
    expect(await other.listRuns('a')).toHaveLength(0); // not committed yet
    expect(notified).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(await other.listRuns('a')).toHaveLength(3);
    expect(notified).toEqual(['a-1', 'a-2', 'a-3']);
    expect(await other.currentResourceVersion()).toBe(await s.currentResourceVersion());
    await other.close();
    await s.close();
  });

  test('a plain write commits what was deferred with it before it returns; a failing one undoes only itself', async () => {
    const file = join(dir, 'state.db');
    const s = SqliteStore.open(file);
    const other = SqliteStore.open(file, { busyTimeoutMs: 0 });
    await s.transactionDeferred(async () => await s.putRun(runRecord('a', 1)));
    await s.putJob(jobInput('a'));
    expect(await other.getJob('a')).toBeDefined();
    expect(await other.getRun('a-1')).toBeDefined();
    await s.transactionDeferred(async () => await s.putRun(runRecord('a', 2)));
    await expect(s.putJob(jobInput('a'), 999)).rejects.toThrow(/stale/);
    await s.flush();
    expect(await other.getRun('a-2')).toBeDefined();
    await other.close();
    await s.close();
  });

  test('close commits what was deferred', async () => {
    const file = join(dir, 'state.db');
    const s = SqliteStore.open(file);
    await s.transactionDeferred(async () => await s.putRun(runRecord('a', 1)));
    await s.close();
    const again = SqliteStore.open(file);
    expect(await again.getRun('a-1')).toEqual(runRecord('a', 1));
    await again.close();
  });
});

describe('SqliteStore durability and schema', () => {
  let dir: string;
  beforeEach(async () => {
    dir = tempDir();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('everything survives close and reopen, including the resourceVersion counter and secrets', async () => {
    const file = join(dir, 'state.db');
    const s1 = SqliteStore.open(file);
    const a = await s1.putJob(jobInput('a'));
    await s1.putRun(runRecord('a', 1));
    await s1.putLog('a-1', 1, 'main', 'hello\n');
    await s1.addEvent({ time: 't', job: 'a', type: 'Normal', reason: 'Created', message: 'm' });
    await s1.deleteRun('zzz'); // no-op
    const secret = await s1.getOrCreateSecret('k');
    const rv = await s1.currentResourceVersion();
    await s1.close();

    const s2 = SqliteStore.open(file);
    expect(await s2.getJob('a')).toEqual(a);
    expect(await s2.currentResourceVersion()).toBe(rv);
    expect(await s2.getRun('a-1')).toEqual(runRecord('a', 1));
    expect(await s2.getLog('a-1', 1)).toEqual([{ container: 'main', content: 'hello\n' }]);
    expect(await s2.listEvents('a')).toHaveLength(1);
    expect((await s2.getOrCreateSecret('k')).equals(secret)).toBe(true);
    // a later write continues the counter (no resourceVersion is ever reused)
    expect((await s2.putJob(jobInput('b'))).resourceVersion).toBe(rv + 1);
    await s2.close();
  });

  test('opens in WAL mode with a versioned schema', async () => {
    const file = join(dir, 'state.db');
    await SqliteStore.open(file).close();
    const db = new DatabaseSync(file);
    expect((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode).toBe('wal');
    expect((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version).toBe(MIGRATIONS.length);
    db.close();
  });

  test('migrates an old schema forward, keeping its data', async () => {
    const file = join(dir, 'state.db');
    // a version-1 file, written as version 1 wrote it; it kept store secrets in meta
    const raw = new DatabaseSync(file);
    expect(migrate(raw, MIGRATIONS.slice(0, 1))).toBe(1);
    raw
      .prepare(
        `INSERT INTO jobs VALUES ('a', 'u-1', 3, 1, '2026-01-01T00:00:00.000Z', NULL, '[]', '{}', '{}', ?, '{"kind":"api"}', '{}')`,
      )
      .run(JSON.stringify(jobInput('a').spec));
    raw.exec(`UPDATE meta SET value = 3 WHERE key = 'resourceVersion'`);
    raw.prepare(`INSERT INTO meta (key, value) VALUES ('secret:legacy', ?)`).run(Buffer.alloc(32, 7));
    expect((raw.prepare('PRAGMA user_version').get() as { user_version: number }).user_version).toBe(1);
    raw.close();

    const s = SqliteStore.open(file);
    expect(await s.getJob('a')).toMatchObject({ uid: 'u-1', generation: 1, resourceVersion: 3, spec: jobInput('a').spec });
    expect(await s.currentResourceVersion()).toBe(3);
    expect((await s.getOrCreateSecret('legacy')).equals(Buffer.alloc(32, 7))).toBe(true);
    await s.close();
    const check = new DatabaseSync(file);
    expect((check.prepare('PRAGMA user_version').get() as { user_version: number }).user_version).toBe(MIGRATIONS.length);
    expect(check.prepare(`SELECT count(*) AS n FROM meta WHERE key LIKE 'secret:%'`).get()).toEqual({ n: 0 });
    check.close();
  });

  test('refuses a file written by a newer schema', async () => {
    const file = join(dir, 'state.db');
    await SqliteStore.open(file).close();
    const raw = new DatabaseSync(file);
    raw.exec(`PRAGMA user_version = ${MIGRATIONS.length + 5}`);
    raw.close();
    expect(() => SqliteStore.open(file)).toThrow(/newer/);
  });

  test('a failing migration leaves the file at the previous version', async () => {
    const file = join(dir, 'state.db');
    await SqliteStore.open(file).close();
    const broken = [...MIGRATIONS, (db: DatabaseSync) => db.exec('CREATE TABLE x (a); SELECT * FROM no_such_table')];
    expect(() => SqliteStore.open(file, { migrations: broken })).toThrow();
    const raw = new DatabaseSync(file);
    expect((raw.prepare('PRAGMA user_version').get() as { user_version: number }).user_version).toBe(MIGRATIONS.length);
    expect(raw.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE name = 'x'`).get()).toEqual({ n: 0 });
    raw.close();
  });

  test('two handles on one file see each other\'s commits (busy timeout instead of SQLITE_BUSY)', async () => {
    const file = join(dir, 'state.db');
    const a = SqliteStore.open(file);
    const b = SqliteStore.open(file);
    await a.putJob(jobInput('x'));
    expect((await b.getJob('x'))?.name).toBe('x');
    await a.close();
    await b.close();
  });

  test('10,000 jobs: bulk putJob in one transaction and listJobs are fast', async () => {
    const s = SqliteStore.open(join(dir, 'state.db'));
    let t = performance.now();
    await s.transaction(async () => {
      for (let i = 0; i < 10_000; i++) await s.putJob(jobInput(`job-${String(i).padStart(5, '0')}`));
    });
    const bulkMs = performance.now() - t;
    t = performance.now();
    const all = await s.listJobs();
    const listMs = performance.now() - t;
    t = performance.now();
    for (let i = 0; i < 10_000; i++) await s.putJob(jobInput(`job-${String(i).padStart(5, '0')}`, 'busybox:2'));
    const singleMs = (performance.now() - t) / 10_000;
    t = performance.now();
    for (let i = 0; i < 1000; i++) await s.getJob(`job-${String(i * 7).padStart(5, '0')}`);
    const getMs = (performance.now() - t) / 1000;
    expect(all).toHaveLength(10_000);
    expect((await s.getJob('job-00042'))!.generation).toBe(2);
    // eslint-disable-next-line no-console
    console.log(
      `sqlite: putJob x10000 in one transaction ${bulkMs.toFixed(0)} ms; listJobs(10000) ${listMs.toFixed(0)} ms; ` +
        `putJob x10000 each in its own transaction ${(singleMs * 10_000).toFixed(0)} ms; getJob ${(getMs * 1000).toFixed(0)} µs`,
    );
    expect(bulkMs).toBeLessThan(5000);
    expect(listMs).toBeLessThan(2000);
    expect(singleMs).toBeLessThan(20);
    await s.close();
  });
});
