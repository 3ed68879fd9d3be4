/**
 * `acictl controller --emulator` (startController with `emulator`): the embedded emulator takes only
 * tokens its identity endpoint issued to this controller (issue 20). The controller's own runs
 * still start; another local process holding a made-up token cannot start anything.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import pino from 'pino';
import { startController, type RunningController } from '../../src/controller/controller';
import { manifest } from './watcher-helpers';

let dir: string;
let ctl: RunningController | undefined;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'acictl-embauth-'));
});
afterAll(async () => {
  await ctl?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function waitFor<T>(probe: () => T | undefined | false, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the controller runs through its issued token; a fixed token gets 401 and starts nothing', async () => {
  const m = path.join(dir, 'manifests');
  mkdirSync(m);
  writeFileSync(path.join(m, 'job.yaml'), manifest('embauth'));
  const stateDir = path.join(dir, 'state');
  ctl = await startController({
    manifests: [m],
    stateDir,
    listen: { host: '127.0.0.1', port: 0 },
    once: false,
    allowEmpty: false,
    emulator: { runtime: 'simulate', lroDelayMs: 10, simulate: { durationMs: 100 } },
    arm: {},
    resyncIntervalMs: 5 * 60_000,
    concurrency: 2,
    env: {},
    logger: pino({ level: 'silent' }),
  });
  const emu = ctl.emulator!;
  const token = readFileSync(path.join(stateDir, 'token'), 'utf8').trim();
  const trig = await fetch(`${ctl.url}/apis/acictl.dev/v1/containerjobs/embauth/trigger`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
  expect(trig.status).toBeLessThan(300);
  await waitFor(() => emu.stats().creations.some((c) => c.tags['acictl.dev/job'] === 'embauth'));

  const intruder = new ContainerInstanceManagementClient(
    { getToken: async () => ({ token: 'made-up', expiresOnTimestamp: Date.now() + 3_600_000 }) },
    emu.subscriptionId,
    { endpoint: emu.endpoint, tlsOptions: { ca: emu.ca }, retryOptions: { maxRetries: 0 } } as ConstructorParameters<typeof ContainerInstanceManagementClient>[2],
  );
  const before = emu.stats().creations.length;
  await expect(
    intruder.containerGroups.beginCreateOrUpdateAndWait('rg', 'intruder', {
      location: 'eastus', osType: 'Linux', restartPolicy: 'Never',
      containers: [{ name: 'c', image: 'busybox', command: ['/bin/sh', '-c', 'touch /tmp/pwned'], resources: { requests: { cpu: 1, memoryInGB: 1 } } }],
    }),
  ).rejects.toMatchObject({ statusCode: 401, code: 'InvalidAuthenticationToken' });
  await expect(intruder.containerGroups.get('rg', 'intruder')).rejects.toMatchObject({ statusCode: 401 });
  expect(emu.stats().creations.length).toBe(before);
  expect(emu.stats().creations.some((c) => c.name === 'intruder')).toBe(false);
});
