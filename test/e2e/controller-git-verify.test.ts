/**
 * Issue 17, `--git-verify` through the real `acictl controller` process: an ssh source and an openpgp
 * source (flags as an operator types them, relative file paths), `acictl get sources` / `describe
 * source` show a held unsigned commit as UnverifiedCommit, the controller logs it, and a signed commit
 * after it is applied.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../cli/harness';
import { startGitHttpServer, TestRepo, type GitHttpServer } from '../controller/git-server';
import { gpgSigner, killGpgAgents, missingSigningTools, sshSigner } from '../controller/git-signers';
import type { RunningEmulator } from '../../src/emulator';
import { cleanupDirs, ControllerProcess, jobYaml, startControllerProcess, startTestEmulator, tmp, waitUntil } from './harness';

jest.setTimeout(120_000);

const missing = missingSigningTools();
if (missing.length) console.warn(`skipping the --git-verify e2e test: ${missing.join(', ')} missing (apt-get install -y git openssh-client gnupg; .ci/run does)`);
const maybe = missing.length ? describe.skip : describe;

maybe('acictl controller --git ... --git-verify', () => {
  let emu: RunningEmulator & { caFilePath: string };
  let server: GitHttpServer;
  let ctl: ControllerProcess | undefined;
  let dir: string;
  const homes: string[] = [];

  beforeAll(async () => {
    emu = await startTestEmulator();
    dir = tmp('acictl-gitv-e2e-');
  });
  afterAll(async () => {
    await ctl?.stop();
    await server?.close();
    await emu?.close();
    killGpgAgents(homes);
    cleanupDirs(dir);
  });

  test('signed → applied; unsigned → UnverifiedCommit in get/describe sources and the log; signed again → applied', async () => {
    const ssh = sshSigner(dir, 'alice');
    const pgp = gpgSigner(dir, 'alice', true, homes);
    writeFileSync(path.join(dir, 'allowed_signers'), ssh.keyring);
    writeFileSync(path.join(dir, 'keys.asc'), pgp.keyring);
    const one = new TestRepo(path.join(dir, 'srv'), 'one', path.join(dir, 'work-one'));
    const two = new TestRepo(path.join(dir, 'srv'), 'two', path.join(dir, 'work-two'));
    const s1 = one.commit({ 'a.yaml': jobYaml('gv-a', { rg: 'e2e-gitv' }) }, 'ssh signed', ssh.sign);
    const p1 = two.commit({ 'b.yaml': jobYaml('gv-b', { rg: 'e2e-gitv' }) }, 'gpg signed', pgp.sign);
    server = await startGitHttpServer({ projectRoot: path.join(dir, 'srv') });
    ctl = startControllerProcess(emu, {
      args: [
        '--git', `${server.url}/one.git`, '--git-ref', 'main', '--git-interval', '1s', '--git-verify', `ssh:${path.relative(process.cwd(), path.join(dir, 'allowed_signers'))}`,
        '--git', `${server.url}/two.git`, '--git-ref', 'main', '--git-interval', '1s', '--git-verify', `openpgp:${path.join(dir, 'keys.asc')}`,
      ],
    });
    await ctl.ready(60_000);
    const c = ctl;
    const cli = (...args: string[]) => runCli([...args, '--server', c.url, '--token', c.token]);
    const sources = async () => JSON.parse((await cli('get', 'sources', '-o', 'json')).stdout).items as any[];

    await waitUntil('both applied', async () => (await c.job('gv-a'))?.status.sourceRevision === s1 && (await c.job('gv-b'))?.status.sourceRevision === p1, 30_000);
    let table = await cli('get', 'sources');
    expect(table.code).toBe(0);
    expect(table.stdout).not.toContain('UnverifiedCommit');

    // unsigned commits on both: held, shown, logged
    const s2 = one.commit({ 'a.yaml': jobYaml('gv-a', { rg: 'e2e-gitv', command: 'echo two' }) }, 'unsigned');
    const p2 = two.commit({ 'b.yaml': jobYaml('gv-b', { rg: 'e2e-gitv', command: 'echo two' }) }, 'unsigned');
    const held = await waitUntil('both held', async () => {
      const items = await sources();
      return items.every((s) => s.conditions.some((x: any) => x.type === 'Warning' && x.reason === 'UnverifiedCommit')) ? items : null;
    }, 20_000);
    const srcOne = held.find((s) => s.url.endsWith('/one.git'));
    expect(srcOne).toMatchObject({ lastAppliedRevision: s1, lastAttemptedRevision: s2, lastVerifiedRevision: s1, verify: [`ssh:${path.join(dir, 'allowed_signers')}`] });
    table = await cli('get', 'sources');
    expect(table.stdout.split('\n').filter((l) => /\sFalse\s+UnverifiedCommit\s*$/.test(l))).toHaveLength(2);
    const desc = await cli('describe', 'source', srcOne.name);
    expect(desc.code).toBe(0);
    expect(desc.stdout).toMatch(new RegExp(`Verify:\\s+ssh:${path.join(dir, 'allowed_signers').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(desc.stdout).toMatch(new RegExp(`Last verified revision:\\s+${s1} \\(Good "git" signature for alice@example.com`));
    expect(desc.stdout).toMatch(new RegExp(`Warning\\s+True\\s+UnverifiedCommit\\s+commit ${s2} is not signed; not applied; keeping revision ${s1}`));
    expect(c.lines().some((l) => l.level === 40 && l.reason === 'UnverifiedCommit' && String(l.msg).includes(`commit ${p2} is not signed`))).toBe(true);
    expect((await c.job('gv-a'))!.spec.template.containers[0].command).toEqual(['/bin/sh', '-c', 'echo hello']);
    expect((await c.job('gv-b'))!.spec.template.containers[0].command).toEqual(['/bin/sh', '-c', 'echo hello']);

    // signed commits after them: applied
    const s3 = one.commit({}, 'signed again', ssh.sign);
    const p3 = two.commit({}, 'signed again', pgp.sign);
    await waitUntil('s3 applied', async () => (await c.job('gv-a'))?.status.sourceRevision === s3, 20_000);
    expect((await c.job('gv-a'))!.spec.template.containers[0].command).toEqual(['/bin/sh', '-c', 'echo two']);
    await waitUntil('p3 applied', async () => (await c.job('gv-b'))?.status.sourceRevision === p3, 20_000);
    expect((await c.job('gv-b'))!.spec.template.containers[0].command).toEqual(['/bin/sh', '-c', 'echo two']);
    await waitUntil('no warnings', async () => (await sources()).every((s) => !s.conditions.some((x: any) => x.type === 'Warning')), 20_000);
    expect((await sources()).find((s) => s.url.endsWith('/two.git')).lastAppliedRevision).toBe(p3);
  });
});
