/**
 * A deleted job's history does not stick to a new job of the same name (issue 21, item 4): once the
 * delete completes (groups cleaned up, finalizer removed), its runs, archived logs, events and
 * scheduler state are gone; the re-created job has no runs and no last schedule, and its first run
 * finds no old run's archived logs under its name. Through the API, and through the real kubectl.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { cleanupDirs, jobYaml, startControllerProcess, startTestEmulator, tmp, waitUntil, type ControllerProcess } from './harness';

jest.setTimeout(180_000);

const KUBECTL = '/usr/bin/kubectl';
const BASE = '/apis/acictl.dev/v1';

function kubectl(ctl: ControllerProcess, home: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(KUBECTL, ['--kubeconfig', path.join(ctl.stateDir, 'kubeconfig'), '--cache-dir', path.join(home, 'cache'), '--request-timeout=20s', ...args], {
      env: { HOME: home, PATH: process.env.PATH ?? '/usr/bin' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

// every 2 s, each run prints which incarnation of the job it belongs to
// (the second is created suspended, so what it starts with is seen before it runs)
const yamlOf = (name: string, incarnation: string) =>
  jobYaml(name, {
    schedule: '*/2 * * * * *',
    command: `echo incarnation ${incarnation}`,
    extra: `  startingDeadlineSeconds: 30\n  successfulRunsHistoryLimit: 5\n  suspend: ${incarnation === '2'}\n`,
  });

async function succeededRuns(ctl: ControllerProcess, job: string): Promise<any[]> {
  return (await ctl.runs(job)).filter((r) => r.status?.phase === 'Succeeded');
}

async function checkFreshStart(ctl: ControllerProcess, name: string, oldRuns: string[]): Promise<void> {
  // a new object: no runs, no last schedule, no events of the old one
  const job = await ctl.job(name);
  expect(job).not.toBeNull();
  expect(job.status?.lastScheduleTime ?? null).toBeNull();
  const events = await ctl.api('GET', `${BASE}/containerjobs/${name}/events`);
  const oldEvents = ((events.body?.items ?? []) as any[]).filter((e) => oldRuns.includes(e.run));
  expect(oldEvents).toEqual([]);
  const runsNow = (await ctl.runs(name)).map((r) => r.metadata.name);
  expect(runsNow.filter((r) => oldRuns.includes(r))).toEqual([]);
  // the old runs' archived logs are gone
  for (const r of oldRuns) expect((await ctl.api('GET', `${BASE}/containerjobruns/${r}/log`)).status).toBe(404);
  expect((await ctl.api('POST', `${BASE}/containerjobs/${name}/resume`)).status).toBeLessThan(300);
  // the first run of the new job logs the new incarnation only
  const first = await waitUntil('the new job to run once', async () => (await succeededRuns(ctl, name))[0], 60_000, 200);
  expect(oldRuns).not.toContain(first.metadata.name);
  const log = await waitUntil('its archived log', async () => {
    const r = await ctl.api('GET', `${BASE}/containerjobruns/${first.metadata.name}/log`);
    return r.status === 200 && r.text.includes('incarnation') ? r.text : undefined;
  }, 30_000, 200);
  expect(log).toContain('incarnation 2');
  expect(log).not.toContain('incarnation 1');
}

async function waitForHistory(ctl: ControllerProcess, name: string): Promise<string[]> {
  await waitUntil('two succeeded runs of the first incarnation', async () => (await succeededRuns(ctl, name)).length >= 2, 60_000, 200);
  return (await ctl.runs(name)).map((r) => r.metadata.name);
}

test('delete + re-create through the API: no runs, no last schedule, no old logs', async () => {
  const emu = await startTestEmulator();
  const ctl = startControllerProcess(emu);
  try {
    await ctl.ready();
    expect((await ctl.api('POST', `${BASE}/containerjobs`, parseYaml(yamlOf('again', '1')))).status).toBe(201);
    const oldRuns = await waitForHistory(ctl, 'again');
    expect((await ctl.job('again')).status?.lastScheduleTime).toBeTruthy();
    expect((await ctl.api('DELETE', `${BASE}/containerjobs/again`)).status).toBeLessThan(300);
    await waitUntil('the delete to complete', async () => (await ctl.job('again')) === null, 60_000, 200);
    expect(await ctl.runs('again')).toEqual([]);
    expect((await ctl.api('POST', `${BASE}/containerjobs`, parseYaml(yamlOf('again', '2')))).status).toBe(201);
    await checkFreshStart(ctl, 'again', oldRuns);
  } finally {
    await ctl.stop();
    await emu.close();
  }
});

test('delete + re-create through kubectl: the same', async () => {
  const emu = await startTestEmulator();
  const ctl = startControllerProcess(emu);
  const home = tmp('acictl-recreate-home-');
  try {
    await ctl.ready();
    const file1 = path.join(home, 'v1.yaml');
    const file2 = path.join(home, 'v2.yaml');
    writeFileSync(file1, yamlOf('kagain', '1'));
    writeFileSync(file2, yamlOf('kagain', '2'));
    expect((await kubectl(ctl, home, ['apply', '-f', file1])).code).toBe(0);
    const oldRuns = await waitForHistory(ctl, 'kagain');
    const del = await kubectl(ctl, home, ['delete', '-f', file1, '--wait=true', '--timeout=60s']);
    expect({ code: del.code, stderr: del.stderr }).toEqual({ code: 0, stderr: '' });
    const runsAfter = await kubectl(ctl, home, ['get', 'containerjobruns', '-l', 'acictl.dev/job=kagain']);
    expect(runsAfter.stdout).toBe('');
    expect(runsAfter.stderr).toContain('No resources found');
    expect((await kubectl(ctl, home, ['apply', '-f', file2])).code).toBe(0);
    const last = await kubectl(ctl, home, ['get', 'cj', 'kagain', '-o', 'jsonpath={.status.lastScheduleTime}']);
    expect({ code: last.code, lastSchedule: last.stdout }).toEqual({ code: 0, lastSchedule: '' });
    const runsNew = await kubectl(ctl, home, ['get', 'containerjobruns', '-l', 'acictl.dev/job=kagain']);
    expect(runsNew.stdout).toBe('');
    await checkFreshStart(ctl, 'kagain', oldRuns);
  } finally {
    await ctl.stop();
    await emu.close();
    cleanupDirs(home);
  }
});
