/**
 * Issue 17, `--git-verify`: a git source applies only commits signed by a key in the given keyring.
 * Real git server on loopback, real keys made here (ssh-keygen ed25519; gpg --quick-gen-key in a
 * temporary GNUPGHOME), commits signed by git itself. For both formats: signed by the trusted key →
 * applied; unsigned → held with a Warning naming the commit; signed by another key → held; signed by
 * a trusted key again → applied. Nothing is deleted while a commit is held.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { describeSource, sourcesTable } from '../../src/cli/commands/sources';
import { startController, type RunningController } from '../../src/controller/controller';
import type { GitSourceSpec, GitSourceStatus } from '../../src/controller/git-source';
import type { GitVerifyKeyring } from '../../src/controller/git-verify';
import { signGitWebhook } from '../../src/controller/git-webhook';
import { startEmulator, type RunningEmulator } from '../../src/emulator';
import type { StoredJob } from '../../src/store/types';
import { inProcessOptions, waitFor } from '../fixtures/in-process-controller';
import { jobYaml } from '../fixtures/job-yaml';
import { startGitHttpServer, TestRepo } from './git-server';
import { gpgSigner as gpgSignerIn, killGpgAgents, missingSigningTools, sshSigner as sshSignerIn, type Signer } from './git-signers';

jest.setTimeout(120_000);

const missing = missingSigningTools();
if (missing.length) console.warn(`skipping the --git-verify tests: ${missing.join(', ')} missing (apt-get install -y git openssh-client gnupg; .ci/run does)`);
const maybe = missing.length ? describe.skip : describe;

const HOOK_SECRET = 'verify-hook-secret';
let dir: string;
let emu: RunningEmulator;
const gnupgHomes: string[] = [];

beforeAll(async () => {
  if (missing.length) return;
  emu = await startEmulator({ runtime: 'simulate', throttling: 'off', lroDelayMs: 10 });
});
afterAll(async () => {
  await emu?.close();
});
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'acictl-gitv-'));
});
afterEach(() => {
  killGpgAgents(gnupgHomes);
  rmSync(dir, { recursive: true, force: true });
});

const sshSigner = (name: string): Signer => sshSignerIn(dir, name);
const gpgSigner = (name: string, armor: boolean): Signer => gpgSignerIn(dir, name, armor, gnupgHomes);

async function start(git: GitSourceSpec[], logs: string[], env: Record<string, string> = {}): Promise<RunningController> {
  return startController(
    inProcessOptions(emu, {
      git,
      gitWebhookSecret: () => HOOK_SECRET,
      stateDir: path.join(dir, 'state'),
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir, ...env },
      logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(line) }),
    }),
  );
}

async function source(c: RunningController): Promise<GitSourceStatus> {
  const token = readFileSync(path.join(c.stateDir, 'token'), 'utf8').trim();
  const res = await fetch(`${c.url}/acictl/v1/sources`, { headers: { Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: GitSourceStatus[] }).items.find((s) => s.kind === 'git')!;
}

async function hook(c: RunningController): Promise<void> {
  const body = '{}';
  const res = await fetch(`${c.url}/hooks/git`, { method: 'POST', body, headers: { 'X-Hub-Signature-256': signGitWebhook(HOOK_SECRET, body) } });
  await res.text();
  expect(res.status).toBe(202);
}

const image = async (c: RunningController, name: string): Promise<string | undefined> => ((await c.store.getJob(name)) as StoredJob | undefined)?.spec.template.containers[0].image;
const warningOf = (s: GitSourceStatus) => s.conditions.find((x) => x.type === 'Warning' && x.status === 'True');

/**
 * The shared scenario: `trusted` signs c1 (applied), an unsigned c2 and `other`'s c3 are held with an
 * UnverifiedCommit warning and change nothing, `trustedLater` (also in the keyrings) signs c4 (applied).
 */
async function scenario(keyrings: GitVerifyKeyring[], trusted: Signer, other: Signer, trustedLater: Signer): Promise<void> {
  const repo = new TestRepo(path.join(dir, 'srv'), 'jobs', path.join(dir, 'work'));
  const c1 = repo.commit({ 'a.yaml': jobYaml('job-a'), 'b.yaml': jobYaml('job-b') }, 'signed', trusted.sign);
  const server = await startGitHttpServer({ projectRoot: path.join(dir, 'srv') });
  const logs: string[] = [];
  // the controller's user's ~/.gnupg and GNUPGHOME (openpgp: the other key's, where it is trusted) must not count
  const ctl = await start([{ url: `${server.url}/jobs.git`, ref: 'main', intervalMs: 3_600_000, verify: keyrings }], logs, other.home ? { HOME: other.home, ...other.sign.env } : {});
  try {
    // 1. signed by the trusted key: applied
    await waitFor('c1 applied', async () => (await ctl.store.getJob('job-a'))?.status.sourceRevision === c1 && (await source(ctl)).lastAppliedRevision === c1);
    let src = await source(ctl);
    expect(warningOf(src)).toBeUndefined();
    expect(src.lastVerifiedRevision).toBe(c1);
    expect(src.lastVerifiedSigner).toMatch(/Good/);
    expect(src.verify).toEqual(keyrings.map((k) => `${k.format}:${k.file}`));
    expect(await image(ctl, 'job-a')).toBe('registry.example.com/app:1');

    // 2. unsigned: held, with a warning naming the commit; nothing changes
    const c2 = repo.commit({ 'a.yaml': jobYaml('job-a', { image: 'registry.example.com/app:2' }), 'b.yaml': null }, 'unsigned');
    await hook(ctl);
    src = await waitFor('c2 held', async () => {
      const s = await source(ctl);
      return s.lastAttemptedRevision === c2 && warningOf(s)?.message.includes(c2) && s;
    });
    expect(warningOf(src)!.reason).toBe('UnverifiedCommit');
    expect(warningOf(src)!.message).toContain(`commit ${c2} is not signed`);
    expect(warningOf(src)!.message).toContain(`keeping revision ${c1}`);
    expect(src.conditions.find((x) => x.type === 'Ready')).toMatchObject({ status: 'False', reason: 'UnverifiedCommit' });
    expect(src.lastAppliedRevision).toBe(c1);
    expect(logs.some((l) => l.includes('UnverifiedCommit') && l.includes(c2))).toBe(true);
    // what `acictl get sources` / `describe source` print for it
    expect(sourcesTable([src], Date.now())).toMatch(/UnverifiedCommit/);
    expect(describeSource(src, Date.now())).toContain(`commit ${c2} is not signed`);
    await new Promise((r) => setTimeout(r, 500));
    expect(await image(ctl, 'job-a')).toBe('registry.example.com/app:1');
    expect((await ctl.store.getJob('job-b'))?.deletionTimestamp).toBeFalsy(); // its deletion is not applied
    expect((await ctl.store.getJob('job-a'))?.status.sourceRevision).toBe(c1);

    // 3. signed, but by a key that is not in the keyring: held as well
    const c3 = repo.commit({ 'a.yaml': jobYaml('job-a', { image: 'registry.example.com/app:3' }) }, 'other key', other.sign);
    await hook(ctl);
    src = await waitFor('c3 held', async () => {
      const s = await source(ctl);
      return s.lastAttemptedRevision === c3 && warningOf(s)?.message.includes(c3) && s;
    });
    expect(warningOf(src)!.reason).toBe('UnverifiedCommit');
    expect(warningOf(src)!.message).toContain(`commit ${c3} is not signed by a key in`);
    process.stdout.write(`--git-verify other-key warning: ${warningOf(src)!.message}\n`);
    expect(src.lastAppliedRevision).toBe(c1);
    expect(src.lastVerifiedRevision).toBe(c1);
    await new Promise((r) => setTimeout(r, 500));
    expect(await image(ctl, 'job-a')).toBe('registry.example.com/app:1');
    expect((await ctl.store.getJob('job-b'))?.deletionTimestamp).toBeFalsy();

    // 4. a later commit signed by a trusted key: applied (with everything before it), warning gone
    const c4 = repo.commit({ 'a.yaml': jobYaml('job-a', { image: 'registry.example.com/app:4' }) }, 'signed again', trustedLater.sign);
    await hook(ctl);
    await waitFor('c4 applied', async () => (await ctl.store.getJob('job-a'))?.status.sourceRevision === c4 && (await source(ctl)).lastAppliedRevision === c4);
    src = await source(ctl);
    expect(warningOf(src)).toBeUndefined();
    expect(src.conditions.find((x) => x.type === 'Ready')?.status).toBe('True');
    expect(src.lastVerifiedRevision).toBe(c4);
    expect(await image(ctl, 'job-a')).toBe('registry.example.com/app:4');
    await waitFor('job-b pruned (deleted in c2, applied with c4)', async () => {
      const b = await ctl.store.getJob('job-b');
      return !b || b.deletionTimestamp;
    });
    expect(logs.some((l) => l.includes(`${c4} verified`))).toBe(true);
    // the controller used its own GNUPGHOME under the state dir, never the user's
    expect(readFileSync(path.join(path.dirname(src.root), 'verify', 'gnupg', 'gpg.conf'), 'utf8')).toContain('no-autostart');
  } finally {
    await ctl.stop();
    await server.close();
  }
}

maybe('--git-verify', () => {
  test('ssh: allowed-signers file — trusted applied, unsigned and other-key commits held, trusted again applied', async () => {
    const alice = sshSigner('alice');
    const mallory = sshSigner('mallory');
    const file = path.join(dir, 'allowed_signers');
    writeFileSync(file, alice.keyring);
    await scenario([{ format: 'ssh', file }], alice, mallory, alice);
  });

  test('openpgp: armored and binary keyrings — trusted applied, unsigned and other-key commits held, the second trusted key applied', async () => {
    const alice = gpgSigner('alice', true);
    const bob = gpgSigner('bob', false);
    const mallory = gpgSigner('mallory', true);
    const armored = path.join(dir, 'alice.asc');
    const binary = path.join(dir, 'bob.gpg');
    writeFileSync(armored, alice.keyring);
    writeFileSync(binary, bob.keyring);
    expect(alice.keyring.toString().startsWith('-----BEGIN PGP PUBLIC KEY BLOCK-----')).toBe(true);
    expect(bob.keyring.toString().includes('BEGIN PGP')).toBe(false);
    await scenario([{ format: 'openpgp', file: armored }, { format: 'openpgp', file: binary }], alice, mallory, bob);
  });

  test('an ssh-signed commit does not pass an openpgp keyring, nor an openpgp-signed one an allowed-signers file', async () => {
    const sshAlice = sshSigner('alice');
    const gpgAlice = gpgSigner('alice', true);
    const keyring = path.join(dir, 'alice.asc');
    const allowed = path.join(dir, 'allowed_signers');
    writeFileSync(keyring, gpgAlice.keyring);
    writeFileSync(allowed, sshAlice.keyring);
    const one = new TestRepo(path.join(dir, 'srv'), 'one', path.join(dir, 'work-one'));
    const two = new TestRepo(path.join(dir, 'srv'), 'two', path.join(dir, 'work-two'));
    const c1 = one.commit({ 'a.yaml': jobYaml('job-a') }, 'ssh signed', sshAlice.sign);
    const c2 = two.commit({ 'b.yaml': jobYaml('job-b') }, 'gpg signed', gpgAlice.sign);
    const server = await startGitHttpServer({ projectRoot: path.join(dir, 'srv') });
    const logs: string[] = [];
    const ctl = await start(
      [
        { url: `${server.url}/one.git`, ref: 'main', intervalMs: 3_600_000, verify: [{ format: 'openpgp', file: keyring }] },
        { url: `${server.url}/two.git`, ref: 'main', intervalMs: 3_600_000, verify: [{ format: 'ssh', file: allowed }] },
      ],
      logs,
    );
    try {
      const token = readFileSync(path.join(ctl.stateDir, 'token'), 'utf8').trim();
      const all = async () => ((await (await fetch(`${ctl.url}/acictl/v1/sources`, { headers: { Authorization: `Bearer ${token}` } })).json()) as { items: GitSourceStatus[] }).items.filter((s) => s.kind === 'git');
      const [s1, s2] = await waitFor('both held', async () => {
        const s = await all();
        return s.length === 2 && s.every((x) => warningOf(x)) && s;
      });
      expect(warningOf(s1)!.reason).toBe('UnverifiedCommit');
      expect(warningOf(s1)!.message).toContain(`commit ${c1} is not signed by a key in openpgp:${keyring}`);
      expect(warningOf(s2)!.reason).toBe('UnverifiedCommit');
      expect(warningOf(s2)!.message).toContain(`commit ${c2} is not signed by a key in ssh:${allowed}`);
      process.stdout.write(`--git-verify warnings:\n  ${warningOf(s1)!.message}\n  ${warningOf(s2)!.message}\n`);
      expect(s1.lastAppliedRevision).toBeUndefined();
      expect(s2.lastAppliedRevision).toBeUndefined();
      expect(await ctl.store.getJob('job-a')).toBeUndefined();
      expect(await ctl.store.getJob('job-b')).toBeUndefined();
    } finally {
      await ctl.stop();
      await server.close();
    }
  });

  test.each(['ssh', 'openpgp'] as const)(
    '%s: a restart adding --git-verify flags the unsigned checked-out commit; a key added to or removed from the file takes effect without a restart',
    async (format) => {
      const signer = (name: string) => (format === 'ssh' ? sshSigner(name) : gpgSigner(name, true));
      const alice = signer('alice');
      const bob = signer('bob');
      const file = path.join(dir, format === 'ssh' ? 'allowed_signers' : 'keys');
      writeFileSync(file, alice.keyring);
      const repo = new TestRepo(path.join(dir, 'srv'), 'jobs', path.join(dir, 'work'));
      const c1 = repo.commit({ 'a.yaml': jobYaml('job-a') }, 'unsigned');
      const server = await startGitHttpServer({ projectRoot: path.join(dir, 'srv') });
      const spec: GitSourceSpec = { url: `${server.url}/jobs.git`, ref: 'main', intervalMs: 3_600_000 };
      const logs: string[] = [];
      // a first run without --git-verify applies the unsigned commit
      let ctl = await start([spec], logs);
      try {
        await waitFor('c1 applied', async () => (await source(ctl)).lastAppliedRevision === c1);
        await ctl.stop();
        ctl = await start([{ ...spec, verify: [{ format, file }] }], logs);
        let src = await source(ctl);
        expect(warningOf(src)).toMatchObject({ reason: 'UnverifiedCommit' });
        expect(warningOf(src)!.message).toContain(`commit ${c1} is not signed (it is checked out already; no later commit is applied until one is signed)`);
        expect(src.lastAppliedRevision).toBe(c1);
        expect((await ctl.store.getJob('job-a'))?.status.sourceRevision).toBe(c1); // kept, not deleted
        expect((await ctl.store.getJob('job-a'))?.deletionTimestamp).toBeFalsy();

        // bob is not trusted yet: held
        const c2 = repo.commit({ 'a.yaml': jobYaml('job-a', { image: 'registry.example.com/app:2' }) }, 'bob', bob.sign);
        await hook(ctl);
        src = await waitFor('c2 held', async () => {
          const s = await source(ctl);
          return warningOf(s)?.message.includes(`commit ${c2} is not signed by a key in`) && s;
        });
        expect(src.lastAppliedRevision).toBe(c1);
        // bob's key is added to the file: the next fetch verifies against it, no restart
        writeFileSync(file, Buffer.concat([alice.keyring, bob.keyring]));
        await hook(ctl);
        await waitFor('c2 applied', async () => (await ctl.store.getJob('job-a'))?.status.sourceRevision === c2 && (await source(ctl)).lastAppliedRevision === c2);
        src = await source(ctl);
        expect(warningOf(src)).toBeUndefined();
        expect(src.lastVerifiedRevision).toBe(c2);
        expect(await image(ctl, 'job-a')).toBe('registry.example.com/app:2');
        // bob's key removed again: the applied commit no longer verifies — flagged, kept
        writeFileSync(file, alice.keyring);
        await hook(ctl);
        src = await waitFor('c2 flagged', async () => {
          const s = await source(ctl);
          return warningOf(s)?.message.includes(`commit ${c2} is not signed by a key in`) && s;
        });
        expect(warningOf(src)!.message).toContain('it is checked out already');
        expect(src.lastAppliedRevision).toBe(c2);
        expect((await ctl.store.getJob('job-a'))?.deletionTimestamp).toBeFalsy();
      } finally {
        await ctl.stop();
        await server.close();
      }
    },
  );
});
