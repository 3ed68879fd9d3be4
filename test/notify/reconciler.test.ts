/**
 * The reconciler writes outbox rows when a notification-worthy change is recorded, under
 * deterministic ids: a retry, the final failure, the first success after it (recovery), missed
 * slots and an invalid manifest — each once, however often the job is reconciled again, and
 * only for the events each target asked for.
 */
import { Harness, spec, T0 } from '../controller/reconciler-harness';
import { Notifier } from '../../src/notify/outbox';
import type { OutboxPayload } from '../../src/notify/outbox';
import type { NotifyTarget } from '../../src/api/types';

const HOUR = 3_600_000;
const firstSlot = Math.ceil(T0 / HOUR) * HOUR;

function harness(): { h: Harness; enqueued: { n: number } } {
  const h = new Harness();
  const enqueued = { n: 0 };
  h.notify = new Notifier({ store: h.store, now: () => h.clock.now(), onEnqueued: () => enqueued.n++ });
  h.restart();
  return { h, enqueued };
}

const hook: NotifyTarget = { name: 'ops', on: ['failure', 'retry', 'recovery', 'missed'], webhook: { url: 'http://127.0.0.1:9/x', secretFrom: { env: 'ACICTL_SECRET_HOOK' } } };
const mail: NotifyTarget = { email: { host: '127.0.0.1', from: 'a@example.com', to: ['b@example.com'] } }; // default events: failure, missed, recovery, invalid

/** Reconcile until the current attempt's group exists; finish it with `exitCode`; reconcile until it is recorded. */
async function runSlot(h: Harness, job: string, exitCode: number): Promise<void> {
  await h.resync();
  await h.reconcile(job);
  const group = h.creations().at(-1)!;
  h.groups.finish(group, exitCode);
  await h.runFor(job, 5_000);
}

test('retry, failure and recovery are enqueued once each, per target that wants them, with deterministic ids', async () => {
  const { h, enqueued } = harness();
  await h.putJob('etl', spec({ retries: 1, retryDelay: '1m', notify: [hook, mail] }));
  h.clock.t = firstSlot + 500;
  await runSlot(h, 'etl', 1); // attempt 1 fails: a retry is scheduled
  const afterRetry = await h.store.listNotifications();
  const run = (await h.store.listRuns('etl'))[0];
  expect(afterRetry.map((e) => e.id)).toEqual([`etl/${run.id}/1/retry/ops`]); // the e-mail target did not ask for retries
  await h.runFor('etl', 61_000);
  await runSlot(h, 'etl', 1); // attempt 2 fails: the run is Failed
  expect((await h.store.getRun(run.id))!.phase).toBe('Failed');
  const ids = (await h.store.listNotifications()).map((e) => e.id).sort();
  expect(ids).toEqual([`etl/${run.id}/1/retry/ops`, `etl/${run.id}/2/failure/email-1`, `etl/${run.id}/2/failure/ops`]);

  const failure = await h.store.getNotification(`etl/${run.id}/2/failure/ops`);
  const payload = JSON.parse(failure!.payload) as OutboxPayload;
  expect(payload.message).toMatchObject({ event: 'failure', job: 'etl', run: run.id, attempt: 2, slot: new Date(firstSlot).toISOString(), outcome: 'Failed', reason: 'ExitCode' });
  expect(payload.target).toMatchObject({ kind: 'webhook', name: 'ops', webhook: { secretFrom: { env: 'ACICTL_SECRET_HOOK' } } });

  // reconciling again (as after a restart) enqueues nothing new
  const before = enqueued.n;
  h.restart();
  for (let i = 0; i < 3; i++) await h.reconcile('etl');
  expect((await h.store.listNotifications()).length).toBe(3);
  expect(enqueued.n).toBe(before);

  // the next slot succeeds: the first success after a failure is a recovery (both targets)
  h.clock.t = firstSlot + HOUR + 500;
  await runSlot(h, 'etl', 0);
  const run2 = (await h.store.listRuns('etl')).find((r) => r.id !== run.id)!;
  expect(run2.phase).toBe('Succeeded');
  const rec = (await h.store.listNotifications()).filter((e) => e.event === 'recovery').map((e) => e.id).sort();
  expect(rec).toEqual([`etl/${run2.id}/1/recovery/email-1`, `etl/${run2.id}/1/recovery/ops`]);
  // a second success in a row is no recovery
  h.clock.t = firstSlot + 2 * HOUR + 500;
  await runSlot(h, 'etl', 0);
  expect((await h.store.listNotifications()).filter((e) => e.event === 'recovery')).toHaveLength(2);
});

test('no spec.notify: nothing is enqueued', async () => {
  const { h } = harness();
  await h.putJob('quiet', spec({ retries: 0 }));
  h.clock.t = firstSlot + 500;
  await runSlot(h, 'quiet', 3);
  expect((await h.store.listRuns('quiet'))[0].phase).toBe('Failed');
  expect(await h.store.listNotifications()).toEqual([]);
});

test('missed slots are enqueued once per recorded miss', async () => {
  const { h } = harness();
  await h.putJob('late', spec({ startingDeadlineSeconds: 60, notify: [hook] }));
  await h.resync();
  await h.reconcile('late'); // anchors the schedule
  h.clock.t = firstSlot + 10 * 60_000; // ten minutes past the slot: beyond the 60 s deadline
  await h.reconcile('late');
  await h.reconcile('late');
  const rows = await h.store.listNotifications();
  expect(rows.map((e) => e.id)).toEqual([`late/missed/${firstSlot}/ops`]);
  expect(JSON.parse(rows[0].payload).message).toMatchObject({ event: 'missed', outcome: 'Missed', missed: 1, slot: new Date(firstSlot).toISOString() });
});

test('an Invalid condition is notified once per transition to invalid', async () => {
  const { h } = harness();
  await h.putJob('broken', spec({ notify: [mail] }));
  const j = (await h.store.getJob('broken'))!;
  const since = '2026-01-10T00:00:40.000Z';
  const invalid = { type: 'Invalid', status: 'True' as const, reason: 'SourceInvalid', message: 'jobs/broken.yaml:7:3: error: unknown field "schedul"', lastTransitionTime: since };
  await h.store.putJobStatus('broken', { ...j.status, conditions: [invalid] });
  await h.reconcile('broken');
  await h.reconcile('broken');
  h.restart(); // a new process: the row's id is the same
  await h.reconcile('broken');
  const rows = await h.store.listNotifications();
  expect(rows.map((e) => e.id)).toEqual([`broken/invalid/${Date.parse(since)}/email-1`]);
  expect(JSON.parse(rows[0].payload).message).toMatchObject({ event: 'invalid', outcome: 'Invalid', reason: 'SourceInvalid' });
  // fixed, then broken again later: a new notification
  await h.store.putJobStatus('broken', { ...j.status, conditions: [] });
  await h.reconcile('broken');
  await h.store.putJobStatus('broken', { ...j.status, conditions: [{ ...invalid, lastTransitionTime: '2026-01-10T01:00:00.000Z' }] });
  await h.reconcile('broken');
  expect(await h.store.listNotifications()).toHaveLength(2);
});
