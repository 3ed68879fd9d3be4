/**
 * Every ContainerGroups operation through the real ContainerInstanceManagementClient against the
 * emulator: create + wait, get, list (≥ 3 pages, by resource group and subscription), update in place,
 * immutable changes, If-None-Match, PATCH tags, start/stop/restart, delete, logs with tail, and
 * ARM error codes.
 */
import { request } from 'node:https';
import type { ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import { startEmulator, RunningEmulator } from '../../src/emulator';
import { clientFor, FAST, shGroup, waitFor, waitState } from './helpers';

let emu: RunningEmulator;
let client: ContainerInstanceManagementClient;
const RG = 'sdk-rg';

beforeAll(async () => {
  emu = await startEmulator({ pageSize: 2, lroDelayMs: 60, quotas: { groupsPerRegion: 30 }, resourceGroups: [RG, 'other-rg', 'quota-rg'] });
  client = clientFor(emu);
});
afterAll(async () => {
  await emu?.close();
});

async function errorOf(p: Promise<unknown>): Promise<{ statusCode?: number; code?: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { statusCode?: number; code?: string; message: string };
  }
  throw new Error('expected the call to fail');
}

function raw(method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const u = new URL(emu.endpoint + path);
  return new Promise((resolve, reject) => {
    const req = request({ method, host: u.hostname, port: u.port, path: u.pathname + u.search, ca: emu.ca, headers }, (res) => {
      let t = '';
      res.on('data', (c) => (t += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: t ? JSON.parse(t) : undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('create waits through Pending/Creating to Succeeded; get shows the instance view; the run finishes', async () => {
  const seen: string[] = [];
  const poller = await client.containerGroups.beginCreateOrUpdate(RG, 'create-1', shGroup('echo hello; exit 0'), FAST);
  poller.onProgress((s) => seen.push(String((s as { status?: string }).status)));
  const created = await poller.pollUntilDone();
  expect(created.provisioningState).toBe('Succeeded');
  expect(created.name).toBe('create-1');
  expect(created.sku).toBe('Standard');
  expect(created.id).toBe(`/subscriptions/${emu.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerInstance/containerGroups/create-1`);
  const done = await waitState(client, RG, 'create-1', ['Succeeded']);
  const c = done.containers[0].instanceView!;
  expect(c.currentState?.state).toBe('Terminated');
  expect(c.currentState?.exitCode).toBe(0);
  expect(c.currentState?.detailStatus).toBe('Completed');
  expect(c.restartCount).toBe(0);
  expect(c.events?.map((e) => e.name)).toEqual(expect.arrayContaining(['Pulling', 'Pulled', 'Created', 'Started']));
  expect(emu.stats().creations.map((x) => x.name)).toContain('create-1');
  expect(emu.stats().starts.find((x) => x.name === 'create-1')?.reason).toBe('create');
});

test('the PUT answers 201 then 200, with Azure-AsyncOperation, and the operation passes through Pending/Creating', async () => {
  const statuses: number[] = [];
  const asyncOps: string[] = [];
  const opStatuses: string[] = [];
  const opts = { ...FAST, onResponse: (r: { status: number; request: { url: string }; parsedBody?: any; headers: { get(n: string): string | undefined } }) => {
    if (r.request.url.includes('/operations/')) {
      opStatuses.push(r.parsedBody?.status);
      return;
    }
    statuses.push(r.status);
    const h = r.headers.get('azure-asyncoperation');
    if (h) asyncOps.push(h);
  } };
  await client.containerGroups.beginCreateOrUpdateAndWait(RG, 'put-codes', shGroup('exit 0'), opts);
  await client.containerGroups.beginCreateOrUpdateAndWait(RG, 'put-codes', shGroup('exit 0'), opts);
  expect(statuses[0]).toBe(201);
  expect(opStatuses).toEqual(expect.arrayContaining(['Creating', 'Succeeded']));
  expect(opStatuses.every((x) => ['Pending', 'Creating', 'Succeeded'].includes(x))).toBe(true);
  expect(statuses).toContain(200);
  expect(asyncOps[0]).toMatch(new RegExp(`^${emu.endpoint}/subscriptions/${emu.subscriptionId}/providers/Microsoft.ContainerInstance/locations/eastus/operations/`));
  const op = await raw('GET', asyncOps[0].slice(emu.endpoint.length), { authorization: 'Bearer x' });
  expect(op.status).toBe(200);
  expect(['Succeeded', 'Canceled']).toContain(op.body.status);
  expect(emu.stats().requests.operationStatus).toBeGreaterThan(0);
});

test('If-None-Match: * on an existing group is refused with 412 PreconditionFailed and does not restart it', async () => {
  await client.containerGroups.beginCreateOrUpdateAndWait(RG, 'inm', shGroup('sleep 5'), FAST);
  const startsBefore = emu.stats().starts.filter((s) => s.name === 'inm').length;
  const err = await errorOf(client.containerGroups.beginCreateOrUpdate(RG, 'inm', shGroup('sleep 5'), { ...FAST, requestOptions: { customHeaders: { 'If-None-Match': '*' } } }));
  expect(err.statusCode).toBe(412);
  expect(err.code).toBe('PreconditionFailed');
  expect(emu.stats().starts.filter((s) => s.name === 'inm').length).toBe(startsBefore);
  // …and is accepted for a new name.
  await client.containerGroups.beginCreateOrUpdateAndWait(RG, 'inm-new', shGroup('exit 0'), { ...FAST, requestOptions: { customHeaders: { 'If-None-Match': '*' } } });
  await client.containerGroups.beginDeleteAndWait(RG, 'inm', FAST);
});

test('list by resource group and by subscription follows nextLink across at least 3 pages, without instance views', async () => {
  for (let i = 0; i < 5; i++) {
    await client.containerGroups.beginCreateOrUpdate('other-rg', `list-${i}`, shGroup('exit 0'), FAST);
  }
  const pages: number[] = [];
  for await (const page of client.containerGroups.listByResourceGroup('other-rg').byPage()) pages.push(page.length);
  expect(pages.length).toBeGreaterThanOrEqual(3);
  expect(pages.reduce((a, b) => a + b, 0)).toBe(5);
  const names: string[] = [];
  for await (const g of client.containerGroups.listByResourceGroup('other-rg')) {
    names.push(g.name!);
    expect(g.instanceView).toBeUndefined();
    expect(g.containers[0].instanceView).toBeUndefined();
  }
  expect(names.sort()).toEqual(['list-0', 'list-1', 'list-2', 'list-3', 'list-4']);
  const all: string[] = [];
  for await (const g of client.containerGroups.list()) all.push(`${g.id!.split('/')[4]}/${g.name}`);
  expect(all).toEqual(expect.arrayContaining(['other-rg/list-0', 'other-rg/list-4', `${RG}/create-1`]));
  expect(new Set(all).size).toBe(all.length);
});

test('update in place (image, env) answers 200 and re-runs; immutable changes are InvalidContainerGroupUpdate', async () => {
  await client.containerGroups.beginCreateOrUpdateAndWait(RG, 'upd', shGroup('echo v1', { env: [{ name: 'MODE', value: 'a' }] }), FAST);
  const v2 = shGroup('echo "v2 $MODE"', { env: [{ name: 'MODE', value: 'b' }] });
  v2.containers[0].image = 'busybox:1.36';
  const updated = await client.containerGroups.beginCreateOrUpdateAndWait(RG, 'upd', v2, FAST);
  expect(updated.containers[0].image).toBe('busybox:1.36');
  expect(updated.containers[0].environmentVariables).toEqual([{ name: 'MODE', value: 'b' }]);
  await waitState(client, RG, 'upd', ['Succeeded']);
  const logs = await client.containers.listLogs(RG, 'upd', 'main');
  expect(logs.content).toBe('v2 b\n');
  expect(emu.stats().starts.filter((s) => s.name === 'upd').map((s) => s.reason)).toEqual(['create', 'update']);

  const cases: [string, (g: ReturnType<typeof shGroup>) => void][] = [
    ['cpu', (g) => (g.containers[0].resources.requests.cpu = 2)],
    ['memory', (g) => (g.containers[0].resources.requests.memoryInGB = 2)],
    ['gpu', (g) => (g.containers[0].resources.requests.gpu = { count: 1, sku: 'V100' })],
    ['restartPolicy', (g) => (g.restartPolicy = 'OnFailure')],
    ['osType', (g) => (g.osType = 'Windows')],
    ['ports', (g) => (g.containers[0].ports = [{ port: 80 }])],
    ['ipAddress', (g) => (g.ipAddress = { type: 'Public', ports: [{ port: 80 }] })],
    ['subnet', (g) => (g.subnetIds = [{ id: '/subscriptions/x/resourceGroups/y/providers/Microsoft.Network/virtualNetworks/v/subnets/s' }])],
    ['sku', (g) => (g.sku = 'Dedicated')],
    ['zones', (g) => (g.zones = ['1'])],
  ];
  for (const [what, mutate] of cases) {
    const g = shGroup('echo "v2 $MODE"', { env: [{ name: 'MODE', value: 'b' }] });
    g.containers[0].image = 'busybox:1.36';
    mutate(g);
    const err = await errorOf(client.containerGroups.beginCreateOrUpdate(RG, 'upd', g, FAST));
    expect([what, err.statusCode, err.code]).toEqual([what, 400, 'InvalidContainerGroupUpdate']);
  }
});

test('PATCH updates tags only, synchronously', async () => {
  await client.containerGroups.beginCreateOrUpdateAndWait(RG, 'tags', shGroup('exit 0'), FAST);
  const patched = await client.containerGroups.update(RG, 'tags', { tags: { a: '1', b: '2' } });
  expect(patched.tags).toEqual({ a: '1', b: '2' });
  expect((await client.containerGroups.get(RG, 'tags')).tags).toEqual({ a: '1', b: '2' });
});

test('start re-runs a finished group; stop kills a running one; restart re-runs; delete removes', async () => {
  await client.containerGroups.beginCreateOrUpdateAndWait(RG, 'life', shGroup('echo run; exit 0'), FAST);
  const first = await waitState(client, RG, 'life', ['Succeeded']);
  const firstStart = first.containers[0].instanceView!.currentState!.startTime!;
  await client.containerGroups.beginStartAndWait(RG, 'life', FAST);
  const again = await waitState(client, RG, 'life', ['Succeeded']);
  expect(again.containers[0].instanceView!.currentState!.startTime!.getTime()).toBeGreaterThan(firstStart.getTime());
  expect(again.containers[0].instanceView!.previousState?.state).toBe('Terminated');
  expect(emu.stats().starts.filter((s) => s.name === 'life').map((s) => s.reason)).toEqual(['create', 'start']);

  await client.containerGroups.beginCreateOrUpdateAndWait(RG, 'long', shGroup('echo started; sleep 30'), FAST);
  await waitState(client, RG, 'long', ['Running']);
  await client.containerGroups.stop(RG, 'long');
  const stopped = await client.containerGroups.get(RG, 'long');
  expect(stopped.instanceView?.state).toBe('Stopped');
  expect(stopped.provisioningState).toBe('Succeeded');
  expect(stopped.containers[0].instanceView?.currentState?.state).toBe('Terminated');
  // Stop has no effect on a finished group.
  await client.containerGroups.stop(RG, 'life');
  expect((await client.containerGroups.get(RG, 'life')).instanceView?.state).toBe('Succeeded');

  await client.containerGroups.beginRestartAndWait(RG, 'long', FAST);
  const restarted = await waitState(client, RG, 'long', ['Running']);
  expect(restarted.containers[0].instanceView?.currentState?.state).toBe('Running');
  expect(emu.stats().starts.filter((s) => s.name === 'long').map((s) => s.reason)).toEqual(['create', 'restart']);

  await client.containerGroups.beginDeleteAndWait(RG, 'long', FAST);
  const gone = await errorOf(client.containerGroups.get(RG, 'long'));
  expect([gone.statusCode, gone.code]).toEqual([404, 'ResourceNotFound']);
  // Deleting an absent group is a 204 success.
  await client.containerGroups.beginDeleteAndWait(RG, 'long', FAST);
});

test('logs honour tail', async () => {
  await client.containerGroups.beginCreateOrUpdateAndWait(RG, 'logs', shGroup('for i in 1 2 3 4 5; do echo line$i; done'), FAST);
  await waitState(client, RG, 'logs', ['Succeeded']);
  expect((await client.containers.listLogs(RG, 'logs', 'main')).content).toBe('line1\nline2\nline3\nline4\nline5\n');
  expect((await client.containers.listLogs(RG, 'logs', 'main', { tail: 2 })).content).toBe('line4\nline5\n');
  const ts = (await client.containers.listLogs(RG, 'logs', 'main', { tail: 1, timestamps: true })).content!;
  expect(ts).toMatch(/^\d{4}-\d\d-\d\dT\S+Z line5\n$/);
  const err = await errorOf(client.containers.listLogs(RG, 'logs', 'nope'));
  expect(err.statusCode).toBe(404);
});

test('ARM error codes: not found, resource group, names, env vars, images, quota, failed deployment', async () => {
  const e1 = await errorOf(client.containerGroups.get(RG, 'absent'));
  expect([e1.statusCode, e1.code]).toEqual([404, 'ResourceNotFound']);
  const e2 = await errorOf(client.containerGroups.get('nowhere', 'x'));
  expect([e2.statusCode, e2.code]).toEqual([404, 'ResourceGroupNotFound']);
  const e2b = await errorOf(client.containerGroups.listByResourceGroup('nowhere').next());
  expect(e2b.code).toBe('ResourceGroupNotFound');
  const e3 = await errorOf(client.containerGroups.beginCreateOrUpdate(RG, 'Bad_Name', shGroup('exit 0'), FAST));
  expect([e3.statusCode, e3.code]).toEqual([400, 'ContainerGroupNameInvalid']);
  const e3b = await errorOf(client.containerGroups.beginCreateOrUpdate(RG, 'a--b', shGroup('exit 0'), FAST));
  expect(e3b.code).toBe('ContainerGroupNameInvalid');
  const badContainer = shGroup('exit 0');
  badContainer.containers[0].name = 'Main';
  expect((await errorOf(client.containerGroups.beginCreateOrUpdate(RG, 'ok-name', badContainer, FAST))).code).toBe('InvalidContainerName');
  const e4 = await errorOf(client.containerGroups.beginCreateOrUpdate(RG, 'env', shGroup('exit 0', { env: [{ name: '1BAD', value: 'x' }] }), FAST));
  expect([e4.statusCode, e4.code]).toEqual([400, 'InvalidContainerEnvironmentVariable']);
  const img = shGroup('exit 0');
  img.containers[0].image = 'example.invalid/does-not-exist:1';
  const e5 = await errorOf(client.containerGroups.beginCreateOrUpdate(RG, 'img', img, FAST));
  expect([e5.statusCode, e5.code]).toEqual([400, 'InaccessibleImage']);
  const big = shGroup('exit 0');
  big.containers[0].resources.requests.cpu = 8;
  expect((await errorOf(client.containerGroups.beginCreateOrUpdate(RG, 'big', big, FAST))).statusCode).toBe(400);

  const failing = shGroup('exit 0');
  failing.containers[0].image = 'registry.example/fails-to-deploy:1';
  const e6 = await errorOf(client.containerGroups.beginCreateOrUpdateAndWait(RG, 'lro-fail', failing, FAST));
  expect(e6.message).toMatch(/ContainerGroupDeploymentFailed|long-running operation has failed/);
  const failed = await client.containerGroups.get(RG, 'lro-fail');
  expect(failed.provisioningState).toBe('Failed');

  // Quota: 30 groups per region in this emulator; fill the region, then one more is refused.
  const existing = (await (async () => { let n = 0; for await (const _ of client.containerGroups.list()) n++; return n; })());
  for (let i = existing; i < 30; i++) await client.containerGroups.beginCreateOrUpdate('quota-rg', `q-${i}`, shGroup('exit 0'), FAST);
  const e7 = await errorOf(client.containerGroups.beginCreateOrUpdate('quota-rg', 'q-over', shGroup('exit 0'), FAST));
  expect([e7.statusCode, e7.code]).toEqual([400, 'ContainerGroupQuotaReached']);
  // A different region is not affected.
  await client.containerGroups.beginCreateOrUpdate('quota-rg', 'q-west', shGroup('exit 0', { location: 'West Europe' }), FAST);
  // Echoed as Microsoft's examples echo a spaced name ("west us" → "WestUs").
  expect((await client.containerGroups.get('quota-rg', 'q-west')).location).toBe('WestEurope');
});

test('raw HTTP: api-version is required, a bearer token is required', async () => {
  const base = `/subscriptions/${emu.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.ContainerInstance/containerGroups`;
  const noVersion = await raw('GET', base, { authorization: 'Bearer t' });
  expect([noVersion.status, noVersion.body.error.code]).toEqual([400, 'MissingApiVersionParameter']);
  const old = await raw('GET', `${base}?api-version=2019-12-01`, { authorization: 'Bearer t' });
  expect(old.status).toBe(400);
  const newer = await raw('GET', `${base}?api-version=2025-09-01`, { authorization: 'Bearer t' });
  expect(newer.status).toBe(200);
  const noAuth = await raw('GET', `${base}?api-version=2023-05-01`);
  expect([noAuth.status, noAuth.body.error.code]).toEqual([401, 'AuthenticationFailed']);
  const stats = await raw('GET', '/_emulator/stats');
  expect(stats.status).toBe(200);
  expect(stats.body.requests.put).toBeGreaterThan(0);
  expect(stats.body.responses['401']).toBeGreaterThanOrEqual(1);
  await waitFor(() => emu.stats().reads > 0);
});
