/**
 * Issue 6, acceptance 1, 2, 5 and 8: the real controller process against the emulator.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import {
  cleanupDirs,
  ControllerProcess,
  jobYaml,
  sleep,
  startControllerProcess,
  startTestEmulator,
  tmp,
  waitUntil,
} from './harness';
import { SqliteStore } from '../../src/store/sqlite';
import { runCli } from '../cli/harness';
import type { RunningEmulator } from '../../src/emulator';

jest.setTimeout(120_000);

let emu: RunningEmulator & { caFilePath: string };
let ctl: ControllerProcess;
let dir: string;

const RG = 'e2e-runs';

function readStore() {
  return SqliteStore.open(path.join(ctl.stateDir, 'acictl.db'));
}

beforeAll(async () => {
  emu = await startTestEmulator();
  dir = tmp('acictl-e2e-manifests-');
  // An unmanaged group in the same resource group, created before the controller starts.
  const client = new ContainerInstanceManagementClient(
    { getToken: async () => ({ token: 'test', expiresOnTimestamp: Date.now() + 3_600_000 }) },
    emu.subscriptionId,
    { endpoint: emu.endpoint, tlsOptions: { ca: emu.ca }, updateIntervalInMs: 50 } as any,
  );
  await client.containerGroups.beginCreateOrUpdateAndWait(RG, 'not-ours', {
    location: 'eastus',
    osType: 'Linux',
    restartPolicy: 'Never',
    tags: { owner: 'someone-else' },
    containers: [{ name: 'c', image: 'busybox', command: ['/bin/sh', '-c', 'sleep 600'], resources: { requests: { cpu: 1, memoryInGB: 1 } } }],
  });

  writeFileSync(
    path.join(dir, 'ticker.yaml'),
    jobYaml('ticker', { rg: RG, schedule: '*/2 * * * * *', command: 'echo "tick $ACICTL_RUN_ID"; echo "second line $ACICTL_RUN_ID"' }),
  );
  writeFileSync(
    path.join(dir, 'flaky.yaml'),
    jobYaml('flaky', { rg: RG, schedule: null, command: 'echo "attempt $ACICTL_ATTEMPT"; exit 3', extra: '  retries: 2\n  retryDelay: 1s\n  retryBackoff: {factor: 2, maxDelay: 10s}\n' }),
  );
  writeFileSync(
    path.join(dir, 'slow-forbid.yaml'),
    jobYaml('slow-forbid', { rg: RG, schedule: '*/2 * * * * *', command: 'sleep 5', extra: '  concurrencyPolicy: Forbid\n  startingDeadlineSeconds: 30\n' }),
  );
  writeFileSync(
    path.join(dir, 'slow-replace.yaml'),
    jobYaml('slow-replace', { rg: RG, schedule: '*/3 * * * * *', command: 'sleep 60', extra: '  concurrencyPolicy: Replace\n' }),
  );
  writeFileSync(
    path.join(dir, 'hung.yaml'),
    jobYaml('hung', { rg: RG, schedule: null, command: 'sleep 600', extra: '  timeout: 2s\n' }),
  );
  ctl = startControllerProcess(emu, { manifests: [dir] });
  await ctl.ready();
});

afterAll(async () => {
  await ctl?.stop();
  await emu?.close();
  cleanupDirs(dir);
});

test('a 2-second schedule runs repeatedly; runs are recorded with exit codes; logs survive the group; each line is logged once', async () => {
  const finished = await waitUntil(
    'three finished ticker runs with deleted groups',
    async () => {
      const runs = (await ctl.runs('ticker')).filter((r) => r.status.phase === 'Succeeded' && r.status.attempts[0]?.groupDeleted);
      return runs.length >= 3 ? runs : null;
    },
    30_000,
    200,
  );
  for (const r of finished) {
    expect(r.status.attempts[0].exitCode).toBe(0);
    // The group is gone from ACI …
    expect(emu.stats().creations.some((c) => c.name === r.metadata.name)).toBe(true);
    // … and its logs are still served by the API, from the archive.
    const log = await ctl.api('GET', `/apis/acictl.dev/v1/containerjobruns/${r.metadata.name}/log`);
    expect(log.status).toBe(200);
    expect(log.text).toContain(`tick ${r.metadata.name}`);
    expect(log.text).toContain(`second line ${r.metadata.name}`);
    // Every line exactly once in the controller's own log.
    const lines = ctl.lines().filter((l) => l.stream === 'container' && l.run === r.metadata.name);
    expect(lines.filter((l) => l.msg === `tick ${r.metadata.name}`)).toHaveLength(1);
    expect(lines.filter((l) => l.msg === `second line ${r.metadata.name}`)).toHaveLength(1);
    expect(lines.every((l) => l.job === 'ticker' && l.attempt === 1 && l.container === 'main')).toBe(true);
  }
  // The slots are distinct and two seconds apart at least.
  const slots = finished.map((r) => Date.parse(r.spec.slot)).sort((a, b) => a - b);
  for (let i = 1; i < slots.length; i++) expect(slots[i] - slots[i - 1]).toBeGreaterThanOrEqual(2000);
});

test('a failing command is retried after retryDelay with backoff, then the run fails', async () => {
  const trig = await ctl.api('POST', '/apis/acictl.dev/v1/containerjobs/flaky/trigger');
  expect(trig.status).toBeLessThan(300);
  const runId = trig.body.run as string;
  await waitUntil('flaky run to fail', async () => (await ctl.api('GET', `/apis/acictl.dev/v1/containerjobruns/${runId}`)).body?.status?.phase === 'Failed', 30_000, 200);
  const store = readStore();
  try {
    const run = (await store.getRun(runId))!;
    expect(run.attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect(run.attempts.every((a) => a.phase === 'Failed' && a.exitCode === 3)).toBe(true);
    // Delays: 1 s after the first failure, 2 s after the second (factor 2).
    const gap1 = run.attempts[1].createdAt - run.attempts[0].finishedAt!;
    const gap2 = run.attempts[2].createdAt - run.attempts[1].finishedAt!;
    expect(gap1).toBeGreaterThanOrEqual(1000);
    expect(gap2).toBeGreaterThanOrEqual(2000);
    expect(gap2).toBeGreaterThan(gap1);
    expect(run.attempts.map((a) => a.groupName)).toEqual([runId, `${runId}-a2`, `${runId}-a3`]);
    const logs = await store.getLog(runId, 3);
    expect(logs[0].content).toContain('attempt 3');
    // The job's events tell the story, through the API.
    const ev = await ctl.api('GET', '/apis/acictl.dev/v1/containerjobs/flaky/events');
    expect(ev.status).toBe(200);
    const reasons = (ev.body.items as { reason: string; run?: string }[]).filter((e) => e.run === runId).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['AttemptFailed', 'RunFailed']));
  } finally {
    await store.close();
  }
});

test('Forbid never overlaps runs; Replace stops the old run; timeout stops a hung run', async () => {
  // Forbid: runs last 5 s on a 2 s schedule: attempts never overlap.
  await waitUntil('two finished slow-forbid runs', async () => (await ctl.runs('slow-forbid')).filter((r) => r.status.phase === 'Succeeded').length >= 2, 40_000, 250);
  // Replace: a later slot stops the earlier run.
  const replaced = await waitUntil(
    'a replaced run',
    async () => (await ctl.runs('slow-replace')).find((r) => r.status.attempts.some((a: any) => a.reason === 'Replaced')),
    30_000,
    250,
  );
  expect(replaced.status.phase).toBe('Failed');
  // Timeout: a manual run of a hung command is stopped after 2 s.
  const trig = await ctl.api('POST', '/apis/acictl.dev/v1/containerjobs/hung/trigger');
  const runId = trig.body.run as string;
  const t0 = Date.now();
  const hung = await waitUntil('hung run to time out', async () => {
    const r = (await ctl.api('GET', `/apis/acictl.dev/v1/containerjobruns/${runId}`)).body;
    return r?.status?.phase === 'Failed' ? r : null;
  }, 30_000, 200);
  expect(hung.status.attempts[0].reason).toBe('Timeout');
  expect(Date.now() - t0).toBeLessThan(20_000);

  const store = readStore();
  try {
    const runs = (await store.listRuns('slow-forbid')).flatMap((r) => r.attempts.map((a) => ({ start: a.startedAt ?? a.createdAt, end: a.finishedAt ?? Infinity })));
    runs.sort((a, b) => a.start - b.start);
    for (let i = 1; i < runs.length; i++) expect(runs[i].start).toBeGreaterThanOrEqual(runs[i - 1].end);
  } finally {
    await store.close();
  }
});

test('a container group without our tags is never touched', async () => {
  await sleep(500);
  const stats = emu.stats();
  expect(stats.creations.filter((c) => c.name === 'not-ours')).toHaveLength(1);
  expect(stats.starts.filter((s) => s.name === 'not-ours')).toHaveLength(1);
  const client = new ContainerInstanceManagementClient(
    { getToken: async () => ({ token: 'test', expiresOnTimestamp: Date.now() + 3_600_000 }) },
    emu.subscriptionId,
    { endpoint: emu.endpoint, tlsOptions: { ca: emu.ca } } as any,
  );
  const g = await client.containerGroups.get(RG, 'not-ours');
  expect(g.tags).toEqual({ owner: 'someone-else' });
  expect(g.instanceView?.state).toBe('Running');
  // Listing through the API never shows it as a run either.
  expect((await ctl.runs()).some((r) => r.metadata.name === 'not-ours')).toBe(false);
});

test('the API needs the token; /metrics exposes the controller series without it; readyz and get leases on SQLite', async () => {
  const noToken = await fetch(`${ctl.url}/apis/acictl.dev/v1/containerjobs`);
  expect(noToken.status).toBe(401);
  const wrong = await fetch(`${ctl.url}/apis/acictl.dev/v1/containerjobs`, { headers: { authorization: 'Bearer nope' } });
  expect(wrong.status).toBe(401);
  const body = await wrong.text();
  expect(body).not.toContain('ticker');
  const metrics = await fetch(`${ctl.url}/metrics`);
  expect(metrics.status).toBe(200);
  const text = await metrics.text();
  for (const series of [
    'acictl_reconcile_duration_seconds_bucket',
    'acictl_workqueue_depth',
    'acictl_arm_requests_total{operation=',
    'acictl_runs_total{outcome=',
    'acictl_schedule_lag_seconds_bucket',
  ]) {
    expect(text).toContain(series);
  }
  expect((await fetch(`${ctl.url}/healthz`)).status).toBe(200);
  const ready = await fetch(`${ctl.url}/readyz`);
  expect(ready.status).toBe(200);
  expect(await ready.text()).toBe('ok'); // one process (SQLite): the body is unchanged, no role
  expect(ready.headers.get('x-acictl-role')).toBeNull();
  // no leader election on SQLite: get leases says so, clearly, and exits 0
  const leases = await runCli(['get', 'leases', '--state-dir', ctl.stateDir]);
  expect(leases).toMatchObject({ code: 0, stdout: '' });
  expect(leases.stderr).toBe('No leases: this controller uses the embedded SQLite store (one process, no leader election).\n');
  const json = JSON.parse((await runCli(['get', 'leases', '-o', 'json', '--state-dir', ctl.stateDir])).stdout);
  expect(json).toMatchObject({ kind: 'LeaseList', store: 'sqlite', items: [] });
});
