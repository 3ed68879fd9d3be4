/**
 * Issue 17, acceptance 4 and the CLI: the real `acictl controller --git ...` process follows two
 * token-protected repositories (token from env:NAME and from file:PATH); `acictl get sources` and
 * `describe source` show the applied revision; the tokens never appear in the controller's output,
 * the CLI's output, errors, the store, any file of the state dir, or `ps` while fetches run.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../cli/harness';
import { startGitHttpServer, TestRepo, type GitHttpServer } from '../controller/git-server';
import { signGitWebhook } from '../../src/controller/git-webhook';
import type { RunningEmulator } from '../../src/emulator';
import { cleanupDirs, ControllerProcess, jobYaml, sleep, startControllerProcess, startTestEmulator, tmp, waitUntil } from './harness';

jest.setTimeout(120_000);

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

describe('acictl controller --git with credentials', () => {
  let emu: RunningEmulator & { caFilePath: string };
  let server: GitHttpServer;
  let ctl: ControllerProcess;
  let dir: string;
  const envToken = `envtok-${randomBytes(12).toString('hex')}`;
  const fileToken = `filetok-${randomBytes(12).toString('hex')}`;
  const hookSecret = `hook-${randomBytes(12).toString('hex')}`;
  let one: TestRepo;
  let two: TestRepo;

  beforeAll(async () => {
    emu = await startTestEmulator();
    dir = tmp('acictl-git-e2e-');
    one = new TestRepo(path.join(dir, 'srv'), 'one', path.join(dir, 'work-one'));
    two = new TestRepo(path.join(dir, 'srv'), 'two', path.join(dir, 'work-two'));
    one.commit({ 'jobs/a.yaml': jobYaml('git-a', { rg: 'e2e-git' }) });
    two.commit({ 'b.yaml': jobYaml('git-b', { rg: 'e2e-git' }) });
    // one server, one token: the env source and the file source present the same password; the
    // two spellings are checked separately below (each token appears nowhere)
    server = await startGitHttpServer({ projectRoot: path.join(dir, 'srv'), token: envToken });
    writeFileSync(path.join(dir, 'token-file'), `${envToken}\n`, { mode: 0o600 });
    writeFileSync(path.join(dir, 'wrong-file'), `${fileToken}\n`, { mode: 0o600 });
    ctl = startControllerProcess(emu, {
      args: [
        '--git', `${server.url}/one.git`, '--git-ref', 'main', '--git-path', 'jobs', '--git-interval', '1s', '--git-secret-from', 'env:GIT_TOKEN',
        '--git', `${server.url}/two.git`, '--git-interval', '1s', '--git-secret-from', `file:${path.join(dir, 'token-file')}`,
        // a wrong token: this source fails, and its error must not show the token either
        '--git', `${server.url}/two.git`, '--git-path', 'nowhere', '--git-interval', '1s', '--git-secret-from', `file:${path.join(dir, 'wrong-file')}`,
        '--git-webhook-secret-from', 'env:HOOK_SECRET',
      ],
      env: { GIT_TOKEN: envToken, HOOK_SECRET: hookSecret },
    });
    await ctl.ready(60_000);
  });

  afterAll(async () => {
    await ctl?.stop();
    await server?.close();
    await emu?.close();
    cleanupDirs(dir);
  });

  const cli = (...args: string[]) => runCli([...args, '--server', ctl.url, '--token', ctl.token]);

  test('both repositories are applied with their commits; get/describe sources show them', async () => {
    const shaOne = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: one.work, encoding: 'utf8' }).trim();
    const shaTwo = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: two.work, encoding: 'utf8' }).trim();
    const a = await waitUntil('git-a', () => ctl.job('git-a'), 20_000);
    const b = await waitUntil('git-b', () => ctl.job('git-b'), 20_000);
    expect(a.status.sourceRevision).toBe(shaOne);
    expect(b.status.sourceRevision).toBe(shaTwo);
    expect(server.authSeen).toBeGreaterThan(0);

    const table = await cli('get', 'sources');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+KIND\s+URL\s+REF\s+APPLIED\s+ATTEMPTED\s+LAST FETCH\s+READY\s+WARNING/);
    expect(table.stdout).toContain(shaOne.slice(0, 12));
    expect(table.stdout).toContain(shaTwo.slice(0, 12));
    const json = await cli('get', 'sources', '-o', 'json');
    const items = JSON.parse(json.stdout).items as any[];
    expect(items).toHaveLength(3);
    const srcOne = items.find((s) => s.url.endsWith('/one.git'));
    expect(srcOne).toMatchObject({ kind: 'git', ref: 'main', path: 'jobs', lastAppliedRevision: shaOne, lastAttemptedRevision: shaOne });
    const failing = await waitUntil('the wrong-token source to fail', async () => {
      const j = JSON.parse((await cli('get', 'sources', '-o', 'json')).stdout).items.find((s: any) => s.path === 'nowhere');
      return j?.lastFetchError ? j : null;
    });
    expect(failing.conditions.find((c: any) => c.type === 'Warning').reason).toBe('FetchFailed');

    const desc = await cli('describe', 'source', srcOne.name);
    expect(desc.code).toBe(0);
    expect(desc.stdout).toMatch(new RegExp(`Last applied revision:\\s+${shaOne}`));
    expect(desc.stdout).toMatch(/Ready\s+True\s+Applied/);
    expect((await cli('describe', 'source', 'nope')).code).toBe(1);
  });

  test('the tokens never appear in logs, errors, CLI output, the store, the state dir or ps', async () => {
    // fetches running while ps is sampled: webhooks, plus the 1 s interval
    const samples: string[] = [];
    for (let i = 0; i < 20; i++) {
      const body = '{}';
      const res = await fetch(`${ctl.url}/hooks/git`, { method: 'POST', body, headers: { 'X-Hub-Signature-256': signGitWebhook(hookSecret, body) } });
      expect(res.status).toBe(202);
      for (let k = 0; k < 3; k++) {
        samples.push(execFileSync('ps', ['-eww', '-o', 'args'], { encoding: 'utf8' }));
        await sleep(15);
      }
    }
    // a git child of this controller, fetching from this server (its URL is on the command line)
    const port = new URL(server.url).port;
    const gitSeen = samples.filter((s) => s.split('\n').some((l) => /^(git|\/\S*git-remote-https?|git-remote-https?) /.test(l.trim()) && l.includes(`127.0.0.1:${port}`))).length;
    process.stdout.write(`ps samples: ${samples.length}, with a git fetch running: ${gitSeen}\n`);
    expect(gitSeen).toBeGreaterThan(0); // the sampling did catch fetches in flight
    const cliOut = [await cli('get', 'sources', '-o', 'yaml'), await cli('describe', 'source', JSON.parse((await cli('get', 'sources', '-o', 'json')).stdout).items[0].name)];
    const stateFiles = filesUnder(ctl.stateDir).filter((f) => statSync(f).size < 64 << 20);
    expect(stateFiles.some((f) => f.endsWith('acictl.db'))).toBe(true);
    expect(stateFiles.some((f) => f.includes(`${path.sep}git${path.sep}`))).toBe(true);
    for (const token of [envToken, fileToken]) {
      for (const s of samples) expect(s.includes(token)).toBe(false);
      expect(ctl.stdout.includes(token)).toBe(false);
      expect(ctl.stderr.includes(token)).toBe(false);
      for (const r of cliOut) expect((r.stdout + r.stderr).includes(token)).toBe(false);
      for (const f of stateFiles) expect([f, readFileSync(f).includes(token)]).toEqual([f, false]);
    }
    // the controller did log fetch failures (of the wrong-token source) — scrubbed, not silent
    expect(ctl.lines().some((l) => l.component === 'git' && /fetch of http:\/\/127\.0\.0\.1:\d+\/two\.git failed/.test(String(l.msg)))).toBe(true);
  });
});
