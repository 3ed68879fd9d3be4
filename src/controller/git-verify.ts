/**
 * `--git-verify FORMAT:FILE`: a git source applies only commits whose signature a given keyring
 * accepts. The cryptography is git's, gpg's and ssh-keygen's: the fetched commit is checked with
 * `git verify-commit` in the source's mirror, and nothing here reads a signature.
 *
 * - `ssh:FILE` — an SSH allowed-signers file (`ssh-keygen(1)` ALLOWED SIGNERS). Every ssh file of a
 *   source is copied into `<source dir>/verify/allowed_signers`, which git is pointed at with
 *   `gpg.ssh.allowedSignersFile`.
 * - `openpgp:FILE` — an OpenPGP public keyring, armored or binary. Every openpgp file of a source is
 *   imported into a private GNUPGHOME, `<source dir>/verify/gnupg` (never the user's ~/.gnupg), whose
 *   keys are marked trusted: the keyring is the trust decision. No gpg-agent is started.
 *
 * Both are set for every verification (GNUPGHOME always the private one), so a commit signed in the
 * other format, or with X.509, is checked against our (empty) keyring and refused. The user's global
 * git config is not read by these commands. The files are read again before each verification; a
 * changed file rebuilds the private copies, so a rotated key needs no restart.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

export type GitVerifyFormat = 'ssh' | 'openpgp';

export interface GitVerifyKeyring {
  format: GitVerifyFormat;
  /** Absolute path. */
  file: string;
}

export const GIT_VERIFY_FORMATS: readonly GitVerifyFormat[] = ['ssh', 'openpgp'];

/** A keyring that cannot be used (unreadable, no key in it): a start-up usage error. */
export class GitVerifyConfigError extends Error {
  readonly code = 'ACICTL_GIT_VERIFY_CONFIG';
}

export type VerifyResult = { ok: true; signer: string } | { ok: false; message: string };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface GitVerifierOptions {
  /** `<source dir>/verify`. */
  dir: string;
  keyrings: GitVerifyKeyring[];
  /** The environment git and gpg run with (PATH, HOME, ...); GNUPGHOME is replaced. */
  env: () => NodeJS.ProcessEnv;
  timeoutMs: number;
}

export function describeKeyrings(keyrings: GitVerifyKeyring[]): string[] {
  return keyrings.map((k) => `${k.format}:${k.file}`);
}

export class GitVerifier {
  private readonly gnupg: string;
  private readonly allowedSigners: string;
  /** Hash of the keyring files' contents the private copies were built from. */
  private built: string | undefined;
  private readonly cache = new Map<string, VerifyResult>();

  constructor(private readonly o: GitVerifierOptions) {
    this.gnupg = path.join(o.dir, 'gnupg');
    this.allowedSigners = path.join(o.dir, 'allowed_signers');
  }

  /** Read the keyring files and (re)build the private copies when they changed. Throws GitVerifyConfigError. */
  async prepare(): Promise<void> {
    const contents: Buffer[] = [];
    for (const k of this.o.keyrings) {
      try {
        contents.push(await fsp.readFile(k.file));
      } catch (err) {
        throw new GitVerifyConfigError(`--git-verify ${k.format}:${k.file}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    const h = createHash('sha256');
    this.o.keyrings.forEach((k, i) => h.update(`${k.format}:${k.file}:${contents[i].length}:`).update(contents[i]));
    const hash = h.digest('hex');
    if (hash === this.built) return;
    await fsp.mkdir(this.o.dir, { recursive: true, mode: 0o700 });
    // ssh: one allowed-signers file of every ssh keyring, written aside and renamed in
    const ssh = this.o.keyrings.map((k, i) => ({ k, c: contents[i] })).filter((x) => x.k.format === 'ssh');
    for (const { k, c } of ssh) {
      // only that the file names someone; what a line means is ssh-keygen's business
      if (!c.toString('utf8').split('\n').some((l) => l.trim() !== '' && !l.trim().startsWith('#'))) {
        throw new GitVerifyConfigError(`--git-verify ssh:${k.file}: no allowed signer in it (an ssh-keygen ALLOWED SIGNERS file: "PRINCIPAL KEYTYPE KEY" per line)`);
      }
    }
    const tmpSigners = `${this.allowedSigners}.tmp-${process.pid}`;
    await fsp.writeFile(tmpSigners, Buffer.concat(ssh.flatMap(({ c }) => (c.length === 0 || c[c.length - 1] === 0x0a ? [c] : [c, Buffer.from('\n')]))), { mode: 0o600 });
    await fsp.rename(tmpSigners, this.allowedSigners);
    // openpgp: a fresh private GNUPGHOME, switched in by rename
    const home = `${this.gnupg}.new-${process.pid}`;
    await fsp.rm(home, { recursive: true, force: true });
    await fsp.mkdir(home, { mode: 0o700 });
    await fsp.writeFile(path.join(home, 'gpg.conf'), 'no-autostart\nno-auto-key-retrieve\nno-auto-key-locate\n', { mode: 0o600 });
    try {
      for (const k of this.o.keyrings.filter((x) => x.format === 'openpgp')) {
        const before = await this.fingerprints(home);
        const imp = await this.run('gpg', ['--batch', '--no-tty', '--no-autostart', '--homedir', home, '--import', '--', k.file]);
        const after = await this.fingerprints(home);
        if (after.length === before.length) {
          const why = imp.stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/Total number processed|no gpg-agent running|keybox .* created|trustdb created/.test(l));
          throw new GitVerifyConfigError(`--git-verify openpgp:${k.file}: no public key imported (${why.slice(-2).join('; ') || `gpg exit ${imp.code}`})`);
        }
      }
      // every imported key is trusted: being in the keyring is the trust decision
      const fprs = this.o.keyrings.some((x) => x.format === 'openpgp') ? await this.fingerprints(home) : [];
      if (fprs.length > 0) {
        const trust = await this.run('gpg', ['--batch', '--no-tty', '--no-autostart', '--homedir', home, '--import-ownertrust'], fprs.map((f) => `${f}:6:\n`).join(''));
        if (trust.code !== 0) throw new GitVerifyConfigError(`--git-verify: gpg could not record the keys' trust: ${lastLines(trust.stderr)}`);
      }
      await fsp.rm(this.gnupg, { recursive: true, force: true });
      await fsp.rename(home, this.gnupg);
    } catch (err) {
      await fsp.rm(home, { recursive: true, force: true });
      if (err instanceof GitVerifyConfigError) throw err;
      const e = err as NodeJS.ErrnoException;
      throw new GitVerifyConfigError(e.code === 'ENOENT' ? '--git-verify openpgp: gpg is not installed (apt-get install gnupg)' : `--git-verify: ${e.message}`);
    }
    this.built = hash;
    this.cache.clear();
  }

  /** `git verify-commit` of `sha` in `mirror` against the private keyrings. */
  async verify(mirror: string, sha: string): Promise<VerifyResult> {
    await this.prepare();
    const hit = this.cache.get(sha);
    if (hit) return hit;
    const args = ['--git-dir', mirror, '-c', `gpg.ssh.allowedSignersFile=${this.allowedSigners}`, 'verify-commit', '--', sha];
    let r: Run;
    try {
      r = await this.run('git', args);
    } catch (err) {
      return { ok: false, message: `git verify-commit could not run: ${(err as Error).message}` };
    }
    const lines = r.stderr.split('\n').map((l) => l.trim()).filter(Boolean);
    let result: VerifyResult;
    if (r.code === 0) {
      // the line git or gpg printed about the good signature, for the log and the status
      const good = lines.find((l) => /Good .*signature/.test(l)) ?? lines[lines.length - 1] ?? 'verified';
      result = { ok: true, signer: good.replace(/^gpg:\s*/, '') };
    } else if (lines.length === 0) {
      result = { ok: false, message: `commit ${sha} is not signed` };
    } else {
      // gpg's chatter about its own files and the signature's date is not the reason
      const why = lines.filter((l) => !/^gpg:\s+(Signature made|using |keybox .* created|.*trustdb created)/.test(l) && !/^Primary key fingerprint/.test(l));
      result = { ok: false, message: `commit ${sha} is not signed by a key in ${describeKeyrings(this.o.keyrings).join(', ')}: ${(why.length ? why : lines).join('; ').slice(0, 600)}` };
    }
    if (this.cache.size > 64) this.cache.clear();
    this.cache.set(sha, result);
    return result;
  }

  private async fingerprints(home: string): Promise<string[]> {
    const r = await this.run('gpg', ['--batch', '--no-tty', '--no-autostart', '--homedir', home, '--with-colons', '--list-keys']);
    // machine-readable key listing: the fpr record following each pub record is the primary key's
    const out: string[] = [];
    let wantFpr = false;
    for (const line of r.stdout.split('\n')) {
      const f = line.split(':');
      if (f[0] === 'pub') wantFpr = true;
      else if (f[0] === 'fpr' && wantFpr) {
        out.push(f[9]);
        wantFpr = false;
      }
    }
    return out;
  }

  private run(cmd: string, args: string[], input?: string): Promise<Run> {
    return new Promise((resolve, reject) => {
      const env: NodeJS.ProcessEnv = { ...this.o.env(), GNUPGHOME: this.gnupg, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C' };
      const child = execFile(cmd, args, { env, timeout: this.o.timeoutMs, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean }) | null;
        if (e && typeof e.code !== 'number') {
          reject(e.killed ? new Error(`${cmd} timed out`) : e);
          return;
        }
        resolve({ code: e ? Number(e.code) : 0, stdout: String(stdout), stderr: String(stderr) });
      });
      if (input !== undefined) child.stdin?.end(input);
      else child.stdin?.end();
    });
  }
}

function lastLines(s: string): string {
  return s.split('\n').map((l) => l.trim()).filter(Boolean).slice(-2).join('; ');
}
