/** Pure pieces of the API: selectors, schema conversion and pruning, tables, patches, the watch hub, token and kubeconfig files. */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { writeKubeconfig } from '../../src/apiserver/kubeconfig';
import { removeFinalizer } from '../../src/apiserver/finalizers';
import { mergePatch } from '../../src/apiserver/patch';
import { jobSchemaFrom, loadJobSchema, pruneUnknown } from '../../src/apiserver/schema';
import { matchLabels, parseFieldSelector, parseLabelSelector } from '../../src/apiserver/selectors';
import { pointerToFieldPath } from '../../src/apiserver/status';
import { humanDuration } from '../../src/apiserver/table';
import { loadOrCreateToken } from '../../src/apiserver/token';
import { WatchHub } from '../../src/apiserver/watch';
import { MemoryStore } from '../../src/store/memory';
import { jobObject } from './harness';

describe('label selectors', () => {
  const labels = { team: 'data', tier: 'gold' };
  test.each([
    ['', true],
    ['team=data', true],
    ['team==data', true],
    ['team!=data', false],
    ['team!=web', true],
    ['absent!=x', true],
    ['team in (web, data)', true],
    ['team notin (web,data)', false],
    ['team,tier=gold', true],
    ['!team', false],
    ['!absent', true],
    ['absent', false],
    ['team=data,tier in (silver)', false],
    ['example.com/key in (a)', false],
  ])('%s → %s', (selector, expected) => {
    expect(matchLabels(parseLabelSelector(selector), labels)).toBe(expected);
  });
  test.each(['==', 'team in (a', 'a b c', 'te am=x', ',x'])('rejects %j', (selector) => {
    expect(() => parseLabelSelector(selector)).toThrow(expect.objectContaining({ code: 400 }));
  });
  test('an empty value is a value', async () => {
    expect(matchLabels(parseLabelSelector('team='), { team: '' })).toBe(true);
    expect(matchLabels(parseLabelSelector('team='), { team: 'x' })).toBe(false);
  });
  test('field selectors accept only supported fields', async () => {
    expect(parseFieldSelector('metadata.name=x,metadata.name!=y', ['metadata.name'])).toEqual([
      { field: 'metadata.name', equal: true, value: 'x' },
      { field: 'metadata.name', equal: false, value: 'y' },
    ]);
    expect(() => parseFieldSelector('spec.schedule=x', ['metadata.name'])).toThrow(/not supported/);
  });
});

test('pointers become Kubernetes field paths', async () => {
  expect(pointerToFieldPath('/spec/template/containers/0/image')).toBe('spec.template.containers[0].image');
  expect(pointerToFieldPath('/metadata/labels/a~1b')).toBe('metadata.labels["a/b"]');
  expect(pointerToFieldPath('')).toBe('');
});

test('HumanDuration like kubectl', async () => {
  expect([5e3, 119e3, 125e3, 600e3, 3 * 3600e3 + 60e3, 7 * 3600e3 + 30 * 60e3, 30 * 3600e3, 3 * 86400e3 + 3600e3, 40 * 86400e3, 800 * 86400e3].map(humanDuration)).toEqual([
    '5s', '119s', '2m5s', '10m', '3h1m', '7h30m', '30h', '3d1h', '40d', '2y70d',
  ]);
});

test('merge patch follows RFC 7386', async () => {
  expect(mergePatch({ a: 1, b: { c: 2, d: 3 }, e: [1] }, { a: null, b: { c: 9 }, e: [2], f: 'x' })).toEqual({ b: { c: 9, d: 3 }, e: [2], f: 'x' });
});

describe('schema conversion', () => {
  const schema = loadJobSchema();
  test('the real schema loads and is structural', async () => {
    expect(schema.file).toMatch(/containerjob\.v1\.schema\.json$/);
    const text = JSON.stringify(schema.spec);
    expect(text).not.toMatch(/"\$ref"|"oneOf"|"anyOf"|"allOf"|"const"/);
    expect(schema.spec.properties?.schedule?.description).toMatch(/Cron/);
    expect(schema.spec.properties?.schedule?.nullable).toBe(true);
    expect(schema.spec.properties?.concurrencyPolicy?.type).toBe('string');
  });
  test('pruning finds unknown fields at every depth and keeps maps', async () => {
    const spec = jobObject('x').spec;
    spec.oops = 1;
    spec.template.tags = { anything: 'goes' };
    spec.template.containers[0].environmentVariables = [{ name: 'A', secureValueFrom: { env: 'A', extra: true } }];
    const { pruned, unknown } = pruneUnknown(spec, schema.spec, 'spec');
    expect(unknown.sort()).toEqual(['spec.oops', 'spec.template.containers[0].environmentVariables[0].secureValueFrom.extra']);
    expect((pruned as any).template.tags).toEqual({ anything: 'goes' });
    expect((pruned as any).oops).toBeUndefined();
  });
  test('combinators, refs and nullable types are flattened', async () => {
    const s = jobSchemaFrom({
      $defs: { Ref: { oneOf: [{ type: 'object', properties: { env: { type: 'string' } }, required: ['env'] }, { type: 'object', properties: { file: { type: 'string' } }, required: ['file'] }] } },
      properties: { spec: { type: 'object', properties: { r: { $ref: '#/$defs/Ref', description: 'a ref' }, n: { type: ['integer', 'null'] }, k: { const: 'X' } } } },
    });
    expect(s.spec.properties!.r).toMatchObject({ type: 'object', description: 'a ref', properties: { env: { type: 'string' }, file: { type: 'string' } } });
    expect(s.spec.properties!.r!.required).toBeUndefined();
    expect(s.spec.properties!.n).toEqual({ type: 'integer', nullable: true });
    expect(s.spec.properties!.k).toEqual({ type: 'string', enum: ['X'] });
  });
});

test('the watch hub answers "gone" once history no longer reaches back', async () => {
  const store = new MemoryStore();
  const hub = await WatchHub.open(store, 2);
  const job = jobObject('w');
  const put = async () => await store.putJob({ name: 'w', finalizers: [], labels: {}, annotations: {}, spec: job.spec as any, source: { kind: 'api' }, status: {} });
  await put();
  await store.putJobStatus('w', { lastRunResult: 'Failed' });
  expect(hub.since('containerjobs', 0)).not.toBe('gone');
  expect((hub.since('containerjobs', 0) as unknown[]).length).toBe(2);
  await store.putJobStatus('w', { lastRunResult: 'Succeeded' });
  expect(hub.since('containerjobs', 0)).toBe('gone');
  expect(hub.since('containerjobs', 1)).not.toBe('gone');
  await store.deleteJob('w');
  const events = hub.since('containerjobs', 3) as { type: string; object: any }[];
  expect(events.map((e) => e.type)).toEqual(['DELETED']);
  expect(events[0]!.object.job.status.lastRunResult).toBe('Succeeded');
  hub.close();
  await store.close();
});

test('token and kubeconfig files are private; the token is stable', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'acictl-tok-'));
  try {
    const t1 = loadOrCreateToken(join(dir, 'state'));
    expect(t1).toMatch(/^[0-9a-f]{64}$/);
    expect(loadOrCreateToken(join(dir, 'state'))).toBe(t1);
    expect(statSync(join(dir, 'state', 'token')).mode & 0o777).toBe(0o600);
    const file = join(dir, 'state', 'kubeconfig');
    writeKubeconfig(file, 'https://127.0.0.1:1234', t1, '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const kc = parse(readFileSync(file, 'utf8'));
    expect(kc.clusters[0].cluster.server).toBe('https://127.0.0.1:1234');
    expect(Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toContain('BEGIN CERTIFICATE');
    expect(kc.users[0].user.token).toBe(t1);
    expect(kc['current-context']).toBe('acictl');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('removeFinalizer drops the finalizer; the job goes only when it is being deleted and none is left', async () => {
  const store = new MemoryStore();
  const spec = jobObject('f').spec as any;
  await store.putJob({ name: 'f', finalizers: ['acictl.dev/cleanup', 'other/x'], labels: {}, annotations: {}, spec, source: { kind: 'api' }, status: {} });
  expect(await removeFinalizer(store, 'f')).toBe(false);
  expect((await store.getJob('f'))!.finalizers).toEqual(['other/x']);
  const j = (await store.getJob('f'))!;
  const { uid: _u, resourceVersion: _r, generation: _g, creationTimestamp: _c, ...rest } = j;
  await store.putJob({ ...rest, deletionTimestamp: '2026-01-01T00:00:00Z' }, j.resourceVersion);
  expect(await removeFinalizer(store, 'f', 'other/x')).toBe(true);
  expect(await store.getJob('f')).toBeUndefined();
  await store.close();
});
