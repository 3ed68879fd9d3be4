/**
 * Issue 10's acceptance items with the real kubectl (v1.32) against the in-process API server:
 * apply created/unchanged/configured, strict and semantic validation failures, get with printer
 * columns, -o yaml round trip, -l, get -w, diff, explain, delete with the finalizer, wait,
 * 409 on a stale resourceVersion, 401 without a token.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parse } from 'yaml';
import { FINALIZER_CLEANUP } from '../../src/apiserver/objects';
import { writeKubeconfig } from '../../src/apiserver/kubeconfig';
import { removeFinalizer } from '../../src/apiserver/finalizers';
import { KUBECTL, jobYaml, startHarness, type Harness } from './harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.close();
});

/** Wait until `check` returns true (polling the in-process store). */
async function until(check: () => boolean | Promise<boolean>, ms = 20000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('apply prints created, then unchanged, then configured after an edit; the controller is told each time', async () => {
  const file = h.write('nightly.yaml', jobYaml('nightly', { labels: { team: 'data' } }));
  const first = await h.kubectl(['apply', '-f', file]);
  expect(first.stderr).toBe('');
  expect(first.stdout.trim()).toBe('containerjob.acictl.dev/nightly created');
  expect(h.enqueued).toEqual(['nightly']);
  const created = (await h.store.getJob('nightly'))!;
  expect(created.finalizers).toEqual([FINALIZER_CLEANUP]);
  expect(created.annotations['kubectl.kubernetes.io/last-applied-configuration']).toContain('"name":"nightly"');
  expect(created.source).toEqual({ kind: 'api', fieldManager: 'kubectl-client-side-apply' });

  const again = await h.kubectl(['apply', '-f', file]);
  expect(again.stdout.trim()).toBe('containerjob.acictl.dev/nightly unchanged');
  expect((await h.store.getJob('nightly'))!.resourceVersion).toBe(created.resourceVersion);

  h.write('nightly.yaml', jobYaml('nightly', { labels: { team: 'data' }, image: 'busybox:1.37' }));
  const edited = await h.kubectl(['apply', '-f', file]);
  expect(edited.stdout.trim()).toBe('containerjob.acictl.dev/nightly configured');
  const after = (await h.store.getJob('nightly'))!;
  expect(after.spec.template.containers[0]!.image).toBe('busybox:1.37');
  expect(after.generation).toBe(2);
  expect(h.enqueued.filter((n) => n === 'nightly').length).toBeGreaterThanOrEqual(2);
});

test('apply of an unknown field fails with its path; a bad cron expression fails with the server message', async () => {
  const unknown = h.write('typo.yaml', jobYaml('typo', { extraSpec: 'shedule: "@daily"', extraContainer: 'imagePullPolicy: Always' }));
  const r1 = await h.kubectl(['apply', '-f', unknown]);
  expect(r1.code).not.toBe(0);
  expect(r1.stderr).toContain('The ContainerJob "typo" is invalid');
  expect(r1.stderr).toContain('spec.shedule');
  expect(r1.stderr).toContain('spec.template.containers[0].imagePullPolicy');
  expect(await h.store.getJob('typo')).toBeUndefined();

  const cron = h.write('cron.yaml', jobYaml('badcron', { schedule: '61 * * * *' }));
  const r2 = await h.kubectl(['apply', '-f', cron]);
  expect(r2.code).not.toBe(0);
  expect(r2.stderr).toMatch(/The ContainerJob "badcron" is invalid: .*spec\.schedule/s);
  expect(await h.store.getJob('badcron')).toBeUndefined();
});

test('get shows the printer columns, -l filters, -o yaml round-trips', async () => {
  h.write('other.yaml', jobYaml('other', { labels: { team: 'web' }, schedule: '@hourly' }));
  expect((await h.kubectl(['apply', '-f', join(h.dir, 'other.yaml')])).code).toBe(0);

  const all = await h.kubectl(['get', 'cj']);
  const lines = all.stdout.trim().split('\n');
  expect(lines[0]!.split(/\s{2,}/)).toEqual(['NAME', 'SCHEDULE', 'SUSPEND', 'ACTIVE', 'LAST SCHEDULE', 'NEXT', 'LAST RESULT', 'AGE']);
  expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['nightly', 'other']);
  expect(lines[2]).toMatch(/^other\s+@hourly\s+false\s+0\s/);
  expect(lines[1]).toMatch(/^nightly\s+\*\/5 \* \* \* \*\s+false\s+0\s+<none>\s+<none>\s+<none>\s+\d+s$/);

  const data = await h.kubectl(['get', 'containerjobs', '-l', 'team=data', '-o', 'name']);
  expect(data.stdout.trim()).toBe('containerjob.acictl.dev/nightly');
  const notData = await h.kubectl(['get', 'cj', '-l', 'team notin (data)', '-o', 'name']);
  expect(notData.stdout.trim()).toBe('containerjob.acictl.dev/other');

  const yaml = await h.kubectl(['get', 'cj', 'nightly', '-o', 'yaml']);
  const obj = parse(yaml.stdout);
  expect(obj.metadata.uid).toBe((await h.store.getJob('nightly'))!.uid);
  expect(obj.metadata.generation).toBe(2);
  expect(obj.metadata.finalizers).toEqual([FINALIZER_CLEANUP]);
  expect(obj.spec.template.containers[0].image).toBe('busybox:1.37');

  // round trip: what -o yaml prints, replaced as it is, changes nothing
  const created = await h.kubectl(['create', '-f', h.write('rt.yaml', jobYaml('roundtrip', { schedule: '@weekly' }))]);
  expect(created.stdout.trim()).toBe('containerjob.acictl.dev/roundtrip created');
  const before = (await h.store.getJob('roundtrip'))!;
  const printed = await h.kubectl(['get', 'cj', 'roundtrip', '-o', 'yaml']);
  const replaced = await h.kubectl(['replace', '-f', '-'], { input: printed.stdout });
  expect(replaced.stdout.trim()).toBe('containerjob.acictl.dev/roundtrip replaced');
  expect(await h.store.getJob('roundtrip')).toEqual(before);
  expect((await h.kubectl(['get', 'cj', 'roundtrip', '-o', 'yaml'])).stdout).toBe(printed.stdout);
});

test('get cjr shows the run columns', async () => {
  const t = Date.parse('2026-01-01T02:00:00Z');
  await h.store.putRun({
    id: 'nightly-202601010200', job: 'nightly', slot: t, manual: false, scheduledTime: t, dataIntervalStart: t - 300_000, dataIntervalEnd: t, phase: 'Failed', createdAt: t, finishedAt: t + 90_000,
    attempts: [{ attempt: 1, groupName: 'nightly-202601010200', phase: 'Failed', createdAt: t, startedAt: t, finishedAt: t + 90_000, exitCode: 2, logsArchived: true, groupDeleted: false }],
  });
  const r = await h.kubectl(['get', 'cjr']);
  const lines = r.stdout.trim().split('\n');
  expect(lines[0]!.split(/\s{2,}/)).toEqual(['NAME', 'JOB', 'SLOT', 'ATTEMPT', 'STATE', 'EXIT CODE', 'DURATION']);
  expect(lines[1]!.split(/\s+/)).toEqual(['nightly-202601010200', 'nightly', '2026-01-01T02:00:00Z', '1', 'Failed', '2', '90s']);
});

test('get -w prints an update when the status changes', async () => {
  const child = spawn(KUBECTL, ['--kubeconfig', h.kubeconfig, '--cache-dir', join(h.dir, 'cache'), 'get', 'cj', 'nightly', '-w'], {
    env: { HOME: h.dir, PATH: process.env.PATH ?? '/usr/bin' },
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  try {
    await until(() => out.includes('nightly'));
    expect(out).toMatch(/nightly\s+\*\/5 \* \* \* \*\s+false\s+0\s/);
    const now = new Date().toISOString();
    await h.store.putJobStatus('nightly', { lastScheduleTime: now, active: [{ run: 'nightly-1', group: 'nightly-1', attempt: 1 }] });
    await until(() => /nightly\s+\*\/5 \* \* \* \*\s+false\s+1\s+\d+s/.test(out));
    await h.store.putJobStatus('nightly', { lastScheduleTime: now, active: [], lastRunResult: 'Succeeded' });
    await until(() => /\s0\s+\d+s\s+\S+\s+Succeeded\s/.test(out));
  } finally {
    child.kill('SIGTERM');
  }
});

test('diff exits 0 without changes and 1 with them, and changes nothing', async () => {
  const file = join(h.dir, 'nightly.yaml');
  const before = (await h.store.getJob('nightly'))!;
  const same = await h.kubectl(['diff', '-f', file]);
  expect(same.stdout).toBe('');
  expect(same.code).toBe(0);
  const edited = h.write('nightly-edit.yaml', jobYaml('nightly', { labels: { team: 'data' }, image: 'busybox:9.9' }));
  const diff = await h.kubectl(['diff', '-f', edited]);
  expect(diff.code).toBe(1);
  expect(diff.stdout).toMatch(/^-\s+image: busybox:1\.37$/m);
  expect(diff.stdout).toMatch(/^\+\s+image: busybox:9\.9$/m);
  const fresh = h.write('fresh.yaml', jobYaml('fresh'));
  expect((await h.kubectl(['diff', '-f', fresh])).code).toBe(1);
  expect(await h.store.getJob('nightly')).toEqual(before);
  expect(await h.store.getJob('fresh')).toBeUndefined();
});

test('explain prints the schema descriptions', async () => {
  const r = await h.kubectl(['explain', 'containerjob.spec.schedule']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('FIELD: schedule <string>');
  expect(r.stdout).toMatch(/Cron\s+expression/);
  const c = await h.kubectl(['explain', 'cj.spec.template.containers']);
  expect(c.stdout).toContain('environmentVariables');
});

test('wait --for=condition=Ready succeeds once the controller sets the condition', async () => {
  const job = (await h.store.getJob('nightly'))!;
  const waiting = h.kubectl(['wait', '--for=condition=Ready', 'cj/nightly', '--timeout=10s']);
  await new Promise((r) => setTimeout(r, 300));
  await h.store.putJobStatus('nightly', {
    ...job.status,
    observedGeneration: job.generation,
    conditions: [{ type: 'Ready', status: 'True', reason: 'Scheduled', message: 'next run scheduled', lastTransitionTime: new Date().toISOString(), observedGeneration: job.generation }],
  });
  const r = await waiting;
  expect(r.stdout.trim()).toBe('containerjob.acictl.dev/nightly condition met');
  expect(r.code).toBe(0);
});

test('a stale resourceVersion gets 409 Conflict; no token gets 401', async () => {
  const yaml = (await h.kubectl(['get', 'cj', 'other', '-o', 'yaml'])).stdout;
  h.write('other2.yaml', jobYaml('other', { labels: { team: 'web' }, schedule: '@daily' }));
  expect((await h.kubectl(['apply', '-f', join(h.dir, 'other2.yaml')])).stdout).toContain('configured');
  const stale = await h.kubectl(['replace', '-f', '-'], { input: yaml });
  expect(stale.code).toBe(1);
  expect(stale.stderr).toContain('Error from server (Conflict)');
  expect(stale.stderr).toContain('the object has been modified');

  const wrong = join(h.dir, 'wrong-kubeconfig');
  writeKubeconfig(wrong, h.server.httpsUrl!, 'not-the-token', h.server.ca);
  const denied = await h.kubectl(['get', 'cj'], { kubeconfig: wrong });
  expect(denied.code).toBe(1);
  expect(denied.stderr).toContain('Unauthorized');
  const raw = await h.http('GET', '/apis/acictl.dev/v1/containerjobs', { token: null });
  expect(raw.status).toBe(401);
  expect(raw.json).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
});

test('delete leaves the job (deletionTimestamp) until the finalizer is removed, then it is gone', async () => {
  const deleting = h.kubectl(['delete', 'cj', 'other', '--timeout=10s']);
  await until(async () => (await h.store.getJob('other'))?.deletionTimestamp !== undefined);
  const shown = await h.kubectl(['get', 'cj', 'other', '-o', 'jsonpath={.metadata.deletionTimestamp}']);
  expect({ code: shown.code, stdout: shown.stdout, stderr: shown.stderr }).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  // what the reconciler does once the job's groups are gone
  expect(await removeFinalizer(h.store, 'other')).toBe(true);
  const r = await deleting;
  expect(r.stdout.trim()).toBe('containerjob.acictl.dev "other" deleted');
  expect(r.code).toBe(0);
  const gone = await h.kubectl(['get', 'cj', 'other']);
  expect(gone.stderr).toContain('containerjobs.acictl.dev "other" not found');
});
