/**
 * Per-source policy (issue 19, acceptance 4): a job outside its source's policy is Invalid naming
 * the rule, keeps its last good spec, and no ARM write is made for it (emulator stats checked);
 * the API, a source with a policy of its own, answers 422.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { cleanupDirs, jobYaml, sleep, startControllerProcess, startTestEmulator, tmp, waitUntil, type ControllerProcess } from './harness';
import type { RunningEmulator } from '../../src/emulator';

jest.setTimeout(90_000);

const API = '/apis/acictl.dev/v1';
const ID_OK = '/subscriptions/s/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ok';
const ID_BAD = '/subscriptions/s/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/other';

let emu: RunningEmulator & { caFilePath: string };
let ctl: ControllerProcess;
let root: string;
let teamA: string;

function job(name: string, o: { rg?: string; image?: string; cpu?: number; identity?: string; publicIp?: boolean } = {}): string {
  let y = jobYaml(name, { schedule: null, rg: o.rg ?? 'team-a' });
  if (o.image) y = y.replace('image: busybox', `image: ${o.image}`);
  if (o.cpu) y = y.replace('cpu: 0.5', `cpu: ${o.cpu}`);
  if (o.identity) y = y.replace('    containers:\n', `    identity: {type: UserAssigned, userAssignedIdentities: [${o.identity}]}\n    containers:\n`);
  if (o.publicIp) y = y.replace('        resources:', '        ports: [{port: 80}]\n        resources:').replace('    containers:\n', '    ipAddress: {type: Public, ports: [{port: 80}]}\n    containers:\n');
  return y;
}

beforeAll(async () => {
  root = tmp('acictl-e2e-policy-');
  teamA = path.join(root, 'team-a');
  mkdirSync(teamA);
  writeFileSync(
    path.join(root, 'policy.yaml'),
    `# who may use what, per source
sources:
  - source: team-a            # a --manifests directory, relative to this file
    resourceGroups: [team-a]
    locations: [East US]
    registries: [docker.io, teamacr.azurecr.io]
    identities: [${ID_OK}]
    maxCpu: 1
    maxMemoryInGB: 2
    publicIp: false
  - source: api
    resourceGroups: [api-only]
`,
  );
  writeFileSync(path.join(teamA, 'kept.yaml'), job('kept', { identity: ID_OK }));
  emu = await startTestEmulator();
  ctl = startControllerProcess(emu, { manifests: [teamA], args: ['--policy', path.join(root, 'policy.yaml')] });
  await ctl.ready(30_000);
  await waitUntil('kept to be Ready', async () => (await ctl.job('kept'))?.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready'), 20_000, 100);
});

afterAll(async () => {
  await ctl?.stop();
  await emu?.close();
  cleanupDirs(root);
});

test('a job that leaves its policy is Invalid naming the rule, keeps its last good spec, and costs no ARM write', async () => {
  const before = emu.stats();
  writeFileSync(path.join(teamA, 'kept.yaml'), job('kept', { rg: 'prod-finance', identity: ID_OK }));
  const invalid = await waitUntil(
    'kept to be Invalid',
    async () => (await ctl.job('kept'))?.status?.conditions?.find((c: { type: string; status: string }) => c.type === 'Invalid' && c.status === 'True'),
    20_000,
    100,
  );
  expect(invalid.message).toMatch(/kept\.yaml:\d+:\d+: policy of source .*team-a: resource group prod-finance is not allowed \(allowed: team-a\)/);
  const j = await ctl.job('kept');
  expect(j.spec.template.resourceGroup).toBe('team-a'); // the last good spec
  // A manual run still uses the last good spec (team-a), never the refused one.
  const run = (await ctl.api('POST', `${API}/containerjobs/kept/trigger`)).body.run as string;
  await waitUntil('the run to finish', async () => ['Succeeded', 'Failed'].includes((await ctl.api('GET', `${API}/containerjobruns/${run}`)).body?.status?.phase), 30_000, 100);
  const after = emu.stats();
  expect(after.creations.filter((c) => c.resourceGroup === 'prod-finance')).toEqual([]);
  expect(after.creations.slice(before.creations.length).map((c) => c.resourceGroup)).toEqual(['team-a']);
});

test('identity, registry, size and public IP outside the policy: errors at their lines, jobs never created', async () => {
  const writesBefore = emu.stats().writes;
  writeFileSync(path.join(teamA, 'identity.yaml'), job('bad-identity', { identity: ID_BAD }));
  writeFileSync(path.join(teamA, 'registry.yaml'), job('bad-registry', { image: 'evil.example.com/miner:1' }));
  writeFileSync(path.join(teamA, 'size.yaml'), job('bad-size', { cpu: 4 }));
  writeFileSync(path.join(teamA, 'public.yaml'), job('bad-public', { publicIp: true }));
  writeFileSync(path.join(teamA, 'fine.yaml'), job('fine', { image: 'teamacr.azurecr.io/app:2' }));
  const expected: [string, RegExp][] = [
    ['identity.yaml', /user-assigned identity .*\/other is not allowed/],
    ['registry.yaml', /image registry evil\.example\.com is not allowed \(allowed: docker\.io, teamacr\.azurecr\.io\)/],
    ['size.yaml', /4 CPU requested, more than the 1 allowed per job/],
    ['public.yaml', /a public IP address is not allowed/],
  ];
  const found = await waitUntil(
    'four policy errors',
    () => {
      const errs = ctl.lines().filter((l) => l.level >= 50 && /policy of source/.test(l.msg) && typeof l.file === 'string');
      return expected.every(([f]) => errs.some((e) => (e.file as string).endsWith(f))) ? errs : null;
    },
    20_000,
    100,
  );
  for (const [f, re] of expected) {
    const e = found.find((x) => (x.file as string).endsWith(f))!;
    expect([f, e.msg]).toEqual([f, expect.stringMatching(re)]);
    expect(e.line).toBeGreaterThan(1);
  }
  await waitUntil('fine to be stored', () => ctl.job('fine'), 20_000, 100);
  for (const n of ['bad-identity', 'bad-registry', 'bad-size', 'bad-public']) expect(await ctl.job(n)).toBeNull();
  await sleep(500);
  const stats = emu.stats();
  expect(stats.creations.filter((c) => c.name.startsWith('bad-'))).toEqual([]);
  expect(stats.writes).toBe(writesBefore); // manual-only jobs: nothing to write at all
});

test('the API is a source with its own policy: 422 naming the rule', async () => {
  const body = (rg: string) => ({
    apiVersion: 'acictl.dev/v1',
    kind: 'ContainerJob',
    metadata: { name: `api-${rg}` },
    spec: { template: { resourceGroup: rg, location: 'eastus', containers: [{ name: 'main', image: 'busybox', resources: { requests: { cpu: 0.5, memoryInGB: 0.5 } } }] } },
  });
  const r = await ctl.api('POST', `${API}/containerjobs`, body('team-a'));
  expect(r.status).toBe(422);
  expect(r.text).toMatch(/policy of source api: resource group team-a is not allowed \(allowed: api-only\)/);
  expect((await ctl.api('POST', `${API}/containerjobs`, body('api-only'))).status).toBe(201);
});
