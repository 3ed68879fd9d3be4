/**
 * Which secret sources a manifest may name (issue 19). The operator declares them; the manifest
 * author only picks among them:
 * - `{env: NAME}`: NAME must start with one of `envPrefixes` (default `ACICTL_SECRET_`) or be one
 *   of `envNames`;
 * - `{file: PATH}`: PATH must lie inside one of `secretsDirs` (a relative PATH is taken relative to
 *   the first), contain no `..` segment, and its real path (symlinks resolved) must still lie inside
 *   that directory.
 * Whatever the flags, the controller's own secrets can never be named: its credentials' variables
 * (`AZURE_*`, `IDENTITY_*`, `MSI_*`, `ACICTL_TOKEN`), the files its credentials point at, and
 * everything under its state dir (API token, TLS key, store with the spec-hash HMAC key, emulator
 * state) or any other path the caller adds to `forbiddenPaths`.
 *
 * `check` is lexical (no I/O); `locate`/`locateSync` add the real-path checks, using only
 * realpath (lstat/readlink): a refused target is never opened. Messages name the rule broken and
 * the reference as the manifest wrote it, never a value.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SecretRef } from '../api/types';
import { AciError } from './types';

export const DEFAULT_SECRET_ENV_PREFIX = 'ACICTL_SECRET_';

/** Variables that carry the controller's own credentials: never a secret source. */
const NEVER_ENV_PREFIXES = ['AZURE_', 'IDENTITY_', 'MSI_'];
const NEVER_ENV_NAMES = new Set(['ACICTL_TOKEN']);
/** Variables naming files the controller's credentials read (their targets are never a source). */
const CREDENTIAL_FILE_VARS = ['AZURE_CLIENT_CERTIFICATE_PATH', 'AZURE_FEDERATED_TOKEN_FILE'];

export interface SecretAccessOptions {
  /** Allowed variable-name prefixes; default [DEFAULT_SECRET_ENV_PREFIX] when `envNames` is empty too. */
  envPrefixes?: string[];
  /** Allowed variable names. */
  envNames?: string[];
  /** Absolute directories `{file}` references may point into; none: `{file}` is refused. */
  secretsDirs?: string[];
  /** Absolute paths (files or directories) never readable as secrets, in addition to the built-in set. */
  forbiddenPaths?: string[];
  /** Allowed Key Vault names (`--key-vault`); none: `{keyVault}` is refused. */
  keyVaults?: string[];
  /** The controller's environment (for the credential file variables). */
  env?: Record<string, string | undefined>;
}

export class SecretAccess {
  readonly envPrefixes: string[];
  readonly envNames: Set<string>;
  readonly secretsDirs: { given: string; real: string }[];
  private readonly forbidden: string[];
  readonly keyVaults: Set<string>;

  constructor(opts: SecretAccessOptions = {}) {
    const prefixes = opts.envPrefixes ?? [];
    const names = opts.envNames ?? [];
    this.envPrefixes = prefixes.length === 0 && names.length === 0 ? [DEFAULT_SECRET_ENV_PREFIX] : prefixes;
    this.envNames = new Set(names);
    this.keyVaults = new Set(opts.keyVaults ?? []);
    this.secretsDirs = (opts.secretsDirs ?? []).map((d) => {
      const given = path.resolve(d);
      return { given, real: realOrSelf(given) };
    });
    const forbidden = [...(opts.forbiddenPaths ?? [])];
    for (const v of CREDENTIAL_FILE_VARS) {
      const p = opts.env?.[v];
      if (p) forbidden.push(path.resolve(p));
    }
    this.forbidden = [...new Set(forbidden.flatMap((p) => [path.resolve(p), realOrSelf(path.resolve(p))]))];
  }

  /** Lexical check (no I/O): the rule broken, or null. */
  check(ref: SecretRef): string | null {
    if ('env' in ref) return this.checkEnv(ref.env);
    if ('file' in ref) return this.checkFileLexical(ref.file).rule;
    if ('keyVault' in ref && !this.keyVaults.has(ref.keyVault.vault)) {
      return `key vault ${ref.keyVault.vault} is not an allowed secret source (the operator allows ${[...this.keyVaults].join(', ') || 'none'}; see --key-vault)`;
    }
    return null;
  }

  private checkEnv(name: string): string | null {
    if (NEVER_ENV_NAMES.has(name) || NEVER_ENV_PREFIXES.some((p) => name.startsWith(p))) {
      return `environment variable ${name} holds the controller's own credentials and can never be a secret source`;
    }
    if (this.envNames.has(name) || this.envPrefixes.some((p) => name.startsWith(p))) return null;
    const allowed = [...this.envPrefixes.map((p) => `${p}*`), ...this.envNames].join(', ');
    return `environment variable ${name} is not an allowed secret source (the operator allows ${allowed || 'none'}; see --secret-env-prefix / --secret-env)`;
  }

  private checkFileLexical(file: string): { rule: string | null; abs?: string; dir?: { given: string; real: string } } {
    if (this.secretsDirs.length === 0) return { rule: `file ${file}: file secrets are allowed only inside an operator-declared --secrets-dir, and none is declared` };
    if (file.split(/[\\/]+/).includes('..')) return { rule: `file ${file}: a secret path may not contain '..'` };
    const abs = path.isAbsolute(file) ? path.normalize(file) : path.join(this.secretsDirs[0].given, file);
    const dir = this.secretsDirs.find((d) => inside(abs, d.given) || inside(abs, d.real));
    if (!dir) return { rule: `file ${file} is outside the operator's secret directories (--secrets-dir)` };
    if (this.isForbidden(abs)) return { rule: `file ${file} is one of the controller's own secrets and can never be a secret source` };
    return { rule: null, abs, dir };
  }

  private isForbidden(p: string): boolean {
    return this.forbidden.some((f) => p === f || inside(p, f));
  }

  /**
   * The real path of an allowed `{file}` reference. Throws AciError('SecretMissing', code
   * 'SecretRefused') for a refused one, ('SecretMissing', 'SecretMissing') when it does not exist.
   */
  locateSync(file: string): string {
    const lex = this.checkFileLexical(file);
    if (lex.rule) throw refused(lex.rule);
    let real: string;
    try {
      real = fs.realpathSync(lex.abs!);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException)?.code ?? 'unreadable';
      throw new AciError('SecretMissing', `secret file ${file} cannot be read (${code})`, 'SecretMissing');
    }
    return this.confined(file, real, lex.dir!);
  }

  async locate(file: string): Promise<string> {
    const lex = this.checkFileLexical(file);
    if (lex.rule) throw refused(lex.rule);
    let real: string;
    try {
      real = await fs.promises.realpath(lex.abs!);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException)?.code ?? 'unreadable';
      throw new AciError('SecretMissing', `secret file ${file} cannot be read (${code})`, 'SecretMissing');
    }
    return this.confined(file, real, lex.dir!);
  }

  /** `check` plus, for a file, the real-path rules; a missing file is not a refusal (null). */
  checkWithPath(ref: SecretRef): string | null {
    const rule = this.check(ref);
    if (rule || !('file' in ref)) return rule;
    try {
      this.locateSync(ref.file);
      return null;
    } catch (e) {
      return e instanceof AciError && e.code === 'SecretRefused' ? e.message.replace(/^SecretRefused: /, '') : null;
    }
  }

  private confined(file: string, real: string, dir: { given: string; real: string }): string {
    if (!inside(real, dir.real)) throw refused(`file ${file} leads out of its secret directory (through a symbolic link)`);
    if (this.isForbidden(real)) throw refused(`file ${file} is one of the controller's own secrets and can never be a secret source`);
    return real;
  }
}

function refused(rule: string): AciError {
  return new AciError('SecretMissing', `SecretRefused: ${rule}`, 'SecretRefused');
}

function inside(p: string, dir: string): boolean {
  const rel = path.relative(dir, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

function realOrSelf(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}
