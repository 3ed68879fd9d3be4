/**
 * End-to-end against a real controller process: `acictl controller --emulator` (the local ARM
 * emulator with the process runtime) on 127.0.0.1:0, found by the CLI through the kubeconfig it
 * writes into the state dir. Proves the acceptance items on the real thing: apply/get/
 * describe/run/logs -f/suspend/resume/delete, diff exit codes with a sentinel secret, apply --prune
 * set isolation with a directory job, wrong token and controller down.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CliProcess, CliResult, ensureBuilt, jobYaml, runCli, spawnCli, tmpDir } from './harness';

const SENTINEL = 'S3NTINEL-controller-secret-value';

let tmp: { dir: string; cleanup(): void };
let controller: CliProcess;
let stateDir: string;

function acictl(args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return runCli([...args, '--state-dir', stateDir], { ...opts, cwd: tmp.dir });
}

function write(name: string, text: string): string {
  const file = path.join(tmp.dir, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

function slowJob(name: string, lines: number, labels?: Record<string, string>): string {
  return jobYaml(name, { labels })
    .replace('  schedule: "@daily"\n', '')
    .replace('command: ["/bin/sh", "-c", "echo hello"]', `command: ["/bin/sh", "-c", "for i in $(seq 1 ${lines}); do echo line $i; sleep 1; done"]`);
}

beforeAll(async () => {
  ensureBuilt();
  tmp = tmpDir('acictl-cli-ctl-');
  stateDir = path.join(tmp.dir, 'state');
  write('manifests/dir-job.yaml', jobYaml('dir-job', { labels: { 'acictl.dev/applyset': 'team-a' } }));
  controller = spawnCli(['controller', '--emulator', '--state-dir', stateDir, '--listen', '127.0.0.1:0', '--manifests', path.join(tmp.dir, 'manifests')], {
    cwd: tmp.dir,
    env: { ACICTL_SECRET_CTL_DB_PASSWORD: SENTINEL },
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (controller.child.exitCode !== null) throw new Error(`controller exited: ${controller.stderr}`);
    if (existsSync(path.join(stateDir, 'kubeconfig')) && (await acictl(['get', 'job', 'dir-job', '-o', 'name'])).code === 0) break;
    if (Date.now() > deadline) throw new Error(`controller did not come up:\n${controller.stdout}\n${controller.stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}, 30_000);

afterAll(async () => {
  if (controller && controller.child.exitCode === null) {
    controller.child.kill('SIGTERM');
    await controller.done;
  }
  tmp?.cleanup();
});

it('apply, run, logs -f streaming until the run ends, get runs, describe', async () => {
  let r = await acictl(['apply', '-f', write('api/slow.yaml', slowJob('slow-job', 3))]);
  expect(r.stdout).toBe('containerjob/slow-job created\n');
  expect(r.code).toBe(0);

  r = await acictl(['run', 'slow-job']);
  expect(r.code).toBe(0);
  const runName = r.stdout.trim();
  expect(runName).toMatch(/^slow-job-m\d{14}$/);

  const started = Date.now();
  const follow = spawnCli(['logs', 'slow-job', '-f', '--state-dir', stateDir], { cwd: tmp.dir });
  await follow.waitFor(/line 1\n/, 20_000);
  const firstLineAt = Date.now();
  expect(follow.stdout).not.toContain('line 3');
  const done = await follow.done;
  const endedAt = Date.now();
  expect(done.stdout).toBe('line 1\nline 2\nline 3\n');
  expect(done.code).toBe(0);
  // lines arrived while the container ran (≈1 s apart), and the stream ended with the run
  expect(endedAt - firstLineAt).toBeGreaterThanOrEqual(1000);
  expect(endedAt - started).toBeLessThan(20_000);

  r = await acictl(['get', 'runs', 'slow-job']);
  expect(r.stdout).toMatch(new RegExp(`\\n${runName}\\s+slow-job\\s+manual\\s+1\\s+Succeeded\\s+0\\s+\\d+s\\s+${runName}\\n`));

  r = await acictl(['logs', 'slow-job', '--tail', '1']);
  expect(r.stdout).toBe('line 3\n');

  r = await acictl(['describe', 'job', 'slow-job']);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^Source:\s+API/m);
  expect(r.stdout).toMatch(/^\s+LastRunSucceeded\s+True\s/m);
  expect(r.stdout).toContain(runName);
}, 40_000);

it('get jobs in every format; suspend/resume; directory jobs are read-only', async () => {
  const [table, wide, name, json, yaml] = await Promise.all([
    acictl(['get', 'jobs']),
    acictl(['get', 'jobs', '-o', 'wide']),
    acictl(['get', 'jobs', '-o', 'name']),
    acictl(['get', 'job', 'dir-job', '-o', 'json']),
    acictl(['get', 'cj', 'dir-job', '-o', 'yaml']),
  ]);
  expect(table.stdout).toMatch(/^NAME\s+SCHEDULE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+LAST RESULT\s+NEXT RUN\s+AGE\n/);
  expect(table.stdout).toMatch(/\ndir-job\s+@daily\s+False\s+0\s+<none>\s+<none>\s+in \d+(h|m)/);
  expect(wide.stdout).toMatch(/\ndir-job\s.*\sUTC\s+Forbid\s+PerRun\s+True\s+hello-world:latest\n/);
  expect(name.stdout).toContain('containerjob/dir-job\n');
  expect(JSON.parse(json.stdout).status.source.kind).toBe('directory');
  expect(parseYaml(yaml.stdout).spec.schedule).toBe('@daily');

  expect((await acictl(['suspend', 'dir-job'])).stdout).toBe('containerjob/dir-job suspended\n');
  expect((await acictl(['get', 'job', 'dir-job'])).stdout).toMatch(/\ndir-job\s+@daily\s+True\s+0\s+<none>\s+<none>\s+<suspended>/);
  expect((await acictl(['resume', 'dir-job'])).stdout).toBe('containerjob/dir-job resumed\n');

  const apply = await acictl(['apply', '-f', write('api/dir-copy.yaml', jobYaml('dir-job', { image: 'busybox:2' }))]);
  expect(apply.code).toBe(1);
  expect(apply.stderr).toContain(path.join(tmp.dir, 'manifests/dir-job.yaml'));
  const del = await acictl(['delete', 'job', 'dir-job']);
  expect(del.code).toBe(1);
  expect(del.stderr).toContain('dir-job.yaml');
}, 30_000);

it('diff: 0 on an applied file, 1 after an edit, ≥2 on an invalid file; the secret value never appears', async () => {
  const env = `        environmentVariables:\n          - {name: DB_PASSWORD, secureValueFrom: {env: ACICTL_SECRET_CTL_DB_PASSWORD}}\n`;
  const file = write('api/secret.yaml', jobYaml('secret-job', { extraEnv: env }));
  const envs = { env: { ACICTL_SECRET_CTL_DB_PASSWORD: SENTINEL } };
  expect((await acictl(['apply', '-f', file], envs)).code).toBe(0);
  let r = await acictl(['diff', '-f', file], envs);
  expect([r.code, r.stdout]).toEqual([0, '']);
  write('api/secret.yaml', jobYaml('secret-job', { extraEnv: env, image: 'hello-world:2' }));
  r = await acictl(['diff', '-f', file], envs);
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(/^\+\s+image: hello-world:2$/m);
  const all = [r.stdout, r.stderr, (await acictl(['get', 'job', 'secret-job', '-o', 'yaml'])).stdout, (await acictl(['describe', 'job', 'secret-job'])).stdout];
  expect(all[3]).toContain('DB_PASSWORD=<secret from env ACICTL_SECRET_CTL_DB_PASSWORD>');
  for (const text of all) expect(text).not.toContain(SENTINEL);
  r = await acictl(['diff', '-f', write('api/invalid.yaml', jobYaml('x', { schedule: '61 * * * *' }))]);
  expect(r.code).toBeGreaterThanOrEqual(2);
}, 30_000);

it('apply --prune removes exactly its own set’s vanished jobs; another set and the directory job survive', async () => {
  write('setA/a1.yaml', jobYaml('set-a1'));
  write('setA/a2.yaml', jobYaml('set-a2'));
  write('setB/b1.yaml', jobYaml('set-b1'));
  expect((await acictl(['apply', '-f', 'setA', '--prune', '--applyset', 'team-a'])).stdout).toBe('containerjob/set-a1 created\ncontainerjob/set-a2 created\n');
  expect((await acictl(['apply', '-f', 'setB', '--prune', '--applyset', 'team-b'])).stdout).toBe('containerjob/set-b1 created\n');
  const r = await acictl(['apply', '-f', write('setA-next/a1.yaml', jobYaml('set-a1')), '--prune', '--applyset', 'team-a']);
  expect(r.stdout).toBe('containerjob/set-a1 unchanged\ncontainerjob/set-a2 pruned\n');
  expect(r.code).toBe(0);
  // the controller removes the job once its groups are cleaned up (finalizer)
  const deadline = Date.now() + 10_000;
  let names = '';
  do {
    names = (await acictl(['get', 'jobs', '-o', 'name'])).stdout;
  } while (names.includes('set-a2') && Date.now() < deadline && (await new Promise((res) => setTimeout(res, 200))) === undefined);
  expect(names).not.toContain('containerjob/set-a2\n');
  for (const keep of ['set-a1', 'set-b1', 'dir-job']) expect(names).toContain(`containerjob/${keep}\n`);
}, 30_000);

it('wrong token → exit 3 saying so; controller down → exit 3 naming the address', async () => {
  let r = await acictl(['get', 'jobs', '--token', 'wrong-token']);
  expect(r.code).toBe(3);
  expect(r.stderr).toMatch(/token was rejected/);

  controller.child.kill('SIGTERM');
  await controller.done;
  r = await acictl(['get', 'jobs']);
  expect(r.code).toBe(3);
  expect(r.stderr).toMatch(/^acictl: cannot reach the controller at https?:\/\/127\.0\.0\.1:\d+ \(from .*kubeconfig\): connection refused\n$/);
}, 30_000);
