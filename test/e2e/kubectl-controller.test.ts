/**
 * Issue 10 against a real controller process: the real kubectl, configured only by the kubeconfig
 * the controller wrote, drives jobs that the controller then acts on.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { armClient, cleanupDirs, ControllerProcess, jobYaml, startControllerProcess, startTestEmulator, tmp, waitUntil } from './harness';
import type { RunningEmulator } from '../../src/emulator';

jest.setTimeout(120_000);

const KUBECTL = '/usr/bin/kubectl';
const RG = 'e2e-kubectl';
let emu: RunningEmulator & { caFilePath: string };
let ctl: ControllerProcess;
let home: string;

function kubectl(args: string[], timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(KUBECTL, ['--kubeconfig', path.join(ctl.stateDir, 'kubeconfig'), '--cache-dir', path.join(home, 'cache'), '--request-timeout=20s', ...args], {
      env: { HOME: home, PATH: process.env.PATH ?? '/usr/bin' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  emu = await startTestEmulator();
  home = tmp('acictl-kubectl-home-');
  ctl = startControllerProcess(emu);
  await ctl.ready();
});

afterAll(async () => {
  await ctl?.stop();
  await emu?.close();
  cleanupDirs(home);
});

test('kubectl apply creates, leaves unchanged and configures a job, and the controller acts on each', async () => {
  const file = path.join(home, 'job.yaml');
  const yaml = (cmd: string) =>
    jobYaml('kjob', { rg: RG, schedule: null, command: cmd, labels: { team: 'data' }, extra: '  cleanup: {onSuccess: Keep, onFailure: Keep, ttlAfterFinished: null}\n' });
  writeFileSync(file, yaml('echo v1'));
  const created = await kubectl(['apply', '-f', file]);
  // The server's validation warnings reach kubectl as Warning headers (a job without a schedule).
  expect(created.stderr).not.toMatch(/error/i);
  expect(created.stderr).toMatch(/Warning: .*no schedule/);
  expect(created.stdout.trim()).toBe('containerjob.acictl.dev/kjob created');

  // The controller acts: the job becomes Ready (kubectl wait), a trigger runs v1.
  const wait = await kubectl(['wait', '--for=condition=Ready', 'cj/kjob', '--timeout=30s']);
  expect(wait.code).toBe(0);
  expect(wait.stdout).toContain('condition met');

  const same = await kubectl(['apply', '-f', file]);
  expect(same.stdout.trim()).toBe('containerjob.acictl.dev/kjob unchanged');

  writeFileSync(file, yaml('echo v2'));
  const configured = await kubectl(['apply', '-f', file]);
  expect(configured.stdout.trim()).toBe('containerjob.acictl.dev/kjob configured');
  const job = await ctl.job('kjob');
  expect(job.metadata.generation).toBe(2);
  await waitUntil('observedGeneration 2', async () => (await ctl.job('kjob'))?.status?.observedGeneration === 2, 10_000, 100);

  // A run uses the configured spec.
  const runId = (await ctl.api('POST', '/apis/acictl.dev/v1/containerjobs/kjob/trigger')).body.run as string;
  await waitUntil('the run to succeed', async () => (await ctl.api('GET', `/apis/acictl.dev/v1/containerjobruns/${runId}`)).body?.status?.phase === 'Succeeded', 20_000, 100);
  const log = await ctl.api('GET', `/apis/acictl.dev/v1/containerjobruns/${runId}/log`);
  expect(log.text).toContain('v2');

  // get shows the printer columns and the label filter works.
  const get = await kubectl(['get', 'cj', '-l', 'team=data']);
  expect(get.stdout).toMatch(/^NAME\s+SCHEDULE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+NEXT\s+LAST RESULT\s+AGE/m);
  expect(get.stdout).toMatch(/^kjob\s/m);
  expect(get.stdout).toMatch(/Succeeded/);
  const none = await kubectl(['get', 'cj', '-l', 'team=ops']);
  expect(none.stdout).not.toMatch(/kjob/);
  const runs = await kubectl(['get', 'containerjobruns', '-l', 'acictl.dev/job=kjob']);
  expect(runs.stdout).toContain(runId);
});

test('kubectl get -w prints an update when a run changes the status', async () => {
  const child = spawn(KUBECTL, ['--kubeconfig', path.join(ctl.stateDir, 'kubeconfig'), '--cache-dir', path.join(home, 'cache'), 'get', 'cj', 'kjob', '-w'], {
    env: { HOME: home, PATH: process.env.PATH ?? '/usr/bin' },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await waitUntil('the first row', () => /^kjob\s/m.test(out), 20_000, 50);
    const rowsBefore = out.split('\n').filter((l) => l.startsWith('kjob')).length;
    await ctl.api('POST', '/apis/acictl.dev/v1/containerjobs/kjob/trigger');
    await waitUntil('a new row after the run changed the status', () => out.split('\n').filter((l) => l.startsWith('kjob')).length > rowsBefore, 20_000, 50);
  } finally {
    child.kill('SIGTERM');
  }
});

test('kubectl diff exits 0 without changes and 1 with them; a stale update gets 409; no token gets 401', async () => {
  const file = path.join(home, 'job.yaml');
  const same = await kubectl(['diff', '-f', file]);
  expect(same.code).toBe(0);
  const edited = path.join(home, 'job-edited.yaml');
  writeFileSync(edited, jobYaml('kjob', { rg: RG, schedule: null, command: 'echo v3', labels: { team: 'data' }, extra: '  cleanup: {onSuccess: Keep, onFailure: Keep, ttlAfterFinished: null}\n' }));
  const diff = await kubectl(['diff', '-f', edited]);
  expect(diff.code).toBe(1);
  expect(diff.stdout).toContain('echo v3');
  expect((await ctl.job('kjob')).spec.template.containers[0].command[2]).toBe('echo v2');

  const current = await ctl.job('kjob');
  const stale = { ...current, metadata: { ...current.metadata, resourceVersion: '1' } };
  const put = await ctl.api('PUT', '/apis/acictl.dev/v1/containerjobs/kjob', stale);
  expect(put.status).toBe(409);
  expect(put.body.reason).toBe('Conflict');
  const anon = await fetch(`${ctl.url}/apis/acictl.dev/v1/containerjobs/kjob`);
  expect(anon.status).toBe(401);
});

test('kubectl delete removes the job only after its container groups were cleaned up (finalizer)', async () => {
  const before = emu.stats().creations.filter((c) => c.tags['acictl.dev/job'] === 'kjob').map((c) => c.name);
  expect(before.length).toBeGreaterThanOrEqual(2); // kept by cleanup: Keep
  const del = await kubectl(['delete', 'cj', 'kjob', '--timeout=60s']);
  expect(del.code).toBe(0);
  expect(del.stdout).toContain('containerjob.acictl.dev "kjob" deleted');
  // When kubectl returns, the job is gone and so are its groups.
  expect(await ctl.job('kjob')).toBeNull();
  const client = armClient(emu);
  for (const name of before) {
    await expect(client.containerGroups.get(RG, name)).rejects.toMatchObject({ statusCode: 404 });
  }
});
