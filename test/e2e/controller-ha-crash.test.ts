/**
 * Crash detection on top of the lease (src/controller/leader.ts): the leader records the backend
 * pid of a database connection it holds for its term. SIGKILL closes that connection at once, so a
 * follower takes over at its next round — long before the lease would run out. A frozen (SIGSTOP)
 * leader keeps its session: then the lease is the rule, and nobody takes over before it runs out.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { findPostgres, startPostgres, type TestPostgres } from '../fixtures/postgres';
import { readLease, Replicas } from '../fixtures/replicas';
import { cleanupDirs, jobYaml, sleep, startTestEmulator, tmp, waitUntil } from './harness';

const found = findPostgres();
const maybe = 'missing' in found ? describe.skip : describe;
if ('missing' in found) console.warn(`skipping the HA crash-detection test: ${found.missing}`);

jest.setTimeout(180_000);
// a lease long enough that waiting it out could not pass for crash detection
const LEASE = { duration: 12_000, renew: 8_000, retry: 1_000 };

maybe('replicas on PostgreSQL: a crashed leader is detected by its database session', () => {
  let pg: TestPostgres;
  let emu: Awaited<ReturnType<typeof startTestEmulator>>;
  let reps: Replicas;
  let manifests: string;
  const db = { c: null as Client | null };

  beforeAll(async () => {
    pg = await startPostgres();
    emu = await startTestEmulator();
    manifests = tmp('acictl-hacrash-m-');
    mkdirSync(manifests, { recursive: true });
    writeFileSync(path.join(manifests, 'tick.yaml'), jobYaml('tick', { schedule: '* * * * * *', command: 'echo tick', extra: '  concurrencyPolicy: Allow\n' }));
  }, 60_000);

  afterAll(async () => {
    reps?.killAll();
    await db.c?.end().catch(() => undefined);
    await emu?.close();
    pg?.stop();
    cleanupDirs(manifests, ...(reps?.dirs ?? []));
  });

  test('SIGKILL: taken over within a few retry periods of a 12 s lease; SIGSTOP: not before the lease runs out', async () => {
    const url = pg.createDatabase('hacrash');
    reps = new Replicas(emu, url, LEASE, [manifests]);
    const a = reps.spawn();
    await a.ready(60_000);
    const b = reps.spawn();
    await b.ready(60_000);
    db.c = new Client({ connectionString: url });
    await db.c.connect();
    const lease = () => readLease(db.c!);
    const first = await waitUntil('a leader', async () => {
      const l = await lease();
      return l ? reps.byHolder(l.holder) : null;
    }, 20_000, 100);
    const session = (await db.c.query(`SELECT holder_session FROM lease WHERE name = 'controller'`)).rows[0].holder_session;
    expect(typeof session).toBe('number');

    // 1. SIGKILL: its session ends with the process; the follower takes over at its next rounds
    const before = (await lease())!;
    const killedAt = Date.now();
    first.child.kill('SIGKILL');
    await first.exited;
    const second = await waitUntil('a new leader', async () => {
      const l = await lease();
      return l && l.token > before.token ? reps.byHolder(l.holder) : null;
    }, 30_000, 50);
    const crashMs = Date.now() - killedAt;
    console.log(`HA crash detection: SIGKILL → new lease holder ${crashMs} ms (lease ${LEASE.duration} ms, retry ${LEASE.retry} ms)`);
    expect(second).not.toBe(first);
    expect(crashMs).toBeLessThan(LEASE.duration / 2);
    expect(second!.lines().some((l) => l.msg === "the leader's database session has ended: taking over")).toBe(true);
    const created = emu.stats().creations.length;
    await waitUntil('runs under the new leader', () => (emu.stats().creations.length >= created + 2 ? true : null), 30_000, 200);

    // 2. SIGSTOP: the frozen leader's session stays; a third replica waits the lease out
    const c = reps.spawn();
    await c.ready(60_000);
    const frozen = (await lease())!;
    second!.child.kill('SIGSTOP');
    const stoppedAt = Date.now();
    const third = await waitUntil('a leader after the freeze', async () => {
      const l = await lease();
      return l && l.token > frozen.token ? reps.byHolder(l.holder) : null;
    }, 60_000, 100);
    const freezeMs = Date.now() - stoppedAt;
    console.log(`HA crash detection: SIGSTOP → new lease holder ${freezeMs} ms (the lease is the rule)`);
    expect(third).toBe(c);
    // not before the lease: at least the duration minus the one retry period its last renewal may predate the stop
    expect(freezeMs).toBeGreaterThanOrEqual(LEASE.duration - LEASE.retry);
    second!.child.kill('SIGCONT');
    await waitUntil('the resumed ex-leader steps down', () => (second!.lines().some((l) => l.msg === 'stopped leading') ? true : null), 20_000, 100);
    await sleep(500);
    const keys = emu.stats().creations.map((x) => `${x.tags['acictl.dev/run']}#${x.tags['acictl.dev/attempt'] ?? '1'}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
