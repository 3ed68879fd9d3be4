import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkPolicy, registryOf, SourcePolicies } from '../../src/controller/admission';
import type { ContainerJob } from '../../src/api/types';

const ROOT = path.resolve(__dirname, '../..');

test('the documented example policy file loads; sources are matched by directory, api, then default', () => {
  const p = SourcePolicies.load(path.join(ROOT, 'docs/policy.example.yaml'));
  expect(p.policyOf({ file: path.join(ROOT, 'jobs/team-a/x.yaml') })?.policy.maxCpu).toBe(2);
  expect(p.policyOf({ api: true })?.name).toBe('api');
  expect(p.policyOf({ file: '/elsewhere/y.yaml' })?.name).toBe('default');
});

test('a policy file with an unknown field or a wrong type is refused, naming it', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'acictl-policy-'));
  const f = path.join(dir, 'p.yaml');
  writeFileSync(f, 'default: {maxCPU: 2}\n');
  expect(() => SourcePolicies.load(f)).toThrow(/default: unknown field "maxCPU"/);
  writeFileSync(f, 'default: {publicIp: "no"}\n');
  expect(() => SourcePolicies.load(f)).toThrow(/publicIp must be true or false/);
  writeFileSync(f, 'sources: [{resourceGroups: [a]}]\n');
  expect(() => SourcePolicies.load(f)).toThrow(/sources\[0\]\.source must name/);
  rmSync(dir, { recursive: true, force: true });
});

test('registryOf follows the Docker reference rule', () => {
  expect(registryOf('busybox')).toBe('docker.io');
  expect(registryOf('library/busybox:1')).toBe('docker.io');
  expect(registryOf('myacr.azurecr.io/app:1')).toBe('myacr.azurecr.io');
  expect(registryOf('localhost:5000/app')).toBe('localhost:5000');
});

test('checkPolicy: memory and GPU caps, subnets, locations by normalised name', () => {
  const job = {
    apiVersion: 'acictl.dev/v1',
    kind: 'ContainerJob',
    metadata: { name: 'j' },
    spec: {
      template: {
        resourceGroup: 'rg',
        location: 'West Europe',
        subnetIds: [{ id: '/sub/x' }],
        containers: [{ name: 'a', image: 'busybox', resources: { requests: { cpu: 1, memoryInGB: 3, gpu: { count: 1, sku: 'V100' } } } }],
      },
    },
  } as unknown as ContainerJob;
  const msgs = checkPolicy(job, { name: 'src', policy: { locations: ['westeurope'], maxMemoryInGB: 2, maxGpu: 0, subnetIds: ['/sub/y'] } }).map((p) => `${p.pointer} ${p.message}`);
  expect(msgs).toEqual([
    '/spec/template/subnetIds/0/id policy of source src: subnet /sub/x is not allowed',
    '/spec/template/containers policy of source src: 3 GB of memory requested, more than the 2 GB allowed per job',
    '/spec/template/containers policy of source src: 1 GPU requested, more than the 0 allowed per job',
  ]);
});

test('a git:URL source is bound to its checkout root', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'acictl-policy-'));
  const f = path.join(dir, 'p.yaml');
  writeFileSync(f, 'sources:\n  - source: git:https://git.example.com/jobs.git\n    resourceGroups: [from-git]\n');
  const p = SourcePolicies.load(f);
  expect(p.policyOf({ file: '/state/git/jobs-1/root/current/a.yaml' })).toBeNull();
  p.bindGitRoot('https://git.example.com/jobs.git', '/state/git/jobs-1/root');
  expect(p.policyOf({ file: '/state/git/jobs-1/root/current/a.yaml' })?.policy.resourceGroups).toEqual(['from-git']);
  rmSync(dir, { recursive: true, force: true });
});
