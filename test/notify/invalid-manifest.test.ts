/**
 * "On invalid manifest", through the real controller (in-process, the emulator in simulate mode):
 * breaking a job's file marks the job Invalid (its last good spec kept) and notifies the targets
 * that asked for `invalid` once, with the file:line of the problem; fixing it and breaking it again
 * is a second notification.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { startController, type RunningController } from '../../src/controller/controller';
import { startEmulator, type RunningEmulator } from '../../src/emulator';
import { inProcessOptions } from '../fixtures/in-process-controller';
import { WebhookReceiver } from '../fixtures/notify-receivers';

jest.setTimeout(60_000);
const SECRET = 'invalid-test-hook-key';
let emu: RunningEmulator;
let hook: WebhookReceiver;
let dir: string;
let ctl: RunningController | undefined;
beforeAll(async () => {
  emu = await startEmulator({ runtime: 'simulate', throttling: 'off', lroDelayMs: 10 });
  hook = await new WebhookReceiver(SECRET).start();
  dir = mkdtempSync(path.join(tmpdir(), 'acictl-notify-invalid-'));
});
afterAll(async () => {
  await ctl?.stop();
  await hook.close();
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

const file = (schedule: string) => `apiVersion: acictl.dev/v1
kind: ContainerJob
metadata:
  name: report
spec:
  ${schedule}
  notify:
    - on: [invalid]
      webhook: {url: "${'URL'}", secretFrom: {env: ACICTL_SECRET_HOOK}}
  template:
    resourceGroup: rg
    location: eastus
    containers:
      - name: main
        image: busybox
        resources: {requests: {cpu: 1, memoryInGB: 1}}
`;

async function until<T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a broken file notifies `invalid` once per transition, with FILE:LINE', async () => {
  const manifests = path.join(dir, 'm');
  require('node:fs').mkdirSync(manifests);
  const jobFile = path.join(manifests, 'report.yaml');
  const write = (schedule: string) => writeFileSync(jobFile, file(schedule).replace('URL', hook.url));
  write('schedule: "@daily"');
  ctl = await startController(inProcessOptions(emu, { manifests: [manifests], stateDir: path.join(dir, 'state'), env: { ACICTL_SECRET_HOOK: SECRET }, logger: pino({ level: 'silent' }) }));
  const store = ctl.store;
  await until('the job', async () => (await store.getJob('report'))?.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  expect(hook.accepted).toHaveLength(0);

  write('schedul: "@daily"'); // a typo: the file is invalid
  const got = await until('the invalid notification', () => hook.accepted.length > 0 && hook.accepted);
  expect(got[0].signatureOk).toBe(true);
  expect(got[0].body).toMatchObject({ event: 'invalid', job: 'report', outcome: 'Invalid', reason: 'SourceInvalid', run: null });
  expect(String(got[0].body.message)).toMatch(/report\.yaml:6:3: unknown field "schedul"/);
  expect((await store.getJob('report'))!.spec.schedule).toBe('@daily'); // last good spec kept
  await new Promise((r) => setTimeout(r, 1500));
  expect(hook.accepted).toHaveLength(1); // not again on later reconciles

  write('schedule: "@daily"');
  await until('valid again', async () => !(await store.getJob('report'))?.status.conditions?.some((c) => c.type === 'Invalid' && c.status === 'True'));
  write('schedule: "@dailyy"');
  await until('a second invalid notification', () => hook.accepted.length === 2);
  expect(new Set(hook.accepted.map((a) => a.delivery)).size).toBe(2);
});
