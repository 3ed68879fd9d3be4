/**
 * The leader cut off from the database by a stalled network (no reset, no refusal: its
 * connections go through a loopback TCP proxy the test pauses, test/fixtures/tcp-proxy.ts), two
 * replicas, lease 3 s / renew 2 s / retry 0.5 s, a job every 2 s:
 * - the cut-off leader steps down at its renew deadline although its statements just hang, and
 *   says so on /readyz (503, role follower, reason); the other replica takes over and launches;
 * - once the network flows again the old leader stays a follower, nothing of it is committed
 *   after it stepped down, and no (run, attempt) or slot is created twice.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { findPostgres, startPostgres, type TestPostgres } from '../fixtures/postgres';
import { Replicas, metricValue, readLease } from '../fixtures/replicas';
import { startTcpProxy, type TcpProxy } from '../fixtures/tcp-proxy';
import { cleanupDirs, jobYaml, sleep, startTestEmulator, tmp, waitUntil } from './harness';

const found = findPostgres();
const maybe = 'missing' in found ? describe.skip : describe;
if ('missing' in found) console.warn(`skipping the partition test: ${found.missing}`);

jest.setTimeout(180_000);
const LEASE = { duration: 3000, renew: 2000, retry: 500 };

maybe('replicas on PostgreSQL: the leader behind a stalled network', () => {
  let pg: TestPostgres;
  let emu: Awaited<ReturnType<typeof startTestEmulator>>;
  let proxy: TcpProxy;
  let reps: Replicas | undefined;
  const dirs: string[] = [];

  beforeAll(async () => {
    pg = await startPostgres();
    emu = await startTestEmulator();
    proxy = await startTcpProxy(pg.port);
  }, 60_000);

  afterAll(async () => {
    proxy?.resume();
    reps?.killAll();
    await proxy?.close();
    await emu?.close();
    pg?.stop();
    cleanupDirs(...dirs, ...(reps?.dirs ?? []));
  });

  test('steps down at the renew deadline, the other takes over; afterwards nothing of it is accepted', async () => {
    const url = pg.createDatabase('partition');
    const manifests = tmp('acictl-part-m-');
    dirs.push(manifests);
    mkdirSync(manifests, { recursive: true });
    writeFileSync(path.join(manifests, 'tick.yaml'), jobYaml('tick', { schedule: '*/2 * * * * *', command: 'echo tick', extra: '  concurrencyPolicy: Allow\n' }));
    reps = new Replicas(emu, url, LEASE, [manifests]);
    const cut = reps.spawn({ ACICTL_STORE: url.replace(`:${pg.port}/`, `:${proxy.port}/`) });
    await cut.ready(60_000);
    const db = new Client({ connectionString: url });
    await db.connect();
    try {
      await waitUntil('the proxied replica to lead', async () => {
        const l = await readLease(db);
        return l && reps!.byHolder(l.holder) === cut ? l : null;
      }, 20_000, 100);
      const other = reps.spawn();
      await other.ready(60_000);
      const creates = () => emu.stats().creations.filter((c) => c.tags['acictl.dev/job'] === 'tick');
      await waitUntil('runs under the proxied leader', () => (creates().length >= 3 ? true : null), 30_000, 100);
      const before = (await readLease(db))!;

      proxy.pause();
      const cutAt = Date.now();
      await waitUntil('the cut-off leader to step down', () => cut.lines().find((l) => l.msg === 'stopped leading' && l.token === before.token), 10_000, 50);
      const stepDown = cut.lines().find((l) => l.msg === 'stopped leading' && l.token === before.token)!;
      const stepDownMs = Number(stepDown.time) - cutAt;
      expect(stepDown.reason).toBe('renew deadline passed');
      expect(stepDownMs).toBeLessThanOrEqual(LEASE.renew + 2 * LEASE.retry + 2000); // a loaded machine delays timers
      const taken = await waitUntil('the other replica to take over', async () => {
        const l = await readLease(db);
        return l && l.token > before.token && reps!.byHolder(l.holder) === other ? l : null;
      }, 20_000, 50);
      const takeoverMs = Date.now() - cutAt;
      const atTakeover = creates().length;
      await waitUntil('the new leader to launch', () => (creates().length >= atTakeover + 2 ? true : null), 20_000, 100);
      await waitUntil('the cut-off replica to say it is not ready', async () => {
        const r = await fetch(`${cut.url}/readyz`);
        const body = await r.text();
        return r.status === 503 && /^not ready\nrole: follower\nreason: database unreachable for \d+ s\n$/.test(body);
      }, 10_000, 200);
      expect(await metricValue(cut, 'acictl_leader')).toBe(0);

      proxy.resume();
      await waitUntil('the cut-off replica ready again, as a follower', async () => {
        const r = await fetch(`${cut.url}/readyz`);
        return r.status === 200 && (await r.text()) === 'ok\nrole: follower\n';
      }, 40_000, 200);
      await sleep(3000);
      const nowLease = (await readLease(db))!;
      if (nowLease.token !== taken.token) {
        for (const p of reps.procs) console.log(`lease changed again (${taken.token} → ${nowLease.token}); ${p === cut ? 'cut' : 'other'}:\n${p.lines().filter((l) => l.component === 'leader').map((l) => `${Number(l.time) - cutAt} ${l.msg} ${l.token ?? ''} ${l.reason ?? ''} ${JSON.stringify(l.err ?? '')}`).join('\n')}`);
      }
      expect(nowLease.token).toBe(taken.token);
      expect(await metricValue(cut, 'acictl_leader')).toBe(0);
      // nothing of it committed after it stepped down (each reconciler event is logged after its commit)
      const late = cut.lines().filter((l) => Number(l.time) > Number(stepDown.time) + 100 && l.component === 'reconciler' && typeof l.reason === 'string');
      expect(late).toEqual([]);
      const keys = creates().map((c) => `${c.tags['acictl.dev/run']}#${c.tags['acictl.dev/attempt'] ?? '1'}`);
      expect(keys.length - new Set(keys).size).toBe(0);
      const slots = creates().map((c) => c.tags['acictl.dev/scheduled-time']);
      expect(slots.length - new Set(slots).size).toBe(0);
      for (const p of reps.procs) expect(p.child.exitCode).toBeNull();
      console.log(`partition: the cut-off leader stepped down after ${stepDownMs} ms; takeover after ${takeoverMs} ms; ${creates().length} creations, 0 duplicates`);
    } finally {
      await db.end().catch(() => undefined);
    }
  });
});
