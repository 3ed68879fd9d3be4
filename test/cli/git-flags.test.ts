/** `acictl controller --git …` flag parsing: each --git-* flag belongs to the --git before it; usage errors exit 2 and never show a URL password. */
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
