/**
 * A dependency cycle is refused at the API as `acictl validate` refuses it across files: a create,
 * replace or patch that would close a cycle is a 422 on spec.dependsOn naming the cycle (and the
 * file:line of directory jobs on it), and nothing is stored.
 */
import { jobObject, startHarness, type Harness } from './harness';

let h: Harness;
const JOBS = '/apis/acictl.dev/v1/containerjobs';

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

function dependent(name: string, ...upstream: string[]): Record<string, any> {
  const o = jobObject(name);
  o.spec.dependsOn = upstream.map((job) => ({ job }));
  return o;
}

test('create closing a two-job cycle: 422 naming it; the chain without it is accepted', async () => {
  expect((await h.http('POST', JOBS, { body: dependent('extract') })).status).toBe(201);
  expect((await h.http('POST', JOBS, { body: dependent('report', 'extract') })).status).toBe(201);
  // extract → report is fine alone, but with report → extract it closes a cycle
  const r = await h.http('PUT', `${JOBS}/extract`, {
    body: { ...dependent('extract', 'report'), metadata: { name: 'extract', resourceVersion: String((await h.store.getJob('extract'))!.resourceVersion) } },
  });
  expect(r.status).toBe(422);
  expect(r.json).toMatchObject({ kind: 'Status', reason: 'Invalid' });
  expect(r.json.details.causes).toEqual([expect.objectContaining({ field: 'spec.dependsOn', message: expect.stringContaining('extract → report → extract') })]);
  expect((await h.store.getJob('extract'))!.spec.dependsOn ?? []).toEqual([]);
});

test('a self-dependency and a three-job cycle by merge patch are refused; an unrelated patch still works', async () => {
  const self = await h.http('POST', JOBS, { body: dependent('loner', 'loner') });
  expect(self.status).toBe(422);
  expect(self.json.details.causes[0].message).toContain('loner → loner');
  expect(await h.store.getJob('loner')).toBeUndefined();

  expect((await h.http('POST', JOBS, { body: dependent('c', 'b') })).status).toBe(201);
  expect((await h.http('POST', JOBS, { body: dependent('b', 'a') })).status).toBe(201);
  expect((await h.http('POST', JOBS, { body: dependent('a') })).status).toBe(201);
  const patch = await h.http('PATCH', `${JOBS}/a`, { body: { spec: { dependsOn: [{ job: 'c' }] } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
  expect(patch.status).toBe(422);
  expect(patch.json.details.causes[0].message).toContain('a → c → b → a') // along dependsOn: a waits on c, c on b, b on a;
  // a patch that leaves dependsOn alone is not checked again, and passes
  const labels = await h.http('PATCH', `${JOBS}/c`, { body: { metadata: { labels: { team: 'x' } } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
  expect(labels.status).toBe(200);
});

test('a cycle through a directory job names its file and line', async () => {
  await h.store.putJob({
    name: 'from-git',
    finalizers: [],
    labels: {},
    annotations: {},
    spec: { ...jobObject('from-git').spec, dependsOn: [{ job: 'api-job' }] },
    source: { kind: 'directory', root: '/m', file: 'jobs/a.yaml', line: 12 },
    status: {},
  } as never);
  const r = await h.http('POST', JOBS, { body: dependent('api-job', 'from-git') });
  expect(r.status).toBe(422);
  expect(r.json.details.causes[0].message).toContain('from-git at jobs/a.yaml:12');
});
