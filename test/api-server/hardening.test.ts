/**
 * Hostile requests found from outside (issue 20): input nested far deeper than any manifest, and
 * broken percent-encoding in the path, are 400 Status errors naming the problem — never a 500.
 */
import { MAX_NESTING_DEPTH } from '../../src/api/depth';
import { jobObject, startHarness, type Harness } from './harness';

let h: Harness;
const JOBS = '/apis/acictl.dev/v1/containerjobs';

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

/** A job whose spec.template.tags nests `depth` objects (JSON text: the client never recurses). */
function deepJob(name: string, depth: number, open = '{"a":', close = '}'): string {
  const base = JSON.stringify(jobObject(name));
  const t = JSON.parse(base);
  t.spec.template.tags = 'HOLE';
  return JSON.stringify(t).replace('"HOLE"', `${open.repeat(depth)}1${close.repeat(depth)}`);
}

const json = { 'Content-Type': 'application/json' };

test.each([
  ['objects, 50,000 levels', 50_000, '{"a":', '}'],
  ['arrays, 50,000 levels', 50_000, '[', ']'],
  ['objects, just past the limit', MAX_NESTING_DEPTH, '{"a":', '}'],
])('a deeply nested create (%s) is a 400 naming the depth limit', async (_what, depth, open, close) => {
  const r = await h.http('POST', JOBS, { raw: deepJob('deep', depth as number, open as string, close as string), headers: json });
  expect(r.status).toBe(400);
  expect(r.json).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
  expect(r.json.message).toContain(`${MAX_NESTING_DEPTH} levels`);
  expect(h.store.getJob('deep')).toBeUndefined();
});

test('deep PUT, merge patch and JSON patch bodies are 400 too; a normal job still works', async () => {
  const ok = await h.http('POST', JOBS, { body: jobObject('shallow') });
  expect(ok.status).toBe(201);
  const put = await h.http('PUT', `${JOBS}/shallow`, { raw: deepJob('shallow', 50_000), headers: json });
  expect(put.status).toBe(400);
  expect(put.json.message).toContain(`${MAX_NESTING_DEPTH} levels`);
  const merge = await h.http('PATCH', `${JOBS}/shallow`, { raw: `{"spec":{"template":{"tags":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}}}`, headers: { 'Content-Type': 'application/merge-patch+json' } });
  expect(merge.status).toBe(400);
  expect(merge.json.message).toContain(`${MAX_NESTING_DEPTH} levels`);
  const patch = await h.http('PATCH', `${JOBS}/shallow`, { raw: `[{"op":"add","path":"/metadata/annotations","value":${'['.repeat(50_000)}${']'.repeat(50_000)}}]`, headers: { 'Content-Type': 'application/json-patch+json' } });
  expect(patch.status).toBe(400);
  expect(patch.json.message).toContain(`${MAX_NESTING_DEPTH} levels`);
  // a normal-depth request right after is fine, and so is the server
  expect((await h.http('GET', `${JOBS}/shallow`)).status).toBe(200);
  expect((await h.http('GET', '/healthz', { token: null })).status).toBe(200);
});

test.each([
  `${JOBS}/%E0%A4%A`,
  `${JOBS}/%zz`,
  `${JOBS}/ok/%`,
  `${JOBS}/%C0%80/status`,
  '/apis/acictl.dev/v1/containerjobruns/%ff%fe/log',
])('broken percent-encoding in %s is a 400, not a 500', async (path) => {
  for (const method of ['GET', 'DELETE']) {
    const r = await h.http(method, path);
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
    expect(r.json.message).toMatch(/percent-encoding/);
  }
});

test('well-formed percent-encoding still decodes', async () => {
  expect((await h.http('POST', JOBS, { body: jobObject('encoded') })).status).toBe(201);
  const r = await h.http('GET', `${JOBS}/%65ncoded`);
  expect(r.status).toBe(200);
  expect(r.json.metadata.name).toBe('encoded');
});
