import { createSecretKey } from 'node:crypto';
import { specHash, secretDigest, SPEC_HASH_LENGTH } from '../../src/aci/hash';
import { fromArmGroup, fromWire, templateFromArm, toArmGroup, toWire } from '../../src/aci/mapping';
import { classifyChange } from '../../src/aci/classify';
import { envFileSecretSource, mapSecretResolver, collectSecretRefs } from '../../src/aci/secrets';
import { SecretAccess } from '../../src/aci/secret-access';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AciError } from '../../src/aci/types';
import { desiredGroup, fullTemplate, SECRET_VALUES } from './fixtures';

const KEY = Buffer.from('k'.repeat(32));
const secrets = mapSecretResolver(SECRET_VALUES);
const ref = { subscriptionId: 'sub-1', resourceGroup: 'rg1', name: 'g1' };

describe('specHash', () => {
  test('short hex, stable under key order, defaults, ARM spellings and set order', () => {
    const h = specHash(fullTemplate());
    expect(h).toMatch(new RegExp(`^[0-9a-f]{${SPEC_HASH_LENGTH}}$`));
    const t = fullTemplate();
    t.location = 'eastus';
    t.containers.reverse();
    t.containers[1].environmentVariables!.reverse();
    t.containers[1].resources.requests = { memoryInGB: 1.5, cpu: 1.0, gpu: { sku: 'V100', count: 1 } };
    t.containers[1].ports = [{ port: 80 }];
    delete t.containers[1].volumeMounts![0].readOnly;
    t.containers[0].environmentVariables = [];
    expect(specHash(t)).toBe(h);
    const reordered = JSON.parse(JSON.stringify(fullTemplate(), Object.keys(fullTemplate()).reverse().concat(...keysDeep(fullTemplate()))));
    expect(specHash(reordered)).toBe(h);
  });

  test('any real change changes it; so does the secret digest', () => {
    const h = specHash(fullTemplate());
    const t = fullTemplate();
    t.containers[0].image = 'other:1';
    expect(specHash(t)).not.toBe(h);
    expect(specHash(fullTemplate(), { secretDigest: 'abc' })).not.toBe(h);
  });

  test('secretDigest: keyed, changes with a rotated value or a re-pointed reference, reveals no value', () => {
    const d1 = secretDigest(fullTemplate(), secrets, KEY);
    expect(secretDigest(fullTemplate(), secrets, KEY)).toBe(d1);
    expect(secretDigest(fullTemplate(), mapSecretResolver({ ...SECRET_VALUES, 'env:DB_PASSWORD': 'rotated-value' }), KEY)).not.toBe(d1);
    expect(secretDigest(fullTemplate(), secrets, Buffer.from('other key'))).not.toBe(d1);
    const repointed = fullTemplate();
    repointed.containers[0].environmentVariables![1].secureValueFrom = { env: 'ACR_PASSWORD' };
    expect(secretDigest(repointed, secrets, KEY)).not.toBe(d1);
    for (const v of Object.values(SECRET_VALUES)) expect(d1).not.toContain(v);
    expect(specHash(fullTemplate(), { secretDigest: d1 })).not.toBe(specHash(fullTemplate(), { secretDigest: secretDigest(repointed, secrets, KEY) }));
  });

  test('secretDigest: a KeyObject gives the same digests as its bytes; "no secrets" still depends on the key', () => {
    const keyObject = createSecretKey(KEY);
    expect(secretDigest(fullTemplate(), secrets, keyObject)).toBe(secretDigest(fullTemplate(), secrets, KEY));
    const plain = fullTemplate();
    for (const c of plain.containers) c.environmentVariables = (c.environmentVariables ?? []).filter((e) => !e.secureValueFrom);
    plain.imageRegistryCredentials = [];
    plain.volumes = (plain.volumes ?? []).filter((v) => !v.secret && !v.azureFile);
    for (const c of plain.containers) c.volumeMounts = (c.volumeMounts ?? []).filter((m) => plain.volumes!.some((v) => v.name === m.name));
    delete plain.diagnostics;
    expect(collectSecretRefs(plain)).toEqual([]);
    const empty = secretDigest(plain, secrets, keyObject);
    expect(empty).toMatch(/^[0-9a-f]{32}$/);
    expect(secretDigest(plain, secrets, keyObject)).toBe(empty); // the cached value
    expect(secretDigest(plain, secrets, KEY)).toBe(empty);
    expect(secretDigest(plain, secrets, createSecretKey(Buffer.from('other key')))).not.toBe(empty);
    expect(empty).not.toBe(secretDigest(fullTemplate(), secrets, keyObject));
  });
});

function keysDeep(o: unknown): string[] {
  if (Array.isArray(o)) return o.flatMap(keysDeep);
  if (o && typeof o === 'object') return Object.keys(o).reverse().concat(...Object.values(o).map(keysDeep));
  return [];
}

describe('secrets', () => {
  test('envFileSecretSource reads allowed env and files; a missing one names the source, never a value', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'acictl-sec-'));
    writeFileSync(path.join(dir, 'ok'), 'file-value');
    const r = envFileSecretSource({ ACICTL_SECRET_A: 'alpha' }, { access: new SecretAccess({ secretsDirs: [dir] }) });
    await expect(r.read({ env: 'ACICTL_SECRET_A' })).resolves.toBe('alpha');
    await expect(r.read({ file: 'ok' })).resolves.toBe('file-value');
    await expect(r.read({ env: 'ACICTL_SECRET_B' })).rejects.toThrow(/environment variable ACICTL_SECRET_B/);
    const e = await r.read({ file: 'missing' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AciError);
    expect((e as AciError).kind).toBe('SecretMissing');
    expect((e as AciError).message).toMatch(/file missing.*ENOENT/);
    rmSync(dir, { recursive: true, force: true });
  });

  test('collectSecretRefs finds every slot', () => {
    expect(collectSecretRefs(fullTemplate()).map((s) => s.path)).toEqual([
      '/containers/main/environmentVariables/DB_PASSWORD',
      '/imageRegistryCredentials/myregistry.azurecr.io/password',
      '/volumes/data/azureFile/storageAccountKey',
      '/volumes/certs/secret/tls.key',
      '/diagnostics/logAnalytics/workspaceKey',
    ]);
  });
});

describe('toArmGroup / fromArmGroup / templateFromArm', () => {
  const desired = desiredGroup(ref, fullTemplate(), 'ctl-a');
  const body = toArmGroup(desired, secrets);

  test('every template field reaches the body, secrets resolved, run env in every (init) container', () => {
    expect(body.location).toBe('eastus');
    expect(body.tags).toMatchObject({ 'cost-center': '42', 'acictl.dev/managed-by': 'ctl-a' });
    expect(body).toMatchObject({ osType: 'Linux', restartPolicy: 'OnFailure', priority: 'Regular', sku: 'Standard', zones: ['1'] });
    const main = body.containers[0];
    expect(main.resources).toEqual({ requests: { cpu: 1, memoryInGB: 1.5, gpu: { count: 1, sku: 'V100' } }, limits: { cpu: 2, memoryInGB: 3 } });
    expect(main.environmentVariables).toEqual([
      { name: 'MODE', value: 'nightly' },
      { name: 'DB_PASSWORD', secureValue: SECRET_VALUES['env:DB_PASSWORD'] },
      { name: 'ACICTL_ATTEMPT', value: '1' },
      { name: 'ACICTL_JOB', value: 'job1' },
      { name: 'ACICTL_RUN_ID', value: 'g1' },
    ]);
    expect(main.ports).toEqual([{ port: 80, protocol: 'TCP' }]);
    expect(main.volumeMounts).toHaveLength(4);
    expect(body.containers[1].environmentVariables!.map((e) => e.name)).toEqual(['ACICTL_ATTEMPT', 'ACICTL_JOB', 'ACICTL_RUN_ID']);
    expect(body.initContainers![0].environmentVariables!.map((e) => e.name)).toEqual(['STEP', 'ACICTL_ATTEMPT', 'ACICTL_JOB', 'ACICTL_RUN_ID']);
    expect(body.imageRegistryCredentials).toEqual([
      { server: 'myregistry.azurecr.io', username: 'puller', password: SECRET_VALUES['env:ACR_PASSWORD'] },
      { server: 'other.azurecr.io', identity: fullTemplate().imageRegistryCredentials![1].identity },
    ]);
    expect(body.volumes![0].azureFile!.storageAccountKey).toBe(SECRET_VALUES['env:SA_KEY']);
    expect(body.volumes![1].emptyDir).toEqual({});
    expect(Buffer.from(body.volumes![2].secret!['tls.key'], 'base64').toString()).toBe(SECRET_VALUES['file:/run/secrets/tls.key']);
    expect(body.volumes![3].gitRepo).toEqual({ repository: 'https://github.com/example/repo', directory: '.', revision: 'main' });
    expect(body.ipAddress).toEqual({ type: 'Public', ports: [{ port: 80, protocol: 'TCP' }], dnsNameLabel: 'acictl-full' });
    expect(body.dnsConfig).toEqual(fullTemplate().dnsConfig);
    expect(body.diagnostics!.logAnalytics).toEqual({ workspaceId: 'w-123', workspaceKey: SECRET_VALUES['env:LA_KEY'], logType: 'ContainerInstanceLogs' });
    expect(Object.keys(body.identity!.userAssignedIdentities!)).toEqual(fullTemplate().identity!.userAssignedIdentities);
  });

  test('wire form nests properties and round-trips', () => {
    const wire = toWire({ ...body, id: `/subscriptions/sub-1/resourceGroups/rg1/providers/Microsoft.ContainerInstance/containerGroups/g1` }) as Record<string, any>;
    expect(Object.keys(wire).sort()).toEqual(['id', 'identity', 'location', 'properties', 'tags', 'zones']);
    expect(wire.properties.containers[0]).toMatchObject({ name: 'main', properties: { image: 'myregistry.azurecr.io/app:1.2' } });
    expect(wire.properties.initContainers[0]).toMatchObject({ name: 'init', properties: { image: 'busybox:1' } });
    const back = fromWire(wire);
    expect(back.containers[0].image).toBe('myregistry.azurecr.io/app:1.2');
    const t = templateFromArm(back);
    expect(classifyChange(fullTemplate(), t).kind).toBe('none');
    expect(specHash(t)).toBe(specHash(fullTemplate()));
  });

  test('fromArmGroup reads states, exit codes and events; list items have no instance view', () => {
    const id = '/subscriptions/sub-1/resourceGroups/rg1/providers/Microsoft.ContainerInstance/containerGroups/g1';
    const g = fromArmGroup({
      id,
      name: 'g1',
      location: 'East US',
      tags: { a: 'b' },
      osType: 'Linux',
      provisioningState: 'Succeeded',
      containers: [
        { name: 'main', image: 'x', resources: { requests: { cpu: 1, memoryInGB: 1 } }, instanceView: { restartCount: 2, currentState: { state: 'Terminated', exitCode: 3, startTime: new Date('2026-01-01T00:00:00Z'), finishTime: new Date('2026-01-01T00:01:00Z'), detailStatus: 'Error' } } },
      ],
      instanceView: { state: 'Failed', events: [{ type: 'Warning', name: 'Failed', message: 'boom', lastTimestamp: new Date('2026-01-01T00:01:00Z') }] },
    } as any);
    expect(g).toEqual({
      subscriptionId: 'sub-1',
      resourceGroup: 'rg1',
      name: 'g1',
      location: 'eastus',
      tags: { a: 'b' },
      provisioningState: 'Succeeded',
      state: 'Failed',
      containers: [{ name: 'main', state: 'Terminated', exitCode: 3, restartCount: 2, startTime: '2026-01-01T00:00:00.000Z', finishTime: '2026-01-01T00:01:00.000Z', detailStatus: 'Error' }],
      events: [{ type: 'Warning', name: 'Failed', message: 'boom', lastTimestamp: '2026-01-01T00:01:00.000Z' }],
    });
    const listed = fromArmGroup({ id, location: 'eastus', osType: 'Linux', containers: [] } as any);
    expect(listed.state).toBeUndefined();
    expect(listed.containers).toBeUndefined();
  });

  test('a missing secret fails the mapping with SecretMissing', () => {
    expect(() => toArmGroup(desired, mapSecretResolver({}))).toThrow(AciError);
  });
});
