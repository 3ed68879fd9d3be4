/**
 * Conformance: Microsoft's example requests (examples.ts) replayed against the emulator over raw
 * HTTPS for api-versions 2021-10-01, 2022-09-01 and 2023-05-01 — status codes, long-running
 * operation headers and response shapes as the examples show them.
 */
import { request } from 'node:https';
import { startEmulator, type RunningEmulator } from '../../../src/emulator';
import { API_VERSIONS, createBody, EVENT_FIELDS, SECRETS, STATUS } from './examples';

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: any;
}

function call(emu: RunningEmulator, method: string, path: string, body?: unknown): Promise<Res> {
  const u = new URL(emu.endpoint + path);
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      { method, host: u.hostname, port: u.port, path: u.pathname + u.search, ca: emu.ca, headers: { authorization: 'Bearer conformance', ...(data ? { 'content-type': 'application/json' } : {}) } },
      (res) => {
        let t = '';
        res.on('data', (c) => (t += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: t, body: t ? JSON.parse(t) : undefined }));
      },
    );
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function expectNoSecrets(r: Res): void {
  for (const s of SECRETS) expect(r.text).not.toContain(s);
}

describe.each(API_VERSIONS)('api-version %s', (v) => {
  let emu: RunningEmulator;
  const rg = 'demo';
  const base = () => `/subscriptions/${emu.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.ContainerInstance/containerGroups`;
  const q = `?api-version=${v}`;

  beforeAll(async () => {
    emu = await startEmulator({ runtime: 'simulate', simulate: { durationMs: 60_000 }, lroDelayMs: 20, behaviour: { listInstanceViews: v === '2023-05-01' } });
  });
  afterAll(async () => {
    await emu?.close();
  });

  test('CreateOrUpdate: 201 then 200, Azure-AsyncOperation, echo rules (location WestUs, no workspaceKey/storageAccountKey, secret volume {}, ip and fqdn)', async () => {
    const created = await call(emu, 'PUT', `${base()}/demo1${q}`, createBody());
    expect(STATUS.createNew).toContain(created.status);
    expect(created.headers['azure-asyncoperation']).toMatch(/^https:\/\/.+\/operations\/.+api-version=/);
    const g = created.body;
    expect(g).toMatchObject({ id: `${base()}/demo1`, name: 'demo1', type: 'Microsoft.ContainerInstance/containerGroups', location: 'WestUs' });
    expect(typeof g.properties.provisioningState).toBe('string');
    expect(g.properties.diagnostics.logAnalytics).toEqual({ workspaceId: 'workspaceid' });
    expect(g.properties.volumes).toEqual([
      { name: 'volume1', azureFile: { shareName: 'shareName', storageAccountName: 'accountName' } },
      { name: 'volume2', emptyDir: {} },
      { name: 'volume3', secret: {} },
    ]);
    expect(g.properties.ipAddress).toMatchObject({ type: 'Public', dnsNameLabel: 'dnsnamelabel1', ports: [{ protocol: 'TCP', port: 80 }] });
    expect(typeof g.properties.ipAddress.ip).toBe('string');
    expect(g.properties.ipAddress.fqdn).toMatch(/^dnsnamelabel1\./);
    expect(g.properties.containers[0].properties).toMatchObject({ command: [], environmentVariables: [], image: 'nginx', resources: { requests: { cpu: 1, memoryInGB: 1.5 } } });
    expectNoSecrets(created);
    const again = await call(emu, 'PUT', `${base()}/demo1${q}`, createBody());
    expect(STATUS.createExisting).toContain(again.status);
    expect(again.headers['azure-asyncoperation']).toBeDefined();
    expectNoSecrets(again);
  });

  test('Get_Succeeded: 200 with group and container instance views (events with count/timestamps/message/name/type)', async () => {
    let r: Res;
    for (;;) {
      r = await call(emu, 'GET', `${base()}/demo1${q}`);
      if (r.body.properties.instanceView?.state === 'Running') break;
      await sleep(20);
    }
    expect(STATUS.get).toContain(r.status);
    expect(r.body.properties.provisioningState).toBe('Succeeded');
    const iv = r.body.properties.containers[0].properties.instanceView;
    expect(iv).toMatchObject({ restartCount: 0, currentState: { state: 'Running', detailStatus: '' } });
    expect(iv.events.map((e: any) => e.name)).toEqual(expect.arrayContaining(['Pulling', 'Pulled']));
    for (const e of iv.events) expect(Object.keys(e).sort()).toEqual([...EVENT_FIELDS].sort());
    expect(Array.isArray(r.body.properties.instanceView.events)).toBe(true);
    expectNoSecrets(r);
  });

  test('Get_Failed: provisioningState Failed, group Pending with FailedMount, container Waiting after Pulling/Pulled', async () => {
    const put = await call(emu, 'PUT', `${base()}/failed1${q}`, createBody('registry.example/fails-to-deploy:1'));
    expect(put.status).toBe(201);
    let r: Res;
    for (;;) {
      r = await call(emu, 'GET', `${base()}/failed1${q}`);
      if (r.body.properties.provisioningState === 'Failed') break;
      await sleep(20);
    }
    expect(r.status).toBe(200);
    const p = r.body.properties;
    expect(p.instanceView.state).toBe('Pending');
    expect(p.instanceView.events.map((e: any) => e.name)).toContain('FailedMount');
    for (const e of p.instanceView.events) expect(Object.keys(e).sort()).toEqual([...EVENT_FIELDS].sort());
    const iv = p.containers[0].properties.instanceView;
    expect(iv.restartCount).toBe(0);
    expect(iv.currentState).toMatchObject({ state: 'Waiting', detailStatus: '' });
    expect(typeof iv.currentState.startTime).toBe('string');
    expect(iv.events.map((e: any) => e.name)).toEqual(['Pulling', 'Pulled']);
    // The operation the PUT answered with ends Failed.
    const op = await call(emu, 'GET', new URL(String(put.headers['azure-asyncoperation'])).pathname + new URL(String(put.headers['azure-asyncoperation'])).search);
    expect(op.body.status).toBe('Failed');
    expect(op.body.error.code).toBeDefined();
  });

  test(`${v === '2023-05-01' ? 'List' : 'ListByResourceGroup'}: 200 {value: [...]}, no group instance view; container instance views as the ${v === '2023-05-01' ? '2023-05-01 List' : '2022-09-01 ListByResourceGroup'} example`, async () => {
    const path = v === '2023-05-01' ? `/subscriptions/${emu.subscriptionId}/providers/Microsoft.ContainerInstance/containerGroups${q}` : `${base()}${q}`;
    const r = await call(emu, 'GET', path);
    expect(STATUS.list).toContain(r.status);
    expect(Array.isArray(r.body.value)).toBe(true);
    const g = r.body.value.find((x: any) => x.name === 'demo1');
    expect(g.properties.instanceView).toBeUndefined();
    const civ = g.properties.containers[0].properties.instanceView;
    if (v === '2023-05-01') expect(civ).toMatchObject({ restartCount: 0, currentState: { state: 'Running' } });
    else expect(civ).toBeUndefined();
    expectNoSecrets(r);
  });

  test('Update (PATCH tags): 200 with the whole group and the new tags', async () => {
    const r = await call(emu, 'PATCH', `${base()}/demo1${q}`, { tags: { tag1key: 'tag1Value', tag2key: 'tag2Value' } });
    expect(STATUS.patch).toContain(r.status);
    expect(r.body.tags).toEqual({ tag1key: 'tag1Value', tag2key: 'tag2Value' });
    expect(r.body.properties.containers[0].name).toBe('demo1');
    expectNoSecrets(r);
  });

  test('ListLogs: 200 {content: string} with tail', async () => {
    const r = await call(emu, 'GET', `${base()}/demo1/containers/demo1/logs${q}&tail=10`);
    expect(STATUS.logs).toContain(r.status);
    expect(typeof r.body.content).toBe('string');
  });

  test('Stop 204, Start 202 (+ Azure-AsyncOperation) or 204, Restart 204', async () => {
    const stop = await call(emu, 'POST', `${base()}/demo1/stop${q}`);
    expect(STATUS.stop).toContain(stop.status);
    const start = await call(emu, 'POST', `${base()}/demo1/start${q}`);
    expect(STATUS.start).toContain(start.status);
    if (start.status === 202) expect(start.headers['azure-asyncoperation']).toBeDefined();
    await sleep(60);
    const restart = await call(emu, 'POST', `${base()}/demo1/restart${q}`);
    expect(STATUS.restart).toContain(restart.status);
  });

  test('Delete: 200/202 (+ Azure-AsyncOperation when 202), then 204 once gone', async () => {
    await sleep(60);
    const r = await call(emu, 'DELETE', `${base()}/demo1${q}`);
    expect(STATUS.delete).toContain(r.status);
    if (r.status === 202) expect(r.headers['azure-asyncoperation']).toBeDefined();
    let gone: Res;
    for (;;) {
      gone = await call(emu, 'DELETE', `${base()}/demo1${q}`);
      if (gone.status === 204) break;
      await sleep(20);
    }
    expect(gone.status).toBe(204);
    const get = await call(emu, 'GET', `${base()}/demo1${q}`);
    expect(get.status).toBe(404);
    expect(get.body.error.code).toBe('ResourceNotFound');
  });

  test('ARM-style validation: a missing osType and an invalid restartPolicy are InvalidRequestContent in the deserializer wording', async () => {
    const body = createBody() as any;
    delete body.properties.osType;
    const missing = await call(emu, 'PUT', `${base()}/bad1${q}`, body);
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe('InvalidRequestContent');
    expect(missing.body.error.message).toBe("The request content was invalid and could not be deserialized: 'Required property 'osType' not found in JSON. Path 'properties'.'.");
    const bad = createBody() as any;
    bad.properties.restartPolicy = 'Sometimes';
    const invalid = await call(emu, 'PUT', `${base()}/bad2${q}`, bad);
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.message).toBe(`The request content was invalid and could not be deserialized: 'Error converting value "Sometimes" to type 'ContainerGroupRestartPolicy'. Path 'properties.restartPolicy'.'.`);
    expect(missing.text).not.toContain('undefined');
  });
});

test('api-versions outside the served stable ones are refused with NoRegisteredProviderFound, listing the supported ones', async () => {
  const emu = await startEmulator({ runtime: 'simulate' });
  try {
    const r = await call(emu, 'GET', `/subscriptions/${emu.subscriptionId}/resourceGroups/demo/providers/Microsoft.ContainerInstance/containerGroups?api-version=2021-09-01`);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('NoRegisteredProviderFound');
    for (const v of API_VERSIONS) expect(r.body.error.message).toContain(v);
  } finally {
    await emu.close();
  }
});
