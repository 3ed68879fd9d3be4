/**
 * The real SDK against the emulator: round-trip of every template field, secrets only in the PUT,
 * spec-hash stability, ownership, typed errors and the request count of each operation.
 */
import type { ContainerGroup as ArmGroup } from '@azure/arm-containerinstance';
import { AciContainerGroups } from '../../src/aci/adapter';
import { canonicalTemplate } from '../../src/aci/canonical';
import { classifyChange } from '../../src/aci/classify';
import { specHash } from '../../src/aci/hash';
import { templateFromArm } from '../../src/aci/mapping';
import { AciError } from '../../src/aci/types';
import { TAG_MANAGED_BY } from '../../src/api/names';
import { startEmulator } from '../../src/emulator';
import { makeAdapter, type Emulator, type Exchange } from './emulator-harness';
import { desiredGroup, fullTemplate, minimalTemplate, SECRET_VALUES, type Template } from './fixtures';

let emu: Emulator;
const log: Exchange[] = [];
const warnings: string[] = [];
let aci: AciContainerGroups;
const ref = (name: string, resourceGroup = 'rg1') => ({ subscriptionId: emu.subscriptionId, resourceGroup, name });

/** How each secret appears in a PUT: env/password/key values verbatim, secret-volume files base64. */
const SECRETS_AS_SENT = Object.entries(SECRET_VALUES).map(([k, v]) => (k.startsWith('file:') ? Buffer.from(v).toString('base64') : v));
const SECRET_TEXTS = [...Object.values(SECRET_VALUES), ...SECRETS_AS_SENT];
/** Every GroupTemplate field; subscriptionId is the scope, not part of the group body. */
const ALL_FIELDS = ['containers', 'diagnostics', 'dnsConfig', 'identity', 'imageRegistryCredentials', 'initContainers', 'ipAddress', 'location', 'osType', 'priority', 'resourceGroup', 'restartPolicy', 'sku', 'subnetIds', 'tags', 'volumes', 'zones'];

function privateTemplate(): Template {
  const t = fullTemplate();
  t.ipAddress = { type: 'Private', ports: [{ port: 80, protocol: 'TCP' }], ip: '10.1.0.4' };
  t.subnetIds = [{ id: `/subscriptions/${emu.subscriptionId}/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/v/subnets/s`, name: 's' }];
  delete t.containers[0].resources.requests.gpu;
  t.zones = undefined;
  return t;
}

async function rejected(p: Promise<unknown>): Promise<AciError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AciError) return e;
    throw e;
  }
  throw new Error('expected an AciError');
}

beforeAll(async () => {
  emu = await startEmulator({ runtime: 'simulate', simulate: { durationMs: 60_000 }, pageSize: 2, lroDelayMs: 20 });
  aci = makeAdapter(emu, 'ctl-a', log, { logger: { warn: (o, m) => warnings.push(JSON.stringify(o) + (m ?? '')) } });
});

afterAll(async () => {
  await emu?.close();
});

describe.each([
  ['public IP, GPU, zones', () => fullTemplate()],
  ['private IP, subnet', () => privateTemplate()],
])('round trip (%s)', (_label, make) => {
  let manifest: Template;
  let arm: ArmGroup;
  let putBody: string;
  const name = `rt-${_label.startsWith('public') ? 'pub' : 'priv'}`;

  beforeAll(async () => {
    manifest = make();
    const from = log.length;
    await aci.createOrUpdate(desiredGroup(ref(name), manifest, 'ctl-a'), { ifNoneMatch: true });
    const puts = log.slice(from).filter((x) => x.method === 'PUT');
    expect(puts).toHaveLength(1);
    putBody = puts[0].requestBody!;
    arm = await aci.client().containerGroups.get('rg1', name);
  });

  test('secrets are in the PUT', () => {
    const body = JSON.parse(putBody);
    const main = body.properties.containers.find((c: { name: string }) => c.name === 'main');
    expect(main.properties.environmentVariables).toContainEqual({ name: 'DB_PASSWORD', secureValue: SECRET_VALUES['env:DB_PASSWORD'] });
    for (const s of SECRETS_AS_SENT) expect(putBody).toContain(s);
  });

  test('every field reads back as written (field by field, canonical form)', () => {
    const observed = templateFromArm(arm);
    const want = canonicalTemplate(manifest, { maskSecretRefs: true });
    const got = canonicalTemplate(observed, { maskSecretRefs: true });
    const fields = Object.keys(want);
    expect(fields.length).toBe(16);
    for (const f of fields) expect({ field: f, value: got[f] }).toEqual({ field: f, value: want[f] });
    expect(Object.keys(got).sort()).toEqual(fields.sort());
  });

  test('ownership tags and run env are on the group, not in the observed template', () => {
    expect(arm.tags![TAG_MANAGED_BY]).toBe('ctl-a');
    expect(arm.containers[0].environmentVariables!.map((e) => e.name)).toContain('ACICTL_RUN_ID');
    expect(arm.initContainers![0].environmentVariables!.map((e) => e.name)).toContain('ACICTL_JOB');
    const observed = templateFromArm(arm);
    expect(JSON.stringify(observed)).not.toContain('ACICTL_');
    expect(JSON.stringify(observed)).not.toContain('acictl.dev/');
  });

  test('spec hash and classification are stable against the read-back (server defaults filled in)', () => {
    const observed = templateFromArm(arm);
    expect(classifyChange(manifest, observed)).toEqual({ kind: 'none', fields: [], changed: [] });
    expect(classifyChange(observed, manifest).kind).toBe('none');
    expect(specHash(observed)).toBe(specHash(manifest));
  });
});

test('the two round-trip templates cover every template field', () => {
  const covered = new Set([...Object.keys(canonicalTemplate(fullTemplate())), ...Object.keys(canonicalTemplate(privateTemplate()))]);
  expect([...covered].sort()).toEqual(ALL_FIELDS);
});

describe('secrets never leave the PUT', () => {
  test('absent from every response, list, error message and log line', async () => {
    await aci.listOwned({ subscriptionId: emu.subscriptionId, resourceGroup: 'rg1' });
    await aci.get(ref('rt-pub'));
    // An error on a request that carries secrets: an immutable change.
    const changed = fullTemplate();
    changed.restartPolicy = 'Never';
    const err = await rejected(aci.createOrUpdate(desiredGroup(ref('rt-pub'), changed, 'ctl-a')));
    expect(err).toMatchObject({ kind: 'Invalid', code: 'InvalidContainerGroupUpdate' });
    const texts = [
      ...log.map((x) => x.responseBody ?? ''),
      ...log.filter((x) => x.method !== 'PUT').map((x) => x.requestBody ?? ''),
      err.message,
      JSON.stringify(err),
      ...warnings,
    ];
    expect(log.some((x) => x.method === 'GET' && x.url.includes('/containerGroups?'))).toBe(true);
    for (const t of texts) for (const s of SECRET_TEXTS) expect(t).not.toContain(s);
  });
});

describe('operations', () => {
  test('createOrUpdate with ifNoneMatch is GET (is the name free?) + PUT; the same create again is adopted; another run under the name is Conflict, no PUT', async () => {
    const from = log.length;
    const gets = emu.stats().requests.get ?? 0;
    const g = await aci.createOrUpdate(desiredGroup(ref('op-1'), minimalTemplate(), 'ctl-a'), { ifNoneMatch: true });
    expect(g.name).toBe('op-1');
    expect(g.tags[TAG_MANAGED_BY]).toBe('ctl-a');
    // The 404 GET surfaces as an error inside the pipeline, before the spy logs it: count it at the emulator.
    expect(emu.stats().requests.get).toBe(gets + 1);
    expect(log.slice(from).map((x) => `${x.method} ${x.status}`)).toEqual(['PUT 201']);
    const again = log.length;
    const same = await aci.createOrUpdate(desiredGroup(ref('op-1'), minimalTemplate(), 'ctl-a'), { ifNoneMatch: true });
    expect(same.name).toBe('op-1');
    expect(log.slice(again).map((x) => `${x.method} ${x.status}`)).toEqual(['GET 200']);
    const third = log.length;
    const err = await rejected(aci.createOrUpdate(desiredGroup(ref('op-1'), minimalTemplate(), 'ctl-a', { 'acictl.dev/run': 'another-run' }), { ifNoneMatch: true }));
    expect(err.kind).toBe('Conflict');
    expect(log.slice(third).map((x) => x.method)).toEqual(['GET']);
  });

  test('an in-place update is GET (ownership) + PUT', async () => {
    const t = minimalTemplate();
    t.containers[0].image = 'busybox:2';
    const from = log.length;
    await aci.createOrUpdate(desiredGroup(ref('op-1'), t, 'ctl-a'));
    expect(log.slice(from).map((x) => `${x.method} ${x.status}`)).toEqual(['GET 200', 'PUT 200']);
    const back = await aci.client().containerGroups.get('rg1', 'op-1');
    expect(back.containers[0].image).toBe('busybox:2');
  });

  test('get reads the instance view; NotFound for an absent group; logs; stop and start', async () => {
    let g = await aci.get(ref('op-1'));
    for (let i = 0; i < 50 && g.state !== 'Running'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      g = await aci.get(ref('op-1'));
    }
    expect(g.state).toBe('Running');
    expect(g.containers![0]).toMatchObject({ name: 'main', state: 'Running' });
    expect((await rejected(aci.get(ref('absent')))).kind).toBe('NotFound');
    expect(typeof (await aci.logs(ref('op-1'), 'main', { tail: 10 }))).toBe('string');
    await aci.stop(ref('op-1'));
    expect((await aci.get(ref('op-1'))).state).toBe('Stopped');
    const from = log.length;
    await aci.start(ref('op-1'));
    expect(log.slice(from).map((x) => `${x.method} ${x.status}`)).toEqual(['GET 200', 'POST 202']);
  });

  test('delete: GET + DELETE; absent is success', async () => {
    const from = log.length;
    await aci.delete(ref('op-1'));
    expect(log.slice(from).map((x) => x.method)).toEqual(['GET', 'DELETE']);
    await aci.delete(ref('op-1')); // gone or going: either way success
    await aci.delete(ref('never-existed'));
  });

  test('a missing secret fails before any request', async () => {
    const bare = makeAdapter(emu, 'ctl-a', log, { secrets: { resolve: () => { throw new AciError('SecretMissing', 'secret environment variable DB_PASSWORD is not set'); } } });
    const from = log.length;
    const err = await rejected(bare.createOrUpdate(desiredGroup(ref('nosecret'), fullTemplate(), 'ctl-a')));
    expect(err.kind).toBe('SecretMissing');
    expect(log.length).toBe(from);
  });
});

describe('ownership', () => {
  beforeAll(async () => {
    const raw = aci.client();
    const unmanaged: ArmGroup = {
      location: 'eastus',
      osType: 'Linux',
      restartPolicy: 'Never',
      tags: { owner: 'someone-else' },
      containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: 0.5, memoryInGB: 0.5 } } }],
    };
    await raw.containerGroups.beginCreateOrUpdateAndWait('own', 'theirs', unmanaged, { updateIntervalInMs: 20 });
    await raw.containerGroups.beginCreateOrUpdateAndWait('own', 'other-ctl', { ...unmanaged, tags: { [TAG_MANAGED_BY]: 'ctl-b' } }, { updateIntervalInMs: 20 });
    for (const n of ['m1', 'm2', 'm3']) {
      await aci.createOrUpdate(desiredGroup(ref(n, 'own'), minimalTemplate({ resourceGroup: 'own' }), 'ctl-a'), { ifNoneMatch: true });
    }
  });

  test('listOwned follows every page and returns only our groups, without instance view', async () => {
    const from = log.length;
    const owned = await aci.listOwned({ subscriptionId: emu.subscriptionId, resourceGroup: 'own' });
    expect(owned.map((g) => g.name).sort()).toEqual(['m1', 'm2', 'm3']);
    expect(owned.every((g) => g.state === undefined)).toBe(true);
    // 5 groups at page size 2: three pages.
    expect(log.slice(from).filter((x) => x.method === 'GET')).toHaveLength(3);
    const other = makeAdapter(emu, 'ctl-b', []);
    expect((await other.listOwned({ subscriptionId: emu.subscriptionId, resourceGroup: 'own' })).map((g) => g.name)).toEqual(['other-ctl']);
  });

  test('stop, delete, start and update refuse groups without our tag; they survive', async () => {
    for (const name of ['theirs', 'other-ctl']) {
      const from = log.length;
      for (const op of [
        () => aci.stop(ref(name, 'own')),
        () => aci.delete(ref(name, 'own')),
        () => aci.start(ref(name, 'own')),
        () => aci.createOrUpdate(desiredGroup(ref(name, 'own'), minimalTemplate({ resourceGroup: 'own' }), 'ctl-a')),
      ]) {
        const e = await rejected(op());
        expect(e.kind).toBe('Forbidden');
        expect(e.message).toContain('not managed by this controller');
      }
      // Only reads were made.
      expect(log.slice(from).every((x) => x.method === 'GET')).toBe(true);
      const g = await aci.client().containerGroups.get('own', name);
      expect(g.provisioningState).not.toBe('Deleting');
    }
  });

  test('delete with observedTags: no ownership GET; tags without our managed-by are refused with no request', async () => {
    for (const name of ['theirs', 'other-ctl']) {
      const g = await aci.get(ref(name, 'own'));
      const from = log.length;
      const e = await rejected(aci.delete(ref(name, 'own'), { observedTags: g.tags }));
      expect(e.kind).toBe('Forbidden');
      expect(log.length).toBe(from);
      expect((await aci.client().containerGroups.get('own', name)).provisioningState).not.toBe('Deleting');
    }
    const mine = await aci.get(ref('m3', 'own'));
    expect(mine.tags[TAG_MANAGED_BY]).toBe('ctl-a');
    const from = log.length;
    await aci.delete(ref('m3', 'own'), { observedTags: mine.tags });
    expect(log.slice(from).map((x) => x.method)).toEqual(['DELETE']);
    // Already gone: NotFound on the DELETE is success.
    await aci.delete(ref('m3', 'own'), { observedTags: mine.tags });
  });
});
