/**
 * End-to-end: the real `acictl` binary (bin/acictl.js, Node 24) against the real HTTP API server
 * started in-process on 127.0.0.1:0 with a MemoryStore and the real manifest validator. Every
 * client command and output format, with the printed results and exit codes.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CliResult, TestServer, ensureBuilt, jobObject, jobYaml, run, runCli, spawnCli, startTestServer, tmpDir } from './harness';

let server: TestServer;
let tmp: { dir: string; cleanup(): void };

function acictl(args: string[], opts: { stdin?: string; env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
  return runCli([...args, '--server', server.url, '--token', server.token], { ...opts, cwd: opts.cwd ?? tmp.dir });
}

function write(name: string, text: string): string {
  const file = path.join(tmp.dir, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

beforeAll(async () => {
  ensureBuilt();
  server = await startTestServer();
  tmp = tmpDir();
});

afterAll(async () => {
  await server?.close();
  tmp?.cleanup();
});

describe('apply', () => {
  it('creates, leaves unchanged, and configures; from a file and from stdin', async () => {
    const f = write('apply/one.yaml', jobYaml('apply-a'));
    let r = await acictl(['apply', '-f', f]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('containerjob/apply-a created\n');
    expect(r.code).toBe(0);

    r = await acictl(['apply', '-f', f]);
    expect(r.stdout).toBe('containerjob/apply-a unchanged\n');
    expect(r.code).toBe(0);

    r = await acictl(['apply', '-f', '-'], { stdin: jobYaml('apply-a', { image: 'busybox:1.36' }) });
    expect(r.stdout).toBe('containerjob/apply-a configured\n');
    expect(r.code).toBe(0);
    expect((await server.store.getJob('apply-a'))!.spec.template.containers[0].image).toBe('busybox:1.36');
    // the controller's cleanup finalizer survives a PUT
    expect((await server.store.getJob('apply-a'))!.finalizers).toEqual(['acictl.dev/cleanup']);
  });

  it('reads a directory (-R for subdirectories) and supports --dry-run', async () => {
    write('tree/a.yaml', jobYaml('tree-a'));
    write('tree/sub/b.yml', `${jobYaml('tree-b')}---\n${jobYaml('tree-c')}`);
    let r = await acictl(['apply', '-f', path.join(tmp.dir, 'tree'), '--dry-run']);
    expect(r.stdout).toBe('containerjob/tree-a created (server dry run)\n');
    expect(await server.store.getJob('tree-a')).toBeUndefined();
    r = await acictl(['apply', '-f', 'tree', '-R']);
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['containerjob/tree-a created', 'containerjob/tree-b created', 'containerjob/tree-c created']);
    expect(r.code).toBe(0);
  });

  it('rejects an invalid file locally with FILE:LINE:COL and exit 1, sending nothing', async () => {
    const bad = write('bad/typo.yaml', jobYaml('bad-one').replace('  schedule:', '  schedul:'));
    const r = await acictl(['apply', '-f', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad[/\\]typo\.yaml:\d+:\d+: error: .*schedul/);
    expect(r.stdout).toBe('');
    expect(await server.store.getJob('bad-one')).toBeUndefined();
  });

  it('refuses to change a job that comes from a manifests directory, naming the file (exit 1)', async () => {
    await server.store.putJob({ ...storedFromObject('from-dir'), source: { kind: 'directory', root: '/srv/manifests', file: '/srv/manifests/from-dir.yaml' } });
    const f = write('dir-job.yaml', jobYaml('from-dir', { image: 'other:1' }));
    const r = await acictl(['apply', '-f', f]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('/srv/manifests/from-dir.yaml');
    expect(r.stderr).toMatch(/dir-job\.yaml:1:1: error: containerjob\/from-dir/);
    expect((await server.store.getJob('from-dir'))!.spec.template.containers[0].image).toBe('busybox');
  });

  it('--prune removes exactly its own set’s vanished jobs; other sets and directory jobs survive', async () => {
    write('setA/p1.yaml', jobYaml('prune-a1'));
    write('setA/p2.yaml', jobYaml('prune-a2'));
    write('setB/p3.yaml', jobYaml('prune-b1'));
    expect((await acictl(['apply', '-f', 'setA', '--prune', '--applyset', 'team-a'])).stdout).toBe('containerjob/prune-a1 created\ncontainerjob/prune-a2 created\n');
    expect((await acictl(['apply', '-f', 'setB', '--prune', '--applyset', 'team-b'])).code).toBe(0);
    expect((await acictl(['apply', '-f', write('plain.yaml', jobYaml('prune-none'))])).code).toBe(0);
    // A directory job whose manifest carries set A's label must survive set A's prune.
    await server.store.putJob({ ...storedFromObject('prune-dir', { 'acictl.dev/applyset': 'team-a' }), source: { kind: 'directory', root: '/srv', file: '/srv/prune-dir.yaml' } });
    expect((await server.store.getJob('prune-a2'))!.labels['acictl.dev/applyset']).toBe('team-a');

    // p2 vanishes from set A's input.
    const r = await acictl(['apply', '-f', write('setA2/p1.yaml', jobYaml('prune-a1')), '--prune', '--applyset', 'team-a']);
    expect(r.stdout).toBe('containerjob/prune-a1 unchanged\ncontainerjob/prune-a2 pruned\n');
    expect(r.code).toBe(0);
    const names = (await server.store.listJobs()).filter((j) => !j.deletionTimestamp).map((j) => j.name);
    expect(names).not.toContain('prune-a2');
    expect(names).toEqual(expect.arrayContaining(['prune-a1', 'prune-b1', 'prune-none', 'prune-dir']));
  });

  it('--prune with an empty input refuses instead of deleting the whole set', async () => {
    mkdirSync(path.join(tmp.dir, 'empty'), { recursive: true });
    const r = await acictl(['apply', '-f', 'empty', '--prune', '--applyset', 'team-b']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refusing to prune/);
    expect(await server.store.getJob('prune-b1')).toBeDefined();
  });
});

describe('diff', () => {
  const SENTINEL = 'S3NTINEL-never-print-me';
  const env = `        environmentVariables:\n          - {name: MODE, value: nightly}\n          - {name: DB_PASSWORD, secureValueFrom: {env: DIFF_DB_PASSWORD}}\n`;

  it('exits 0 on an applied file, 1 after an edit (with a unified diff and a plan), 2+ on an invalid file; never prints a secret', async () => {
    const f = write('diff/job.yaml', jobYaml('diff-job', { extraEnv: env }));
    const secretEnv = { DIFF_DB_PASSWORD: SENTINEL };
    expect((await acictl(['apply', '-f', f], { env: secretEnv })).code).toBe(0);

    let r = await acictl(['diff', '-f', f], { env: secretEnv });
    expect(r.stdout).toBe('');
    expect(r.code).toBe(0);

    write('diff/job.yaml', jobYaml('diff-job', { extraEnv: env, image: 'hello-world:2', schedule: '@hourly' }));
    r = await acictl(['diff', '-f', f], { env: secretEnv });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('--- live/containerjob/diff-job\n+++ desired/containerjob/diff-job\n');
    expect(r.stdout).toMatch(/^-\s+image: hello-world:latest$/m);
    expect(r.stdout).toMatch(/^\+\s+image: hello-world:2$/m);
    expect(r.stdout).toMatch(/^-\s+schedule: "?@daily"?$/m);
    expect(r.stdout).toMatch(/containerjob\/diff-job: new groups use the new template at the next run/);
    expect(r.stdout + r.stderr).not.toContain(SENTINEL);

    // a job that does not exist yet is all additions; its secret shows as the reference only
    r = await acictl(['diff', '-f', write('diff/new.yaml', jobYaml('diff-new', { extraEnv: env }))], { env: secretEnv });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^\+\s+secureValueFrom:\n\+\s+env: DIFF_DB_PASSWORD$/m);
    expect(r.stdout + r.stderr).not.toContain(SENTINEL);
    expect(r.stdout).toMatch(/^--- \/dev\/null\n\+\+\+ desired\/containerjob\/diff-new\n@@ -0,0 \+1,\d+ @@/);
    expect(r.stdout).toContain('containerjob/diff-new: create');

    r = await acictl(['diff', '-f', write('diff/bad.yaml', jobYaml('diff-bad', { schedule: 'not a cron' }))]);
    expect(r.code).toBeGreaterThanOrEqual(2);
    expect(r.stderr).toMatch(/bad\.yaml:\d+:\d+: error/);
  });
});

describe('get', () => {
  beforeAll(async () => {
    write('get/jobs.yaml', `${jobYaml('get-a', { labels: { team: 'data' } })}---\n${jobYaml('get-b', { schedule: '*/5 * * * *', labels: { team: 'web' } })}`);
    expect((await acictl(['apply', '-f', 'get/jobs.yaml'])).code).toBe(0);
    const t = Date.parse('2026-01-02T00:00:00Z');
    await server.store.putRun(run('get-a', 'get-a-202601020000', t, 'Succeeded', [{ startedAt: t + 5_000, finishedAt: t + 65_000, exitCode: 0, phase: 'Succeeded' }]));
    await server.store.putRun(run('get-a', 'get-a-202601030000', t + 86_400_000, 'Running', [
      { startedAt: t + 86_400_000, finishedAt: t + 86_430_000, exitCode: 1, phase: 'Failed', reason: 'ExitCode' },
      { startedAt: t + 86_500_000, phase: 'Running' },
    ]));
    await server.store.putRun(run('get-b', 'get-b-202601020005', t + 300_000, 'Failed', [{ startedAt: t + 300_000, finishedAt: t + 303_000, exitCode: 2, phase: 'Failed' }]));
    const now = Date.now();
    await server.store.putJobStatus('get-a', {
      lastScheduleTime: new Date(now - 3 * 3_600_000).toISOString(),
      lastRunResult: 'Succeeded',
      nextScheduleTime: new Date(now + 90 * 60_000).toISOString(),
      active: [{ run: 'get-a-202601030000', group: 'get-a-202601030000-a2', attempt: 2 }],
      conditions: [{ type: 'Ready', status: 'True', reason: 'Reconciled', message: 'all good', lastTransitionTime: new Date(now - 60_000).toISOString() }],
    });
  });

  it('prints an aligned job table with the contract columns', async () => {
    const r = await acictl(['get', 'jobs', '-l', 'team']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+SCHEDULE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+LAST RESULT\s+NEXT RUN\s+AGE$/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^get-a\s+@daily\s+False\s+1\s+3h\s+Succeeded\s+in (89|90)m\s+\d+s$/);
    expect(lines[2]).toMatch(/^get-b\s+\*\/5 \* \* \* \*\s+False\s+0\s+<none>\s+<none>\s+<none>\s+\d+s$/);
    // columns are aligned: every column starts at the same offset on every line
    for (const header of ['SCHEDULE', 'SUSPEND', 'ACTIVE']) {
      const col = lines[0].indexOf(header);
      expect(lines[1][col - 1]).toBe(' ');
      expect(lines[1][col]).not.toBe(' ');
    }
  });

  it('supports -o wide, name, json, yaml, -l and a single job', async () => {
    const [wide, names, json, yaml, one, missing] = await Promise.all([
      acictl(['get', 'cj', '-o', 'wide', '-l', 'team=data']),
      acictl(['get', 'jobs', '-o', 'name', '-l', 'team in (data,web)']),
      acictl(['get', 'jobs', '-o', 'json', '-l', 'team=web']),
      acictl(['get', 'job', 'get-a', '-o', 'yaml']),
      acictl(['get', 'job', 'get-a', '-o', 'json']),
      acictl(['get', 'job', 'no-such-job']),
    ]);
    expect(wide.stdout).toMatch(/^NAME\s+SCHEDULE.*AGE\s+TIMEZONE\s+CONCURRENCY\s+GROUP POLICY\s+READY\s+IMAGES\n/);
    expect(wide.stdout).toMatch(/\nget-a\s.*\sUTC\s+Forbid\s+PerRun\s+True\s+hello-world:latest\n$/);

    expect(names.stdout).toBe('containerjob/get-a\ncontainerjob/get-b\n');

    const list = JSON.parse(json.stdout);
    expect(list.kind).toBe('ContainerJobList');
    expect(list.items.map((j: { metadata: { name: string } }) => j.metadata.name)).toEqual(['get-b']);

    const obj = parseYaml(yaml.stdout);
    expect(obj.kind).toBe('ContainerJob');
    expect(obj.metadata.name).toBe('get-a');
    expect(obj.spec.schedule).toBe('@daily');
    expect(obj.status.lastRunResult).toBe('Succeeded');

    expect(JSON.parse(one.stdout).metadata.labels.team).toBe('data');

    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('containerjob "no-such-job" not found');
    for (const r of [wide, names, json, yaml, one]) expect(r.code).toBe(0);
  });

  it('lists runs (all, of one job, one run) with the contract columns', async () => {
    const [ofJob, names, one, wide, yaml, missing] = await Promise.all([
      acictl(['get', 'runs', 'get-a']),
      acictl(['get', 'runs', '-o', 'name']),
      acictl(['get', 'run', 'get-b-202601020005', '-o', 'json']),
      acictl(['get', 'runs', '-o', 'wide', '-l', 'acictl.dev/job=get-b']),
      acictl(['get', 'runs', 'get-b', '-o', 'yaml']),
      acictl(['get', 'run', 'nope-202601010000']),
    ]);
    expect(ofJob.code).toBe(0);
    const lines = ofJob.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+JOB\s+SLOT\s+ATTEMPT\s+STATE\s+EXIT CODE\s+DURATION\s+GROUP$/);
    expect(lines[1]).toMatch(/^get-a-202601020000\s+get-a\s+2026-01-02T00:00:00Z\s+1\s+Succeeded\s+0\s+60s\s+get-a-202601020000$/);
    expect(lines[2]).toMatch(/^get-a-202601030000\s+get-a\s+2026-01-03T00:00:00Z\s+2\s+Running\s+<none>\s+\S+\s+get-a-202601030000-a2$/);
    expect(lines).toHaveLength(3);

    // ordered by scheduled time
    expect(names.stdout).toBe('containerjobrun/get-a-202601020000\ncontainerjobrun/get-b-202601020005\ncontainerjobrun/get-a-202601030000\n');

    const run1 = JSON.parse(one.stdout);
    expect(run1.kind).toBe('ContainerJobRun');
    expect(run1.status.attempts[0].exitCode).toBe(2);

    expect(wide.stdout).toMatch(/GROUP\s+STARTED\s+FINISHED\s+REASON\n/);
    expect(wide.stdout).toMatch(/\nget-b-202601020005\s+get-b\s+2026-01-02T00:05:00Z\s+1\s+Failed\s+2\s+3s\s+get-b-202601020005\s/);

    expect(parseYaml(yaml.stdout).items).toHaveLength(1);
    expect(missing.code).toBe(1);
  });

  it('--watch prints the list, then a line per change, and stops cleanly on SIGTERM', async () => {
    const p = spawnCli(['get', 'jobs', '--watch', '-l', 'team=web', '--server', server.url, '--token', server.token]);
    await p.waitFor(/^get-b\s/m);
    await server.store.putJobStatus('get-b', { lastRunResult: 'Failed' });
    await p.waitFor(/get-b\s+\S.*Failed/);
    p.child.kill('SIGTERM');
    const r = await p.done;
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^NAME/gm)).toHaveLength(1);
  });

  it('describe shows spec, status, conditions, next slots and recent runs', async () => {
    const r = await acictl(['describe', 'job', 'get-a']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Name:\s+get-a$/m);
    expect(r.stdout).toMatch(/^Labels:\s+team=data$/m);
    expect(r.stdout).toMatch(/^\s+Schedule:\s+@daily \(UTC\)$/m);
    expect(r.stdout).toMatch(/^\s+main: hello-world:latest\s+\(1 CPU, 1\.5 GB\)$/m);
    expect(r.stdout).toMatch(/^Conditions:\n\s+TYPE\s+STATUS\s+REASON.*\n\s+Ready\s+True\s+Reconciled\s+/m);
    const slots = r.stdout.split('Next 5 slots:\n')[1].split('Recent runs:')[0].trim().split('\n');
    expect(slots).toHaveLength(5);
    for (const s of slots) expect(s.trim()).toMatch(/^\d{4}-\d\d-\d\d 00:00 UTC \(in \d+[ydhms](\d+[ydhms])?\)$/);
    expect(r.stdout).toMatch(/Recent runs:\n\s+NAME\s+SLOT.*\n\s+get-a-202601020000\s/);
    expect((await acictl(['describe', 'job', 'missing'])).code).toBe(1);
  });
});

describe('run, suspend, resume, logs, delete', () => {
  beforeAll(async () => {
    expect((await acictl(['apply', '-f', write('ops/job.yaml', jobYaml('ops-job'))])).code).toBe(0);
  });

  it('run prints the new run name', async () => {
    const r = await acictl(['run', 'ops-job']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ops-job-m\d{14}\n$/);
    expect(await server.store.getRun(r.stdout.trim())).toBeDefined();
    const missing = await acictl(['run', 'no-such-job']);
    expect(missing.code).toBe(1);
  });

  it('suspend and resume set the runtime override', async () => {
    let r = await acictl(['suspend', 'ops-job']);
    expect(r.stdout).toBe('containerjob/ops-job suspended\n');
    r = await acictl(['get', 'job', 'ops-job']);
    expect(r.stdout).toMatch(/\nops-job\s+@daily\s+True\s/);
    r = await acictl(['resume', 'ops-job']);
    expect(r.stdout).toBe('containerjob/ops-job resumed\n');
    expect(r.code).toBe(0);
    expect(server.suspendCalls.filter(([n]) => n === 'ops-job').map(([, s]) => s)).toEqual([true, false]);
    expect((await acictl(['suspend', 'no-such-job'])).code).toBe(1);
  });

  it('logs prints the latest run by default, a chosen run/attempt, and --tail', async () => {
    const t = Date.parse('2098-02-01T00:00:00Z');
    await server.store.putRun(run('ops-job', 'ops-job-209802010000', t, 'Succeeded', [{ phase: 'Failed', exitCode: 1 }, { phase: 'Succeeded', exitCode: 0 }]));
    await server.store.putLog('ops-job-209802010000', 1, 'main', 'first attempt failed\n');
    await server.store.putLog('ops-job-209802010000', 2, 'main', 'line 1\nline 2\nline 3\n');
    await server.store.putRun(run('ops-job', 'ops-job-209801310000', t - 86_400_000, 'Succeeded', [{}]));
    await server.store.putLog('ops-job-209801310000', 1, 'main', 'older run\n');

    let r = await acictl(['logs', 'ops-job']);
    expect(r.stdout).toBe('first attempt failed\nline 1\nline 2\nline 3\n');
    r = await acictl(['logs', 'ops-job', '--run', 'ops-job-209802010000', '--attempt', '2']);
    expect(r.stdout).toBe('line 1\nline 2\nline 3\n');
    r = await acictl(['logs', 'ops-job', '--run', 'ops-job-209802010000', '--attempt', '1']);
    expect(r.stdout).toBe('first attempt failed\n');
    r = await acictl(['logs', 'ops-job', '--run', 'ops-job-209801310000', '--tail', '1']);
    expect(r.stdout).toBe('older run\n');
    r = await acictl(['logs', 'ops-job', '--run', 'ops-job-209802010000', '--tail', '2']);
    expect(r.stdout).toBe('line 2\nline 3\n');
    expect(r.code).toBe(0);
    expect((await acictl(['logs', 'no-such-job'])).code).toBe(1);
  });

  it('logs -f streams chunks as they are produced and ends when the run ends', async () => {
    const id = 'ops-job-202603010000';
    await server.store.putRun(run('ops-job', id, Date.parse('2099-03-01T00:00:00Z'), 'Running', [{ phase: 'Running' }]));
    server.liveLogs.set(id, { chunks: ['tick 1\n', 'tick 2\n', 'tick 3\n'], delayMs: 400 });
    const started = Date.now();
    // default run: the latest of the job (this one, scheduled last)
    const p = spawnCli(['logs', 'ops-job', '-f', '--server', server.url, '--token', server.token]);
    await p.waitFor(/tick 1\n/);
    const firstAt = Date.now() - started;
    expect(p.stdout).not.toContain('tick 3');
    const r = await p.done;
    expect(r.stdout).toBe('tick 1\ntick 2\ntick 3\n');
    expect(r.code).toBe(0);
    // the last chunk came ≥ 800 ms after the first: streamed, not buffered
    expect(Date.now() - started - firstAt).toBeGreaterThanOrEqual(700);
  });

  it('delete by name and by file; a missing job is exit 1 unless --ignore-not-found', async () => {
    let r = await acictl(['delete', 'job', 'ops-job']);
    expect(r.stdout).toBe('containerjob/ops-job deleted\n');
    expect(r.code).toBe(0);
    expect((await server.store.getJob('ops-job'))?.deletionTimestamp ?? 'gone').toBeTruthy();

    const f = write('del/x.yaml', jobYaml('del-x'));
    expect((await acictl(['apply', '-f', f])).code).toBe(0);
    r = await acictl(['delete', '-f', f]);
    expect(r.stdout).toBe('containerjob/del-x deleted\n');

    r = await acictl(['delete', 'job', 'never-existed']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('containerjob "never-existed" not found');
    r = await acictl(['delete', 'job', 'never-existed', '--ignore-not-found']);
    expect(r.code).toBe(0);

    r = await acictl(['delete', 'job', 'from-dir']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('/srv/manifests/from-dir.yaml');
  });
});

describe('discovery, auth and exit codes', () => {
  it('finds the local controller through the state dir kubeconfig (flag, env, and the default .acictl)', async () => {
    const kubeconfig = `apiVersion: v1\nkind: Config\nclusters:\n- name: acictl\n  cluster:\n    server: ${server.url}\nusers:\n- name: acictl\n  user:\n    token: ${server.token}\ncontexts:\n- name: acictl\n  context: {cluster: acictl, user: acictl}\ncurrent-context: acictl\n`;
    write('state/kubeconfig', kubeconfig);
    write('.acictl/kubeconfig', kubeconfig);
    let r = await runCli(['get', 'jobs', '-o', 'name', '--state-dir', 'state'], { cwd: tmp.dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('containerjob/get-a\n');
    r = await runCli(['get', 'jobs', '-o', 'name'], { cwd: tmp.dir, env: { ACICTL_STATE_DIR: path.join(tmp.dir, 'state') } });
    expect(r.stdout).toContain('containerjob/get-a\n');
    r = await runCli(['get', 'jobs', '-o', 'name'], { cwd: tmp.dir });
    expect(r.stdout).toContain('containerjob/get-a\n');
    // environment beats the kubeconfig
    r = await runCli(['get', 'jobs'], { cwd: tmp.dir, env: { ACICTL_SERVER: server.url, ACICTL_TOKEN: 'wrong' } });
    expect(r.code).toBe(3);
  });

  it('a wrong token is exit 3 and says the token was rejected', async () => {
    const r = await runCli(['get', 'jobs', '--server', server.url, '--token', 'not-the-token'], { cwd: tmp.dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/token was rejected/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toContain(server.token);
  });

  it('a controller that is down is exit 3 with the address tried', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const r = await runCli(['get', 'jobs', '--server', `http://127.0.0.1:${port}`, '--token', 'x'], { cwd: tmp.dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`acictl: cannot reach the controller at http://127.0.0.1:${port}: connection refused\n`);
    const none = await runCli(['get', 'jobs', '--state-dir', path.join(tmp.dir, 'nothing-here')], { cwd: tmp.dir });
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/no controller found: .*nothing-here.kubeconfig does not exist/);
  });

  it('usage errors are exit 2; --help has examples for every command', async () => {
    const usage = await Promise.all([['get', 'pods'], ['get', 'jobs', '-o', 'xml'], ['logs', 'x', '--tail', 'many'], ['apply'], ['describe', 'job']].map((a) => acictl(a)));
    expect(usage.map((r) => r.code)).toEqual([2, 2, 2, 2, 2]);
    const commands = ['apply', 'diff', 'get', 'describe', 'delete', 'logs', 'run', 'suspend', 'resume'];
    const helps = await Promise.all(commands.map((cmd) => runCli([cmd, '--help'])));
    for (const r of helps) {
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Examples:\n {2}acictl /);
      expect(r.stdout).toMatch(/--server <url>/);
    }
  });
});

/** A stored job built from the same manifest shape the CLI applies. */
function storedFromObject(name: string, labels: Record<string, string> = {}) {
  const obj = jobObject(name, labels);
  return { name, finalizers: [], labels, annotations: {}, spec: obj.spec, status: {}, source: { kind: 'api' as const } };
}
