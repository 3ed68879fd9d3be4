/**
 * Hostile requests found from outside (issue 20): input nested far deeper than any manifest, and
 * broken percent-encoding in the path, are 400 Status errors naming the problem — never a 500.
 */
import { request as httpsRequest } from 'node:https';
import { MAX_NESTING_DEPTH } from '../../src/api/depth';
import { isLoopbackHost, localClientUrl } from '../../src/apiserver/listen-policy';
import { startApiServer, type ApiServerDeps } from '../../src/apiserver/server';
import { MemoryStore } from '../../src/store/memory';
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

function minimalDeps(): ApiServerDeps {
  return {
    store: new MemoryStore(),
    validate: () => ({ ok: false, errors: [], warnings: [] }) as never,
    enqueue() {},
    trigger: async () => ({ run: 'r' }),
    async setSuspended() {},
    logs: async function* () {},
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    ready: () => true,
    token: 't',
  };
}

test.each([
  ['objects, 50,000 levels', 50_000, '{"a":', '}'],
  ['arrays, 50,000 levels', 50_000, '[', ']'],
  ['objects, just past the limit', MAX_NESTING_DEPTH, '{"a":', '}'],
])('a deeply nested create (%s) is a 400 naming the depth limit', async (_what, depth, open, close) => {
  const r = await h.http('POST', JOBS, { raw: deepJob('deep', depth as number, open as string, close as string), headers: json });
  expect(r.status).toBe(400);
  expect(r.json).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
  expect(r.json.message).toContain(`${MAX_NESTING_DEPTH} levels`);
  expect(await h.store.getJob('deep')).toBeUndefined();
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

describe('bearer tokens over plain HTTP on a non-loopback listener', () => {
  // Tests bind 127.0.0.1 only: the listener is declared exposed (ApiListen.exposed), which is what a
  // non-loopback --listen host turns on through isLoopbackHost (its table is below).
  let pub: Harness;
  beforeAll(async () => {
    pub = await startHarness({}, { exposed: true });
  });
  afterAll(async () => {
    await pub?.close();
  });

  function https(path: string, token: string): Promise<{ status: number; json: any }> {
    const u = new URL(path, pub.server.httpsUrl);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(u, { ca: pub.server.ca, headers: { Authorization: `Bearer ${token}` } }, (res) => {
        let t = '';
        res.on('data', (c) => (t += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(t) }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  test('plain HTTP with the right token is refused (403, says HTTPS); HTTPS with it works', async () => {
    for (const path of [JOBS, '/api', '/version', `${JOBS}/x/trigger`]) {
      const r = await pub.http(path.endsWith('trigger') ? 'POST' : 'GET', path);
      expect(r.status).toBe(403);
      expect(r.json).toMatchObject({ kind: 'Status', reason: 'Forbidden' });
      expect(r.json.message).toMatch(/HTTPS only/);
    }
    expect(pub.triggered).toEqual([]);
    expect((await https(JOBS, 'test-token-0123456789abcdef')).status).toBe(200);
    expect((await https(JOBS, 'wrong')).status).toBe(401);
  });

  test('the open endpoints still answer over plain HTTP; kubectl (HTTPS) works', async () => {
    expect((await pub.http('GET', '/healthz', { token: null })).status).toBe(200);
    expect((await pub.http('GET', '/metrics', { token: null })).status).toBe(200);
    const k = await pub.kubectl(['get', 'cj']);
    expect(k.stderr).not.toMatch(/Forbidden/);
    expect(k.code).toBe(0);
  });

  test('a loopback listener (the default) still takes the token over plain HTTP', async () => {
    expect((await h.http('GET', JOBS)).status).toBe(200);
  });

  test.each([
    ['127.0.0.1', true], ['127.1.2.3', true], ['localhost', true], ['::1', true], ['[::1]', true],
    ['0:0:0:0:0:0:0:1', true], ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false], ['::', false], ['10.0.0.5', false], ['192.168.1.10', false], ['fe80::1', false],
    ['example.com', false], ['128.0.0.1', false], ['::ffff:10.0.0.1', false],
  ])('isLoopbackHost(%s) is %s', (host, loop) => {
    expect(isLoopbackHost(host)).toBe(loop);
  });

  test('the kubeconfig of a wildcard bind points at loopback (which the certificate names)', async () => {
    expect(localClientUrl('https://0.0.0.0:8642')).toBe('https://127.0.0.1:8642');
    expect(localClientUrl('https://[::]:8642')).toBe('https://[::1]:8642');
    expect(localClientUrl('https://10.0.0.5:8642')).toBe('https://10.0.0.5:8642');
    expect(localClientUrl('https://127.0.0.1:8642')).toBe('https://127.0.0.1:8642');
  });

  test('a non-loopback listener without TLS is refused at start', async () => {
    await expect(startApiServer({ ...minimalDeps(), tls: undefined }, { host: '127.0.0.1', port: 0, exposed: true })).rejects.toThrow(/needs TLS/);
  });
});
