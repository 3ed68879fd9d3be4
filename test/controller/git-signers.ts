/** Real signing keys for the --git-verify tests: ssh-keygen ed25519 and gpg --quick-gen-key (temporary GNUPGHOME, no passphrase). */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

export interface Signer {
  /** `git -c` settings (and environment) that make `commit -S` sign with this key. */
  sign: { config: string[]; env?: Record<string, string> };
  /** The public half, as the content of a --git-verify file. */
  keyring: Buffer;
  /** openpgp: a HOME whose ~/.gnupg holds this key (secret and public, ultimately trusted). */
  home?: string;
}

/** The tools the tests need that are not there (empty: all there). */
export function missingSigningTools(): string[] {
  return ['git', 'ssh-keygen', 'gpg', 'gpgconf'].filter((c) => (spawnSync(c, ['--version'], { stdio: 'ignore' }).error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT');
}

export function sshSigner(dir: string, name: string): Signer {
  const key = path.join(dir, `ssh-${name}`);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', key]);
  const pub = readFileSync(`${key}.pub`, 'utf8').trim();
  return { sign: { config: ['gpg.format=ssh', `user.signingkey=${key}`] }, keyring: Buffer.from(`# trusted\n${name}@example.com namespaces="git" ${pub}\n`) };
}

/** `homes` collects the GNUPGHOMEs made, for killGpgAgents. */
export function gpgSigner(dir: string, name: string, armor: boolean, homes: string[]): Signer {
  const user = path.join(dir, `home-${name}`);
  const home = path.join(user, '.gnupg');
  mkdirSync(home, { recursive: true, mode: 0o700 });
  homes.push(home);
  const env = { ...process.env, GNUPGHOME: home };
  execFileSync('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', `${name} <${name}@example.com>`, 'ed25519', 'sign', 'never'], { env, stdio: 'ignore' });
  const colons = execFileSync('gpg', ['--batch', '--with-colons', '--list-secret-keys'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const fpr = colons.split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9];
  const keyring = execFileSync('gpg', ['--batch', ...(armor ? ['--armor'] : []), '--export', fpr], { env, stdio: ['ignore', 'pipe', 'ignore'] });
  return { sign: { config: ['gpg.format=openpgp', `user.signingkey=${fpr}`], env: { GNUPGHOME: home } }, keyring, home: user };
}

/** Stop the gpg-agents that making and using the keys started. */
export function killGpgAgents(homes: string[]): void {
  for (const h of homes.splice(0)) spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: h }, stdio: 'ignore' });
}
