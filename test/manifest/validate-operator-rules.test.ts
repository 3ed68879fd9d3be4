/**
 * `acictl validate` with the controller's operator flags checks what the controller's admission
 * checks (secret sources, per-source policy), with FILE:LINE:COL at the refused field; without
 * them it stays the offline syntax/schema/semantic check it always was.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../../src/cli/main';
import type { CliContext } from '../../src/cli/context';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'acictl-validate-rules-'));
  mkdirSync(join(tmp, 'jobs/team-a'), { recursive: true });
  mkdirSync(join(tmp, 'secrets'));
  writeFileSync(join(tmp, 'secrets/db'), 'x');
  writeFileSync(
    join(tmp, 'policy.yaml'),
    'sources:\n  - source: jobs/team-a\n    resourceGroups: [team-a]\n    maxCpu: 1\n',
  );
  writeFileSync(
    join(tmp, 'jobs/team-a/jobs.yaml'),
    `apiVersion: acictl.dev/v1
kind: ContainerJob
metadata:
  name: fine
spec:
  template:
    resourceGroup: team-a
    location: eastus
    containers:
      - name: main
        image: busybox
        resources: {requests: {cpu: 0.5, memoryInGB: 0.5}}
        environmentVariables:
          - name: DB
            secureValueFrom: {file: secrets/db}
---
apiVersion: acictl.dev/v1
kind: ContainerJob
metadata:
  name: greedy
spec:
  template:
    resourceGroup: prod-finance
    location: eastus
    containers:
      - name: main
        image: busybox
        resources: {requests: {cpu: 0.5, memoryInGB: 0.5}}
        environmentVariables:
          - name: STEAL
            secureValueFrom: {env: AZURE_CLIENT_SECRET}
`,
  );
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function context(cwd: string): CliContext & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (s) => void out.push(s),
    stderr: (s) => void err.push(s),
    env: { AZURE_CLIENT_SECRET: 'not-for-manifests' },
    cwd,
    stdin: Readable.from([]),
    isTTY: false,
    exitCode: 0,
    shutdown: new Promise(() => undefined),
  };
}

async function run(args: string[]) {
  const ctx = context(tmp);
  const code = await main(['node', 'acictl', 'validate', ...args], ctx);
  return { code, out: ctx.out.join(''), err: ctx.err.join('') };
}

test('without operator flags: schema and semantics only (both jobs valid)', async () => {
  const r = await run(['jobs']);
  expect(r.out.split('\n').filter((l) => l.includes(': error:'))).toEqual([]);
  expect(r.err).toMatch(/^1 file, 2 valid jobs: 0 errors/);
  expect(r.code).toBe(0);
});

test('with --policy and --secrets-dir: the policy and the secret-source rules at their lines; the other job stays valid', async () => {
  const r = await run(['jobs', '--policy', 'policy.yaml', '--secrets-dir', 'secrets']);
  const errors = r.out.split('\n').filter((l) => l.includes(': error:'));
  expect(errors).toEqual([
    expect.stringMatching(/^jobs\/team-a\/jobs\.yaml:23:20: error: .*resource group prod-finance is not allowed \(allowed: team-a\)/),
    expect.stringMatching(/^jobs\/team-a\/jobs\.yaml:31:30: error: secret reference refused: .*AZURE_CLIENT_SECRET holds the controller's own credentials/),
  ]);
  expect(r.err).toMatch(/^1 file, 1 valid job: 2 errors/);
  expect(r.code).toBe(1);
  expect(r.out + r.err).not.toContain('not-for-manifests');
});

test('-o json lists the refused job as invalid and the valid one', async () => {
  const r = await run(['jobs', '-o', 'json', '--policy', 'policy.yaml', '--secrets-dir', 'secrets']);
  const j = JSON.parse(r.out);
  expect(j.valid).toBe(false);
  expect(j.jobs.map((x: { name: string }) => x.name)).toEqual(['fine']);
  expect(j.diagnostics.filter((d: { severity: string }) => d.severity === 'error').map((d: { pointer: string }) => d.pointer)).toEqual(['/spec/template/resourceGroup', '/spec/template/containers/0/environmentVariables/0/secureValueFrom']);
});

test('a {file} reference without --secrets-dir is refused once operator rules apply; a bad policy file is a usage error', async () => {
  const r = await run(['jobs', '--secret-env-prefix', 'ACICTL_SECRET_']);
  expect(r.out).toMatch(/jobs\.yaml:15:\d+: error: .*secrets-dir/);
  expect(r.code).toBe(1);
  writeFileSync(join(tmp, 'bad-policy.yaml'), 'sources: 3\n');
  const bad = await run(['jobs', '--policy', 'bad-policy.yaml']);
  expect(bad.err).toContain('--policy: policy file');
  expect(bad.code).toBe(2);
});
