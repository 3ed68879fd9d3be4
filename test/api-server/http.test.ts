/**
 * The API over raw HTTP: limits and malformed input, patch types, dryRun, fieldValidation, list
 * paging and selectors, watch resume/410/DELETED, read-only directory jobs, the status
 * subresource, runs, logs, acictl verbs and the open endpoints.
 */
import { request } from 'node:http';
import type { RunRecord } from '../../src/api/runs';
import { FINALIZER_CLEANUP } from '../../src/apiserver/objects';
import { TOKEN, jobObject, startHarness, type Harness } from './harness';

let h: Harness;
const JOBS = '/apis/acictl.dev/v1/containerjobs';
const RUNS = '/apis/acictl.dev/v1/containerjobruns';
const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

function run(id: string, job: string, extra: Partial<RunRecord> = {}): RunRecord {
  const t = Date.parse('2026-01-01T02:00:00Z');
  return {
    id, job, slot: t, manual: false, scheduledTime: t, dataIntervalStart: t - 86_400_000, dataIntervalEnd: t, phase: 'Succeeded',
    attempts: [{ attempt: 1, groupName: id, phase: 'Succeeded', createdAt: t, startedAt: t + 1000, finishedAt: t + 66_000, exitCode: 0, logsArchived: true, groupDeleted: true }],
    createdAt: t, finishedAt: t + 66_000, ...extra,
  };
}

beforeAll(async () => {
  h = await startHarness({
    logs: async function* (runId, attempt, follow) {
      yield `run=${runId} attempt=${attempt ?? 'all'} follow=${follow}\n`;
      yield 'line 2\n';
    },
  });
});

afterAll(async () => {
  await h?.close();
});

test('open endpoints need no token; everything else does', async () => {
  expect((await h.http('GET', '/healthz', { token: null })).text).toBe('ok');
  expect((await h.http('GET', '/readyz', { token: null })).status).toBe(200);
  const m = await h.http('GET', '/metrics', { token: null });
  expect(m.text).toContain('acictl_up 1');
  for (const path of ['/api', '/apis', '/version', '/openapi/v3', JOBS, `${RUNS}/x/log`]) {
    const r = await h.http('GET', path, { token: null });
    expect(r.status).toBe(401);
  }
  expect((await h.http('GET', '/version', { token: `${TOKEN}x` })).status).toBe(401);
});

test('discovery documents', async () => {
  expect((await h.http('GET', '/api')).json).toMatchObject({ kind: 'APIVersions', versions: [] });
  expect((await h.http('GET', '/apis')).json.groups[0]).toMatchObject({ name: 'acictl.dev', preferredVersion: { groupVersion: 'acictl.dev/v1' } });
  const list = (await h.http('GET', '/apis/acictl.dev/v1')).json;
  const byName = Object.fromEntries(list.resources.map((r: { name: string }) => [r.name, r]));
  expect(byName.containerjobs).toMatchObject({ namespaced: false, kind: 'ContainerJob', shortNames: ['cj'], categories: ['all', 'acictl'], singularName: 'containerjob' });
  expect(byName['containerjobs/status'].verbs).toEqual(['get', 'patch', 'update']);
  expect(byName.containerjobruns).toMatchObject({ kind: 'ContainerJobRun', shortNames: ['cjr'], verbs: ['get', 'list', 'watch'] });
  const v3 = (await h.http('GET', '/openapi/v3/apis/acictl.dev/v1')).json;
  const cj = v3.components.schemas['dev.acictl.v1.ContainerJob'];
  expect(cj['x-kubernetes-group-version-kind']).toEqual([{ group: 'acictl.dev', version: 'v1', kind: 'ContainerJob' }]);
  expect(cj.properties.spec.properties.schedule.description).toMatch(/Cron expression/);
  expect(v3.paths['/apis/acictl.dev/v1/containerjobs/{name}'].patch.parameters.map((p: { name: string }) => p.name)).toContain('fieldValidation');
  const v2 = (await h.http('GET', '/openapi/v2', { headers: { Accept: 'application/json' } })).json;
  expect(v2.definitions['dev.acictl.v1.ContainerJob'].properties.spec.properties.template.properties.containers.type).toBe('array');
  expect(JSON.stringify(v2.definitions)).not.toContain('nullable');
  expect((await h.http('GET', '/openapi/v2', { headers: { Accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' } })).status).toBe(406);
});

test('oversized, malformed and wrongly typed bodies are Status errors that never echo the body', async () => {
  const big = await h.http('POST', JOBS, { raw: Buffer.alloc(4 * 1024 * 1024, 'a'), headers: { 'Content-Type': 'application/json' } });
  expect(big.status).toBe(413);
  expect(big.json).toMatchObject({ kind: 'Status', reason: 'RequestEntityTooLarge' });
  const bad = await h.http('POST', JOBS, { raw: '{"apiVersion": "acictl.dev/v1", "secretish": "hunter2', headers: { 'Content-Type': 'application/json' } });
  expect(bad.status).toBe(400);
  expect(bad.text).not.toContain('hunter2');
  const kind = await h.http('POST', JOBS, { body: { ...jobObject('x'), kind: 'Pod' } });
  expect(kind.status).toBe(400);
  const arr = await h.http('POST', JOBS, { body: [1, 2] });
  expect(arr.status).toBe(400);
  const noSpec = await h.http('POST', JOBS, { body: { apiVersion: 'acictl.dev/v1', kind: 'ContainerJob', metadata: { name: 'nospec' } } });
  expect(noSpec.status).toBe(422);
  expect(noSpec.json.details.causes.length).toBeGreaterThan(0);
  const badName = await h.http('POST', JOBS, { body: jobObject('Bad_Name') });
  expect(badName.status).toBe(422);
  expect(badName.json.details.causes[0].field).toBe('metadata.name');
  const secret = jobObject('leaky');
  secret.spec.template.containers[0].environmentVariables = [{ name: 'PW', secureValue: 'hunter2-literal' }];
  const leaky = await h.http('POST', JOBS, { body: secret });
  expect(leaky.status).toBe(422);
  expect(leaky.text).toContain('environmentVariables[0]');
  expect(leaky.text).not.toContain('hunter2-literal');
  // the server is still fine
  expect((await h.http('GET', '/healthz')).status).toBe(200);
});

test('create, dryRun=All, PUT needs a current resourceVersion, patch types', async () => {
  const dry = await h.http('POST', `${JOBS}?dryRun=All`, { body: jobObject('alpha', { team: 'data' }) });
  expect(dry.status).toBe(201);
  expect(dry.json.metadata.finalizers).toEqual([FINALIZER_CLEANUP]);
  expect(await h.store.getJob('alpha')).toBeUndefined();

  const created = await h.http('POST', JOBS, { body: jobObject('alpha', { team: 'data' }) });
  expect(created.status).toBe(201);
  expect(created.json.metadata).toMatchObject({ name: 'alpha', generation: 1, labels: { team: 'data' } });
  expect((await h.http('POST', JOBS, { body: jobObject('alpha') })).json.reason).toBe('AlreadyExists');

  const noRv = await h.http('PUT', `${JOBS}/alpha`, { body: jobObject('alpha') });
  expect(noRv.status).toBe(422);
  const wrongName = await h.http('PUT', `${JOBS}/alpha`, { body: { ...jobObject('beta'), metadata: { name: 'beta', resourceVersion: created.json.metadata.resourceVersion } } });
  expect(wrongName.status).toBe(400);

  const smp = await h.http('PATCH', `${JOBS}/alpha`, { raw: '{}', headers: { 'Content-Type': 'application/strategic-merge-patch+json' } });
  expect(smp.status).toBe(415);
  expect((await h.http('PATCH', `${JOBS}/alpha`, { raw: '{}', headers: { 'Content-Type': 'application/apply-patch+yaml' } })).status).toBe(415);

  const dryPatch = await h.http('PATCH', `${JOBS}/alpha?dryRun=All`, { raw: JSON.stringify({ spec: { suspend: true } }), headers: { 'Content-Type': 'application/merge-patch+json' } });
  expect(dryPatch.json.spec.suspend).toBe(true);
  expect(dryPatch.json.metadata.generation).toBe(2);
  expect((await h.store.getJob('alpha'))!.spec.suspend).toBeUndefined();

  const jp = await h.http('PATCH', `${JOBS}/alpha`, {
    raw: JSON.stringify([{ op: 'replace', path: '/spec/schedule', value: '@hourly' }, { op: 'add', path: '/metadata/labels/tier', value: 'gold' }]),
    headers: { 'Content-Type': 'application/json-patch+json' },
  });
  expect(jp.status).toBe(200);
  expect(await h.store.getJob('alpha')).toMatchObject({ generation: 2, labels: { team: 'data', tier: 'gold' }, spec: { schedule: '@hourly' } });
  const failedTest = await h.http('PATCH', `${JOBS}/alpha`, { raw: JSON.stringify([{ op: 'test', path: '/spec/schedule', value: 'nope' }]), headers: { 'Content-Type': 'application/json-patch+json' } });
  expect(failedTest.status).toBe(422);

  const stale = await h.http('PATCH', `${JOBS}/alpha`, { raw: JSON.stringify({ metadata: { resourceVersion: '1' }, spec: { suspend: true } }), headers: { 'Content-Type': 'application/merge-patch+json' } });
  expect(stale.status).toBe(409);
  expect(stale.json.reason).toBe('Conflict');

  // a label-only change does not bump generation
  const lbl = await h.http('PATCH', `${JOBS}/alpha`, { raw: JSON.stringify({ metadata: { labels: { tier: null } } }), headers: { 'Content-Type': 'application/merge-patch+json' } });
  expect(lbl.json.metadata.generation).toBe(2);
  expect(lbl.json.metadata.labels).toEqual({ team: 'data' });
});

test('fieldValidation: Strict rejects, Warn drops with Warning headers, Ignore drops silently', async () => {
  const body = jobObject('fv');
  body.spec.colour = 'blue';
  const strict = await h.http('POST', `${JOBS}?fieldValidation=Strict`, { body });
  expect(strict.status).toBe(422);
  expect(strict.json.details.causes).toContainEqual(expect.objectContaining({ field: 'spec.colour' }));
  const warn = await h.http('POST', `${JOBS}?fieldValidation=Warn&dryRun=All`, { body });
  expect(warn.status).toBe(201);
  expect(warn.headers.warning).toContain('299 - "unknown field \\"spec.colour\\""');
  expect(warn.json.spec.colour).toBeUndefined();
  const ignore = await h.http('POST', `${JOBS}?fieldValidation=Ignore`, { body });
  expect(ignore.status).toBe(201);
  expect(ignore.headers.warning).toBeUndefined();
  expect((await h.store.getJob('fv'))!.spec).not.toHaveProperty('colour');
  expect((await h.http('POST', `${JOBS}?fieldValidation=Loose`, { body })).status).toBe(400);
});

test('list: label selectors, field selector, limit/continue, Table', async () => {
  for (const [n, team] of [['b1', 'web'], ['b2', 'web'], ['b3', 'ops']] as const) {
    expect((await h.http('POST', JOBS, { body: jobObject(n, { team }) })).status).toBe(201);
  }
  const names = async (q: string): Promise<string[]> => (await h.http('GET', `${JOBS}?${q}`)).json.items.map((i: { metadata: { name: string } }) => i.metadata.name);
  expect(await names('labelSelector=team%3Dweb')).toEqual(['b1', 'b2']);
  expect(await names('labelSelector=team!%3Dweb')).toEqual(['alpha', 'b3', 'fv']);
  expect(await names('labelSelector=team%20in%20(ops,data)')).toEqual(['alpha', 'b3']);
  expect(await names('labelSelector=team%20notin%20(web,data)')).toEqual(['b3', 'fv']);
  expect(await names('labelSelector=team')).toEqual(['alpha', 'b1', 'b2', 'b3']);
  expect(await names('labelSelector=!team')).toEqual(['fv']);
  expect(await names('fieldSelector=metadata.name%3Db2')).toEqual(['b2']);
  expect((await h.http('GET', `${JOBS}?fieldSelector=spec.schedule%3Dx`)).status).toBe(400);
  expect((await h.http('GET', `${JOBS}?labelSelector=%3D%3D`)).status).toBe(400);

  const p1 = (await h.http('GET', `${JOBS}?limit=2`)).json;
  expect(p1.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['alpha', 'b1']);
  expect(p1.metadata.remainingItemCount).toBe(3);
  const p2 = (await h.http('GET', `${JOBS}?limit=2&continue=${p1.metadata.continue}`)).json;
  expect(p2.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['b2', 'b3']);
  const p3 = (await h.http('GET', `${JOBS}?limit=2&continue=${p2.metadata.continue}`)).json;
  expect(p3.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['fv']);
  expect(p3.metadata.continue).toBeUndefined();

  const t = (await h.http('GET', `${JOBS}?labelSelector=team%3Dops`, { headers: { Accept: TABLE } })).json;
  expect(t.kind).toBe('Table');
  expect(t.columnDefinitions.map((c: { name: string }) => c.name)).toEqual(['Name', 'Schedule', 'Suspend', 'Active', 'Last Schedule', 'Next', 'Last Result', 'Age']);
  expect(t.rows[0].cells.slice(0, 4)).toEqual(['b3', '@daily', false, 0]);
  expect(t.rows[0].object.kind).toBe('PartialObjectMetadata');
});

/** Read newline-delimited watch events until `count` arrived (or the stream ends). */
function watch(path: string, count: number, onOpen?: () => void): Promise<{ type: string; object: any }[]> {
  return new Promise((resolve, reject) => {
    const url = new URL(h.server.url);
    const req = request({ host: url.hostname, port: url.port, path, headers: { Authorization: `Bearer ${TOKEN}` } }, (res) => {
      const events: { type: string; object: any }[] = [];
      let buf = '';
      onOpen?.();
      res.on('data', (c: Buffer) => {
        buf += c.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
          if (events.length === count) {
            req.destroy();
            resolve(events);
          }
        }
      });
      res.on('end', () => resolve(events));
    });
    req.on('error', (e) => (e.message.includes('socket hang up') ? undefined : reject(e)));
    req.end();
  });
}

test('watch: from a resourceVersion, selector transitions, DELETED with the object, initial ADDED list', async () => {
  const rv = (await h.http('GET', JOBS)).json.metadata.resourceVersion;
  const events = watch(`${JOBS}?watch=1&resourceVersion=${rv}&labelSelector=team%3Dweb`, 4, () => {
    setTimeout(async () => {
      await h.store.putJobStatus('b1', { lastRunResult: 'Succeeded' });
      const b3 = (await h.store.getJob('b3'))!;
      await h.store.putJob({ ...b3, labels: { team: 'web' } }, b3.resourceVersion); // enters the selection
      await h.store.putJobStatus('b3', { lastRunResult: 'Failed' });
      const b2 = (await h.store.getJob('b2'))!;
      await h.store.putJob({ ...b2, finalizers: [] }, b2.resourceVersion);
      await h.store.deleteJob('b2');
    }, 50);
  });
  const got = await events;
  expect(got.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['MODIFIED b1', 'ADDED b3', 'MODIFIED b3', 'MODIFIED b2']);
  // resume after the last event seen: the rest (b2 DELETED) is replayed from history
  const last = got[3]!.object.metadata.resourceVersion;
  const resumed = await watch(`${JOBS}?watch=true&resourceVersion=${last}&timeoutSeconds=1`, 1);
  expect(resumed[0]).toMatchObject({ type: 'DELETED', object: { kind: 'ContainerJob', metadata: { name: 'b2' } } });

  const all = await watch(`${JOBS}?watch=true&timeoutSeconds=1`, 100);
  expect(all.every((e) => e.type === 'ADDED')).toBe(true);
  expect(all.map((e) => e.object.metadata.name)).toEqual((await h.store.listJobs()).map((j) => j.name));

});

test('jobs from a manifests directory are read-only, naming the file; trigger/suspend still work', async () => {
  await h.store.putJob({
    name: 'fromdir', finalizers: [], labels: {}, annotations: {}, status: {},
    spec: jobObject('fromdir').spec, source: { kind: 'directory', root: '/m', file: '/m/jobs/fromdir.yaml' },
  });
  const put = await h.http('PATCH', `${JOBS}/fromdir`, { raw: '{"spec":{"suspend":true}}', headers: { 'Content-Type': 'application/merge-patch+json' } });
  expect(put.status).toBe(403);
  expect(put.json.message).toContain('/m/jobs/fromdir.yaml');
  expect((await h.http('DELETE', `${JOBS}/fromdir`)).status).toBe(403);
  expect(await h.store.getJob('fromdir')).toBeDefined();
  expect((await h.http('GET', `${JOBS}/fromdir`)).json.status.source).toEqual({ kind: 'directory', file: '/m/jobs/fromdir.yaml' });

  const trig = await h.http('POST', `${JOBS}/fromdir/trigger`);
  expect(trig.status).toBe(201);
  expect(trig.json).toEqual({ run: 'fromdir-m20260101000000' });
  expect(h.triggered).toContain('fromdir');
  expect((await h.http('POST', `${JOBS}/fromdir/suspend`)).status).toBe(200);
  expect((await h.http('POST', `${JOBS}/fromdir/resume`)).status).toBe(200);
  expect(h.suspended.slice(-2)).toEqual([['fromdir', true], ['fromdir', false]]);
  expect((await h.http('POST', `${JOBS}/nope/trigger`)).status).toBe(404);
  expect((await h.http('GET', `${JOBS}/fromdir/trigger`)).status).toBe(405);
});

test('status subresource: only status changes, with optimistic concurrency; main-resource writes ignore status', async () => {
  const cur = (await h.http('GET', `${JOBS}/alpha/status`)).json;
  const put = await h.http('PUT', `${JOBS}/alpha/status`, { body: { ...cur, spec: { schedule: 'ignored' }, status: { lastRunResult: 'Succeeded' } } });
  expect(put.status).toBe(200);
  expect((await h.store.getJob('alpha'))!.status).toEqual({ lastRunResult: 'Succeeded' });
  expect((await h.store.getJob('alpha'))!.spec.schedule).toBe('@hourly');
  expect((await h.http('PUT', `${JOBS}/alpha/status`, { body: cur })).status).toBe(409);
  const patched = await h.http('PATCH', `${JOBS}/alpha/status`, { raw: '{"status":{"suspended":true}}', headers: { 'Content-Type': 'application/merge-patch+json' } });
  expect(patched.json.status).toEqual({ lastRunResult: 'Succeeded', suspended: true });
  const main = await h.http('PATCH', `${JOBS}/alpha`, { raw: '{"status":{"lastRunResult":"Failed"}}', headers: { 'Content-Type': 'application/merge-patch+json' } });
  expect(main.json.status.lastRunResult).toBe('Succeeded');
});

test('delete: without finalizers at once; with them deletionTimestamp, then gone when a PATCH removes the last', async () => {
  const noFin = await h.http('PATCH', `${JOBS}/b1`, { raw: '{"metadata":{"finalizers":null}}', headers: { 'Content-Type': 'application/merge-patch+json' } });
  expect(noFin.json.metadata.finalizers).toBeUndefined();
  expect((await h.http('DELETE', `${JOBS}/b1`)).status).toBe(200);
  expect(await h.store.getJob('b1')).toBeUndefined();
  expect((await h.http('DELETE', `${JOBS}/b1`)).status).toBe(404);

  expect((await h.http('DELETE', `${JOBS}/b3?dryRun=All`)).status).toBe(200);
  expect((await h.store.getJob('b3'))!.deletionTimestamp).toBeUndefined();
  const del = await h.http('DELETE', `${JOBS}/b3`, { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' } });
  expect(del.text).toContain('"deletionTimestamp"');
  expect(del.json.metadata.deletionTimestamp).toBeDefined();
  expect((await h.store.getJob('b3'))!.deletionTimestamp).toBeDefined();
  expect(h.enqueued).toContain('b3');
  await h.http('PATCH', `${JOBS}/b3`, { raw: '{"metadata":{"finalizers":null}}', headers: { 'Content-Type': 'application/merge-patch+json' } });
  expect(await h.store.getJob('b3')).toBeUndefined();
});

test('runs: list with Table columns, get, selectors, log stream', async () => {
  await h.store.putRun(run('alpha-202601010200', 'alpha'));
  await h.store.putRun(run('fv-m20260101020000', 'fv', { manual: true, slot: null, phase: 'Failed', attempts: [{ attempt: 1, groupName: 'g', phase: 'Failed', createdAt: 0, exitCode: 3, logsArchived: false, groupDeleted: false }] }));
  const list = (await h.http('GET', RUNS)).json;
  expect(list.kind).toBe('ContainerJobRunList');
  expect(list.items[0]).toMatchObject({ kind: 'ContainerJobRun', metadata: { name: 'alpha-202601010200', labels: { 'acictl.dev/job': 'alpha' } }, spec: { job: 'alpha', slot: '2026-01-01T02:00:00Z' }, status: { phase: 'Succeeded' } });
  const t = (await h.http('GET', RUNS, { headers: { Accept: TABLE } })).json;
  expect(t.columnDefinitions.map((c: { name: string }) => c.name)).toEqual(['Name', 'Job', 'Slot', 'Attempt', 'State', 'Exit Code', 'Duration']);
  expect(t.rows.map((r: { cells: unknown[] }) => r.cells)).toEqual([
    ['alpha-202601010200', 'alpha', '2026-01-01T02:00:00Z', 1, 'Succeeded', '0', '65s'],
    ['fv-m20260101020000', 'fv', 'manual', 1, 'Failed', '3', '<none>'],
  ]);
  expect((await h.http('GET', `${RUNS}?fieldSelector=spec.job%3Dfv`)).json.items.length).toBe(1);
  expect((await h.http('GET', `${RUNS}?labelSelector=acictl.dev/job%3Dalpha`)).json.items.length).toBe(1);
  expect((await h.http('GET', `${RUNS}/nope`)).status).toBe(404);
  expect((await h.http('DELETE', `${RUNS}/alpha-202601010200`)).status).toBe(405);

  const log = await h.http('GET', `${RUNS}/alpha-202601010200/log?attempt=1&follow=true`);
  expect(log.headers['content-type']).toContain('text/plain');
  expect(log.text).toBe('run=alpha-202601010200 attempt=1 follow=true\nline 2\n');
  expect((await h.http('GET', `${RUNS}/alpha-202601010200/log?attempt=7`)).status).toBe(400);
  expect((await h.http('GET', `${RUNS}/nope/log`)).status).toBe(404);
});
