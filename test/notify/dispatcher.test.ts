/**
 * The dispatcher against real receivers on loopback: a signed webhook (HMAC checked at the
 * receiver), an e-mail through a real SMTP server with AUTH, retries with backoff while a receiver
 * fails or hangs, giving up (NotificationFailed), permanent errors, and secrets that appear in no
 * outbox row, event or log line.
 */
import { MemoryStore } from '../../src/store/memory';
import { envFileSecretSource } from '../../src/aci/secrets';
import { SecretAccess } from '../../src/aci/secret-access';
import { NotificationDispatcher, backoffDelay, DEFAULT_RETRY, type RetryPolicy } from '../../src/notify/dispatcher';
import { Notifier } from '../../src/notify/outbox';
import type { NotifyTarget } from '../../src/api/types';
import { SmtpReceiver, WebhookReceiver } from '../fixtures/notify-receivers';

const HOOK_SECRET = 'hook-secret-5f1c2a9e-do-not-log';
const SMTP_PASSWORD = 'smtp-password-77b3c1-do-not-log';
const env = { ACICTL_SECRET_HOOK: HOOK_SECRET, ACICTL_SECRET_SMTP: SMTP_PASSWORD };

let hook: WebhookReceiver;
let smtp: SmtpReceiver;
beforeEach(async () => {
  hook = await new WebhookReceiver(HOOK_SECRET).start();
  smtp = await new SmtpReceiver('acictl', SMTP_PASSWORD).start();
});
afterEach(async () => {
  await hook.close();
  await smtp.close();
});

interface Setup {
  store: MemoryStore;
  clock: { t: number };
  d: NotificationDispatcher;
  logs: string[];
  notifier: Notifier;
}

async function setup(targets: NotifyTarget[], retry: RetryPolicy = DEFAULT_RETRY): Promise<Setup> {
  const clock = { t: Date.UTC(2026, 0, 10, 2, 0, 5) };
  const store = new MemoryStore({ now: () => clock.t });
  const logs: string[] = [];
  const logger = { info: (o: object, m?: string) => logs.push(JSON.stringify(o) + (m ?? '')), warn: (o: object, m?: string) => logs.push(JSON.stringify(o) + (m ?? '')) };
  const d = new NotificationDispatcher({
    store,
    secrets: envFileSecretSource(env, { access: new SecretAccess({ env }) }),
    now: () => clock.t,
    logger,
    retry,
    runLink: (run) => `http://127.0.0.1:1/apis/acictl.dev/v1/containerjobruns/${run}`,
  });
  await store.putJob({
    name: 'etl',
    labels: {},
    annotations: {},
    finalizers: [],
    source: { kind: 'api' },
    status: {},
    spec: { schedule: '0 2 * * *', notify: targets, template: { resourceGroup: 'rg', location: 'eastus', containers: [{ name: 'main', image: 'busybox', resources: { requests: { cpu: 1, memoryInGB: 1 } } }] } },
  });
  const slot = Date.UTC(2026, 0, 10, 2, 0, 0);
  await store.putRun({
    id: 'etl-202601100200',
    job: 'etl',
    slot,
    manual: false,
    scheduledTime: slot,
    dataIntervalStart: slot - 86_400_000,
    dataIntervalEnd: slot,
    phase: 'Failed',
    attempts: [{ attempt: 1, groupName: 'etl-202601100200', phase: 'Failed', createdAt: slot, finishedAt: slot + 4000, exitCode: 3, reason: 'ExitCode', message: 'exit code 3', logsArchived: true, groupDeleted: false }],
    createdAt: slot,
    finishedAt: slot + 4000,
  });
  const notifier = new Notifier({ store, now: () => clock.t });
  return { store, clock, d, logs, notifier };
}

const webhook = (): NotifyTarget => ({ name: 'ops', webhook: { url: hook.url, secretFrom: { env: 'ACICTL_SECRET_HOOK' }, timeout: '1s' } });
const email = (): NotifyTarget => ({ name: 'mail', email: { host: '127.0.0.1', port: smtp.port, tls: 'none', from: 'acictl@example.com', to: ['oncall@example.com'], username: 'acictl', passwordFrom: { env: 'ACICTL_SECRET_SMTP' } } });

test('a failure: one signed webhook and one e-mail (SMTP AUTH with the password from secretFrom); rows Delivered, events NotificationSent', async () => {
  const s = await setup([webhook(), email()]);
  await s.notifier.runFinished('etl', 'etl-202601100200', 'Failed');
  await s.notifier.runFinished('etl', 'etl-202601100200', 'Failed'); // a replay: no second row
  await s.d.runOnce();
  await s.d.runOnce(); // nothing left to send

  expect(hook.accepted).toHaveLength(1);
  const got = hook.accepted[0];
  expect(got.signatureOk).toBe(true);
  expect(got.delivery).toBe('etl/etl-202601100200/1/failure/ops');
  expect(got.event).toBe('failure');
  expect(got.body).toEqual({
    id: 'etl/etl-202601100200/1/failure/ops',
    event: 'failure',
    job: 'etl',
    run: 'etl-202601100200',
    attempt: 1,
    slot: '2026-01-10T02:00:00.000Z',
    outcome: 'Failed',
    reason: 'ExitCode',
    message: 'run etl-202601100200 failed: exit code 3',
    time: '2026-01-10T02:00:05.000Z',
    link: 'http://127.0.0.1:1/apis/acictl.dev/v1/containerjobruns/etl-202601100200',
  });

  expect(smtp.mails).toHaveLength(1);
  expect(smtp.authFailures).toBe(0);
  const m = smtp.mails[0];
  expect(m.user).toBe('acictl');
  expect(m.to).toEqual(['oncall@example.com']);
  expect(m.raw).toMatch(/^Subject: \[acictl\] etl etl-202601100200: failed/m);
  expect(m.raw).toMatch(/X-Acictl-Delivery: etl\/etl-202601100200\/1\/failure\/mail/);
  expect(m.raw).toContain('exit code 3');

  const rows = await s.store.listNotifications();
  expect(rows.map((r) => [r.target, r.state, r.attempts])).toEqual([
    ['mail', 'Delivered', 1],
    ['ops', 'Delivered', 1],
  ]);
  const events = (await s.store.listEvents('etl')).map((e) => e.reason);
  expect(events.filter((r) => r === 'NotificationSent')).toHaveLength(2);

  // secrets: in no row, event or log line
  const everything = JSON.stringify(rows) + JSON.stringify(await s.store.listEvents()) + s.logs.join('\n');
  expect(everything).not.toContain(HOOK_SECRET);
  expect(everything).not.toContain(SMTP_PASSWORD);
});

test('a failing, then hanging receiver: backoff (doubling, capped), then delivered once it answers', async () => {
  const retry = { initialDelayMs: 1000, maxDelayMs: 4000, giveUpAfterMs: 3_600_000 };
  const s = await setup([webhook()], retry);
  await s.notifier.runFinished('etl', 'etl-202601100200', 'Failed');
  hook.mode = 'fail';
  await s.d.runOnce();
  let row = (await s.store.listNotifications())[0];
  expect(row).toMatchObject({ state: 'Pending', attempts: 1, lastError: 'HTTP 503', nextAttemptAt: s.clock.t + 1000 });
  await s.d.runOnce(); // not due yet: not sent
  expect(hook.attempts).toBe(1);
  s.clock.t += 1000;
  hook.mode = 'hang';
  const t0 = Date.now();
  await s.d.runOnce(); // times out after the target's 1 s
  expect(Date.now() - t0).toBeLessThan(3000);
  row = (await s.store.listNotifications())[0];
  expect(row).toMatchObject({ state: 'Pending', attempts: 2, nextAttemptAt: s.clock.t + 2000 });
  expect(row.lastError).toMatch(/no answer within 1000 ms/);
  expect([1, 2, 3, 4, 5].map((n) => backoffDelay(retry, n))).toEqual([1000, 2000, 4000, 4000, 4000]);
  s.clock.t += 2000;
  hook.mode = 'accept';
  await s.d.runOnce();
  expect(hook.accepted).toHaveLength(1);
  expect((await s.store.listNotifications())[0]).toMatchObject({ state: 'Delivered', attempts: 3 });
});

test('given up after giveUpAfterMs (NotificationFailed); a permanent 4xx is not retried', async () => {
  const s = await setup([webhook()], { initialDelayMs: 1000, maxDelayMs: 1000, giveUpAfterMs: 5000 });
  await s.notifier.runFinished('etl', 'etl-202601100200', 'Failed');
  hook.mode = 'fail';
  for (let i = 0; i < 10; i++) {
    await s.d.runOnce();
    s.clock.t += 1000;
  }
  const row = (await s.store.listNotifications())[0];
  expect(row.state).toBe('Failed');
  expect(row.attempts).toBe(6); // at 0, 1, 2, 3, 4 s, and the one at 5 s gives up
  const failed = (await s.store.listEvents('etl')).filter((e) => e.reason === 'NotificationFailed');
  expect(failed).toHaveLength(1);
  expect(failed[0].message).toMatch(/given up after 6 attempt\(s\): HTTP 503/);

  // a receiver that answers 400 to a well-formed, signed POST will not change its mind
  const p = await setup([{ name: 'strict', webhook: { url: hook.url.replace('/hook', '/x'), secretFrom: { env: 'ACICTL_SECRET_HOOK' } } }]);
  const wrongKey = new WebhookReceiver('another-key');
  await wrongKey.start();
  try {
    await p.store.putJob({ ...(await p.store.getJob('etl'))!, spec: { ...(await p.store.getJob('etl'))!.spec, notify: [{ name: 'strict', webhook: { url: wrongKey.url, secretFrom: { env: 'ACICTL_SECRET_HOOK' } } }] } });
    await p.notifier.runFinished('etl', 'etl-202601100200', 'Failed');
    await p.d.runOnce();
    expect((await p.store.listNotifications())[0]).toMatchObject({ state: 'Failed', attempts: 1, lastError: 'HTTP 401' });
  } finally {
    await wrongKey.close();
  }
});

test('a missing secret is a failed attempt naming the variable, never a value', async () => {
  const s = await setup([{ name: 'ops', webhook: { url: hook.url, secretFrom: { env: 'ACICTL_SECRET_NOPE' } } }]);
  await s.notifier.runFinished('etl', 'etl-202601100200', 'Failed');
  await s.d.runOnce();
  const row = (await s.store.listNotifications())[0];
  expect(row.state).toBe('Pending');
  expect(row.lastError).toMatch(/ACICTL_SECRET_NOPE/);
  expect(hook.attempts).toBe(0);
});

test('SMTP refusing mail (451) is retried; a wrong password is an error without the password', async () => {
  const s = await setup([email()], { initialDelayMs: 1000, maxDelayMs: 1000, giveUpAfterMs: 60_000 });
  await s.notifier.runFinished('etl', 'etl-202601100200', 'Failed');
  smtp.accepting = false;
  await s.d.runOnce();
  expect((await s.store.listNotifications())[0]).toMatchObject({ state: 'Pending', attempts: 1 });
  expect((await s.store.listNotifications())[0].lastError).toMatch(/SMTP 451/);
  smtp.accepting = true;
  s.clock.t += 1000;
  await s.d.runOnce();
  expect(smtp.mails).toHaveLength(1);
  expect((await s.store.listNotifications())[0].state).toBe('Delivered');

  const bad = new SmtpReceiver('acictl', 'a-different-password');
  await bad.start();
  try {
    const b = await setup([{ name: 'mail', email: { host: '127.0.0.1', port: bad.port, tls: 'none', from: 'a@example.com', to: ['b@example.com'], username: 'acictl', passwordFrom: { env: 'ACICTL_SECRET_SMTP' } } }]);
    await b.notifier.runFinished('etl', 'etl-202601100200', 'Failed');
    await b.d.runOnce();
    const row = (await b.store.listNotifications())[0];
    expect(row.state).toBe('Pending');
    expect(bad.authFailures).toBe(1);
    expect(JSON.stringify(row) + b.logs.join('\n')).not.toContain(SMTP_PASSWORD);
  } finally {
    await bad.close();
  }
});
