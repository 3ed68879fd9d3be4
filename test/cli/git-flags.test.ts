/** `acictl controller --git …` flag parsing: each --git-* flag belongs to the --git before it; usage errors exit 2 and never show a URL password. */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { runCli, tmpDir } from './harness';

jest.setTimeout(60_000);

test('--git-* flags without a --git, given twice, or an env: SSH key are usage errors (exit 2), URL passwords redacted', async () => {
  const t = tmpDir();
  try {
    const state = ['--state-dir', t.dir];
    const orphan = await runCli(['controller', '--git-ref', 'main', ...state]);
    expect(orphan.code).toBe(2);
    expect(orphan.stderr).toContain('--git-ref must follow a --git URL');
    const twice = await runCli(['controller', '--git', 'https://user:hunter2pw@example.invalid/x.git', '--git-interval', '1s', '--git-interval', '2s', ...state]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('--git-interval given twice for --git https://user@example.invalid/x.git');
    expect(twice.stderr + twice.stdout).not.toContain('hunter2pw');
    const ssh = await runCli(['controller', '--git', 'git@example.invalid:x.git', '--git-secret-from', 'env:KEY', ...state]);
    expect(ssh.code).toBe(2);
    expect(ssh.stderr).toContain('an SSH key must be a file');
    const bad = await runCli(['controller', '--git', 'https://example.invalid/x.git', '--git-secret-from', 'TOKEN', ...state]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected env:NAME or file:PATH');
  } finally {
    t.cleanup();
  }
});

test('--git-verify: a malformed value, one before any --git, a missing, unreadable or keyless file are usage errors (exit 2)', async () => {
  const t = tmpDir();
  try {
    const base = ['controller', '--state-dir', path.join(t.dir, 'state'), '--listen', '127.0.0.1:0', '--subscription', '00000000-0000-0000-0000-000000000000', '--arm-endpoint', 'https://127.0.0.1:9'];
    const git = ['--git', 'https://127.0.0.1:9/x.git'];
    writeFileSync(path.join(t.dir, 'garbage.asc'), 'not a key\n');
    writeFileSync(path.join(t.dir, 'comments-only'), '# nobody\n\n');
    writeFileSync(path.join(t.dir, 'unreadable'), 'x', { mode: 0o000 });
    const cases: [string[], string][] = [
      [['--git-verify', `ssh:${t.dir}/comments-only`, ...git], '--git-verify must follow a --git URL'],
      [[...git, '--git-verify', `gpg:${t.dir}/garbage.asc`], '--git-verify: expected ssh:ALLOWED_SIGNERS_FILE or openpgp:KEYRING_FILE'],
      [[...git, '--git-verify', 'ssh:'], '--git-verify: expected ssh:ALLOWED_SIGNERS_FILE'],
      [[...git, '--git-verify', `${t.dir}/garbage.asc`], '--git-verify: expected ssh:'],
      [[...git, '--git-verify', `openpgp:${t.dir}/missing.asc`], `--git-verify openpgp:${t.dir}/missing.asc: cannot read it: ENOENT`],
      [[...git, '--git-verify', `ssh:${t.dir}`], 'cannot read it: EISDIR'],
      [[...git, '--git-verify', `ssh:${t.dir}/comments-only`], 'no allowed signer in it'],
      [[...git, '--git-verify', `ssh:${t.dir}/comments-only`, '--git-verify', `openpgp:${t.dir}/garbage.asc`], 'no allowed signer in it'],
    ];
    // root reads a mode-000 file anyway: only checked for other users
    if (process.getuid?.() !== 0) cases.push([[...git, '--git-verify', `ssh:${t.dir}/unreadable`], 'cannot read it: EACCES']);
    if (spawnSync('gpg', ['--version'], { stdio: 'ignore' }).error === undefined) {
      cases.push([[...git, '--git-verify', `openpgp:${t.dir}/garbage.asc`], `--git-verify openpgp:${t.dir}/garbage.asc: no public key imported (gpg: no valid OpenPGP data found.)`]);
    } else console.warn('gpg missing (apt-get install -y gnupg): the keyless OpenPGP keyring case is not checked');
    for (const [args, message] of cases) {
      const r = await runCli([...base, ...args]);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain(message);
    }
  } finally {
    t.cleanup();
  }
});
