/**
 * Notifications on the shared PostgreSQL store: two replicas, each with its dispatcher gated by its
 * own leader elector (as the controller wires them): only the lease holder sends, so a notification
 * is delivered once, not once per replica; and an ex-leader whose token is stale cannot record a
 * delivery (its fenced write is refused by the database), so the new leader still owns the row.
 */
import { LeaderElector } from '../../src/controller/leader';
import { FencedError, PostgresStore, withFence } from '../../src/store/postgres';
import { envFileSecretSource } from '../../src/aci/secrets';
import { SecretAccess } from '../../src/aci/secret-access';
import { NotificationDispatcher } from '../../src/notify/dispatcher';
import { Notifier } from '../../src/notify/outbox';
import { findPostgres, startPostgres, type TestPostgres } from '../fixtures/postgres';
import { WebhookReceiver } from '../fixtures/notify-receivers';
import { jobInput, runRecord } from '../store/contract';

const found = findPostgres();
jest.setTimeout(60_000);
const maybe = 'missing' in found ? describe.skip : describe;

const SECRET = 'pg-hook-key-1c9e';
const env = { ACICTL_SECRET_HOOK: SECRET };
let pg: TestPostgres;
let hook: WebhookReceiver;
beforeAll(async () => {
  if ('missing' in found) return;
  pg = await startPostgres();
  hook = await new WebhookReceiver(SECRET).start();
}, 60_000);
afterAll(async () => {
  await hook?.close();
  pg?.stop();
});

maybe('notifications on PostgreSQL', () => {
  test('two replicas: only the leader dispatches (one delivery); a stale token cannot mark a row', async () => {
    const url = pg.createDatabase('notify');
    const stores = [await PostgresStore.open(url, { pollMs: 50 }), await PostgresStore.open(url, { pollMs: 50 })];
    const timings = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 200 };
    const electors = stores.map((s, i) => new LeaderElector(s.db, `replica-${i}`, timings, { onStart: () => undefined, onStop: () => undefined }));
    const dispatchers = stores.map(
      (store, i) =>
        new NotificationDispatcher({
          store,
          secrets: envFileSecretSource(env, { access: new SecretAccess({ env }) }),
          now: () => Date.now(),
          logger: { info: () => undefined, warn: () => undefined },
          gate: () => {
            const t = electors[i].current();
            return t ? { run: (fn) => withFence(t.token, fn) } : null;
          },
        }),
    );
    try {
      electors[0].start();
      const t0 = Date.now();
      while (!electors[0].isLeader() && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
      electors[1].start();
      await new Promise((r) => setTimeout(r, 400)); // the second sees the lease held
      expect(electors.map((e) => e.isLeader())).toEqual([true, false]);

      // the leader's reconciler enqueues (fenced, with the run's final phase)
      const store = stores[0];
      await store.putJob({ ...jobInput('etl'), spec: { ...jobInput('etl').spec, notify: [{ name: 'ops', webhook: { url: hook.url, secretFrom: { env: 'ACICTL_SECRET_HOOK' } } }] } });
      const notifier = new Notifier({ store, now: () => Date.now() });
      const term = electors[0].current()!;
      await withFence(term.token, () => store.transaction(async () => {
        await store.putRun(runRecord('etl', 1000, { phase: 'Failed', finishedAt: 2000 }));
        await notifier.runFinished('etl', 'etl-1000', 'Failed');
      }));

      await dispatchers[1].runOnce(); // the follower: nothing
      expect(dispatchers[1].stats.passes).toBe(0);
      expect(hook.accepted).toHaveLength(0);
      await dispatchers[0].runOnce();
      await dispatchers[1].runOnce();
      expect(hook.accepted.map((a) => a.delivery)).toEqual(['etl/etl-1000/1/failure/ops']);
      expect((await stores[1].getNotification('etl/etl-1000/1/failure/ops'))?.state).toBe('Delivered');

      // a write under a token that is no longer the lease's is refused
      await store.enqueueNotification({ id: 'x', job: 'etl', event: 'failure', target: 'ops', payload: '{}', createdAt: 0, state: 'Pending', attempts: 0, nextAttemptAt: 0 });
      await expect(withFence(term.token - 1, () => store.updateNotification('x', { state: 'Delivered', attempts: 1, nextAttemptAt: 0, finishedAt: 1 }))).rejects.toBeInstanceOf(FencedError);
      expect((await store.getNotification('x'))?.state).toBe('Pending');
    } finally {
      for (const d of dispatchers) await d.stop();
      for (const e of electors) await e.stop();
      for (const s of stores) await s.close();
    }
  });
});
