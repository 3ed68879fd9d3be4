/**
 * Issue 16, acceptance 5 and the operator verbs end to end: a real controller process against the
 * emulator, driven by the `acictl` binary (backfill, clear, runs cancel) and by kubectl
 * (`kubectl create --raw` reaches the same API verbs).
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { armClient, cleanupDirs, ControllerProcess, jobYaml, sleep, startControllerProcess, startTestEmulator, tmp, waitUntil } from './harness';
import { runCli } from '../cli/harness';
import type { RunningEmulator } from '../../src/emulator';

jest.setTimeout(180_000);

const RG = 'e2e-operator';
let emu: RunningEmulator & { caFilePath: string };
let ctl: ControllerProcess;
let dir: string;

const ACTIVE = new Set(['Pending', 'Running', 'Retrying']);

function acictl(args: string[]) {
  return runCli([...args, '--server', ctl.url, '--token', ctl.token], { cwd: dir, timeoutMs: 30_000 });
}

function kubectl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('/usr/bin/kubectl', ['--kubeconfig', path.join(ctl.stateDir, 'kubeconfig'), '--cache-dir', path.join(dir, 'kcache'), '--request-timeout=20s', ...args], {
      env: { HOME: dir, PATH: process.env.PATH ?? '/usr/bin' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  emu = await startTestEmulator();
  dir = tmp('acictl-e2e-operator-');
  writeFileSync(
    path.join(dir, 'bf.yaml'),
    jobYaml('bf', {
      rg: RG,
      schedule: '0 0 * * *',
      command: 'sleep 1; echo "day $ACICTL_DATA_INTERVAL_START"',
      extra: '  concurrencyPolicy: Allow\n  startTime: 2026-01-01T00:00:00Z\n  successfulRunsHistoryLimit: 100\n  failedRunsHistoryLimit: 100\n  cleanup: {onSuccess: Delete, onFailure: Delete}\n',
    }),
  );
  writeFileSync(path.join(dir, 'hang.yaml'), jobYaml('hang', { rg: RG, schedule: null, command: 'sleep 600' }));
  const marker = path.join(dir, 'flaky-marker');
  writeFileSync(
    path.join(dir, 'flaky.yaml'),
    jobYaml('flaky', { rg: RG, schedule: null, command: `if [ -f ${marker} ]; then echo second; else touch ${marker}; exit 4; fi`, extra: '  failedRunsHistoryLimit: 5\n' }),
  );
  ctl = startControllerProcess(emu, { manifests: [dir] });
  await ctl.ready();
  await waitUntil('jobs loaded', async () => (await ctl.job('bf')) && (await ctl.job('flaky')) && (await ctl.job('hang')), 20_000);
});

afterAll(async () => {
  await ctl?.stop();
  await emu?.close();
  cleanupDirs(dir);
});

test('backfill of 30 daily slots with --max-active 3: never more than 3 active, 30 Succeeded, deterministic names; a second identical backfill creates nothing', async () => {
  const dry = await acictl(['backfill', 'bf', '--from', '2026-01-01', '--to', '2026-01-30', '--max-active', '3', '--dry-run']);
  expect(dry.code).toBe(0);
  expect(dry.stdout).toMatch(/30 slot\(s\): 30 to run, 0 to re-run, 0 skipped; at most 3 active/);
  expect(dry.stdout.split('\n')[0]).toBe('bf-202601010000\t2026-01-01T00:00:00Z\trun');
  expect(await ctl.runs('bf')).toEqual([]);

  const res = await acictl(['backfill', 'bf', '--from', '2026-01-01', '--to', '2026-01-30', '--max-active', '3']);
  expect(res.code).toBe(0);
  expect(res.stdout).toMatch(/^backfill\/bf-\w+ of containerjob\/bf accepted: 30 slot\(s\)/m);

  let peak = 0;
  let samples = 0;
  const runs = await waitUntil(
    '30 backfill runs to succeed',
    async () => {
      const items = await ctl.runs('bf');
      samples++;
      peak = Math.max(peak, items.filter((r) => ACTIVE.has(r.status?.phase)).length);
      return items.length === 30 && items.every((r) => r.status?.phase === 'Succeeded') ? items : null;
    },
    150_000,
    100,
  );
  expect(samples).toBeGreaterThan(20);
  expect(peak).toBeGreaterThanOrEqual(2); // it did run in parallel …
  expect(peak).toBeLessThanOrEqual(3); // … but never more than 3 at once
  const names = runs.map((r) => r.metadata.name).sort();
  const expected = Array.from({ length: 30 }, (_, i) => `bf-202601${String(i + 1).padStart(2, '0')}0000`);
  expect(names).toEqual(expected);
  const created = emu.stats().creations.filter((c) => c.tags['acictl.dev/job'] === 'bf').map((c) => c.name).sort();
  expect(created).toEqual(expected);

  await waitUntil('the backfill to end', async () => ((await ctl.job('bf')).status?.backfill === undefined ? true : null), 20_000);
  const describe = await acictl(['describe', 'job', 'bf']);
  expect(describe.stdout).toMatch(/BackfillCompleted/);

  const again = await acictl(['backfill', 'bf', '--from', '2026-01-01', '--to', '2026-01-30', '--max-active', '3']);
  expect(again.code).toBe(0);
  expect(again.stdout).toMatch(/30 slot\(s\): 0 to run, 0 to re-run, 30 skipped/);
  await sleep(2_000);
  expect(emu.stats().creations.filter((c) => c.tags['acictl.dev/job'] === 'bf')).toHaveLength(30);
  const metrics = await (await fetch(`${ctl.url}/metrics`)).text();
  expect(metrics).toMatch(/acictl_operator_actions_total\{verb="backfill"\} 2/);
});

test('acictl clear re-runs a failed run as attempt 2 under the same name; clear --failed finds it by range', async () => {
  const trig = await acictl(['run', 'flaky']);
  expect(trig.code).toBe(0);
  const id = trig.stdout.trim();
  await waitUntil('the flaky run to fail', async () => ((await ctl.api('GET', `/apis/acictl.dev/v1/containerjobruns/${id}`)).body?.status?.phase === 'Failed' ? true : null), 30_000);
  const busy = await acictl(['runs', 'cancel', id]);
  expect(busy.code).toBe(1);
  expect(busy.stderr).toMatch(/only an active run can be cancelled/);

  const cleared = await acictl(['clear', 'flaky', '--failed', '--from', '2020-01-01', '--to', '2099-01-01']);
  expect(cleared.code).toBe(0);
  expect(cleared.stdout.trim()).toBe(`containerjobrun/${id} cleared`);
  const run = await waitUntil(
    'the cleared run to succeed',
    async () => {
      const r = (await ctl.api('GET', `/apis/acictl.dev/v1/containerjobruns/${id}`)).body;
      return r?.status?.phase === 'Succeeded' ? r : null;
    },
    30_000,
  );
  expect(run.status.attempts.map((a: any) => [a.attempt, a.phase])).toEqual([[1, 'Failed'], [2, 'Succeeded']]);
  expect(run.status.clearedAt).toBeDefined();
  expect((await acictl(['logs', 'flaky', '--run', id, '--attempt', '2'])).stdout).toMatch(/second/);
  expect((await acictl(['clear', 'flaky-nope'])).code).toBe(1);
});

test('acictl runs cancel (and kubectl create --raw …/cancel) stops the attempt and deletes its group', async () => {
  const client = armClient(emu);
  const trig = await acictl(['run', 'hang']);
  const id = trig.stdout.trim();
  const running = async () => ((await ctl.api('GET', `/apis/acictl.dev/v1/containerjobruns/${id}`)).body?.status?.phase === 'Running' ? true : null);
  await waitUntil('the hang run to run', running, 30_000);
  const res = await acictl(['runs', 'cancel', id]);
  expect(res.code).toBe(0);
  expect(res.stdout.trim()).toBe(`containerjobrun/${id} cancelled`);
  await waitUntil('the run to be cancelled', async () => {
    const r = (await ctl.api('GET', `/apis/acictl.dev/v1/containerjobruns/${id}`)).body;
    return r?.status?.phase === 'Failed' && r.status.attempts[0].reason === 'Cancelled' && r.status.attempts[0].groupDeleted ? true : null;
  }, 30_000);
  await waitUntil('its group to be gone', async () => client.containerGroups.get(RG, id).then(() => null, (e: any) => (e.statusCode === 404 ? true : null)), 20_000);

  // Clear it: attempt 2 runs; cancel that one through kubectl.
  expect((await acictl(['clear', id])).code).toBe(0);
  await waitUntil('attempt 2 to run', async () => {
    const r = (await ctl.api('GET', `/apis/acictl.dev/v1/containerjobruns/${id}`)).body;
    return r?.status?.phase === 'Running' && r.status.attempts.length === 2 ? true : null;
  }, 30_000);
  if (existsSync('/usr/bin/kubectl')) {
    const body = path.join(dir, 'empty.json');
    writeFileSync(body, '{}');
    const k = await kubectl(['create', '--raw', `/apis/acictl.dev/v1/containerjobruns/${id}/cancel`, '-f', body]);
    expect(k.stderr).toBe('');
    expect(k.code).toBe(0);
    expect(JSON.parse(k.stdout)).toMatchObject({ verb: 'cancel', run: id, job: 'hang' });
  } else {
    expect((await acictl(['runs', 'cancel', id])).code).toBe(0);
  }
  await waitUntil('attempt 2 to be cancelled', async () => {
    const r = (await ctl.api('GET', `/apis/acictl.dev/v1/containerjobruns/${id}`)).body;
    return r?.status?.phase === 'Failed' && r.status.attempts[1]?.reason === 'Cancelled' ? true : null;
  }, 30_000);
  await waitUntil('its group to be gone', async () => client.containerGroups.get(RG, `${id}-a2`).then(() => null, (e: any) => (e.statusCode === 404 ? true : null)), 20_000);
  const events = (await ctl.api('GET', '/apis/acictl.dev/v1/containerjobs/hang/events')).body.items.map((e: any) => e.reason);
  expect(events.filter((r: string) => r === 'RunCancelled')).toHaveLength(2);
  expect(events).toContain('RunCleared');
});
