/**
 * Git sources (`--git URL`): the controller follows a repository itself, without a git-sync sidecar.
 *
 * Each source keeps, under `<stateDir>/git/<id>/`:
 * - `mirror.git`: a bare repository. The first fetch is shallow (`--depth=1`); later fetches bring
 *   only the commits the mirror lacks. Fetches are made with the system `git` (README: why).
 * - `root/`: the directory handed to the manifest watcher like a `--manifests` directory. It holds
 *   `current` → `.revs/<commit>`, and each revision's tree (the `--git-path` subtree of the commit)
 *   is written to a fresh `.revs/<commit>` before `current` is switched to it by one rename. From
 *   there the directory source sync takes over unchanged: a bad file isolates its own jobs, an empty
 *   tree prunes nothing without `--allow-empty`, and each job's `status.sourceRevision` is the commit
 *   (the watcher reports a revision directory's name as its revision).
 * - `status.json`: the last applied and last attempted revisions, so a restart keeps them.
 *
 * Nothing here deletes a job: a fetch that fails (unreachable remote, deleted branch, a corrupt
 * mirror) or a ref that moved to a commit that does not descend from the applied one (a force-push)
 * leaves `current` where it is, and the source gets a Warning condition. A mirror that git cannot
 * use while the remote answers is moved aside and fetched again from scratch.
 *
 * Credentials (`secretFrom`: `env:NAME` or `file:PATH`) are handed to git through GIT_ASKPASS (an
 * HTTPS token) or `ssh -i` (an SSH key file); they are never put on a command line, in a log line,
 * in an error message, in the store or in the state dir. Error text is scrubbed of them, and of
 * any password in a URL, before it is kept or logged.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Gauge, Counter, type Registry } from 'prom-client';
import type { Condition } from '../store/types';
import type { Snapshot } from './watcher';
import { isSshUrl, redactUrl } from './git-url';
import { describeKeyrings, GitVerifier, type GitVerifyKeyring } from './git-verify';

export interface GitSourceSpec {
  url: string;
  /** Branch, tag or full commit id (default `HEAD`: the remote's default branch). */
  ref?: string;
  /** Directory inside the repository (default: the whole tree). */
  path?: string;
  /** How often the remote is fetched. */
  intervalMs: number;
  /** `env:NAME` or `file:PATH`: an HTTPS token or an SSH private key file. */
  secretFrom?: string;
  /** `--git-verify`: apply only commits signed by a key in one of these (src/controller/git-verify.ts). */
  verify?: GitVerifyKeyring[];
}

export interface GitSourceStatus {
  name: string;
  kind: 'git';
  /** The URL without any password. */
  url: string;
  ref: string;
  path: string;
  intervalSeconds: number;
  /** The directory the watcher reads (jobs' `source.root`). */
  root: string;
  lastAppliedRevision?: string;
  lastAttemptedRevision?: string;
  /** The commit the ref pointed at on the last successful fetch. */
  lastFetchedRevision?: string;
  lastFetchTime?: string;
  lastSuccessfulFetchTime?: string;
  lastFetchError?: string;
  /** `--git-verify` keyrings (`ssh:FILE`, `openpgp:FILE`); absent when commits are not verified. */
  verify?: string[];
  /** The last commit whose signature was accepted, and git's or gpg's line about it. */
  lastVerifiedRevision?: string;
  lastVerifiedSigner?: string;
  conditions: Condition[];
}

export interface GitLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

export interface GitSourcesOptions {
  stateDir: string;
  specs: GitSourceSpec[];
  /** The controller's environment (for `env:NAME` secrets, PATH and HOME). */
  env: Record<string, string | undefined>;
  logger: GitLogger;
  /** A new revision was switched in: ask the watcher for a pass. */
  onCheckout(): void;
  /** Apply a force-pushed (non-descendant) revision instead of holding the last applied one. */
  allowForcePush?: boolean;
  now?: () => number;
  /** Kill a git command after this long (default 60 s). */
  commandTimeoutMs?: number;
}

const SHA_RE = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

export { redactUrl };

class GitError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

interface Persisted {
  ref?: string;
  path?: string;
  lastAppliedRevision?: string;
  lastAttemptedRevision?: string;
}

/** One followed repository. */
export class GitSource {
  readonly name: string;
  readonly dir: string;
  readonly root: string;
  private readonly mirror: string;
  private readonly ref: string;
  private readonly subPath: string;
  private persisted: Persisted = {};
  private lastFetchedRevision: string | undefined;
  private lastFetchTime: number | undefined;
  private lastSuccessTime: number | undefined;
  private lastError: string | undefined;
  private warning: { reason: string; message: string } | undefined;
  /** Revision whose tree is in `current` (switched in, maybe not applied yet). */
  private checkedOut: string | undefined;
  private readonly verifier: GitVerifier | undefined;
  private lastVerified: { sha: string; signer: string } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  readonly stats = { fetches: 0, failures: 0, checkouts: 0, mirrorResets: 0 };

  constructor(
    readonly spec: GitSourceSpec,
    private readonly o: GitSourcesOptions,
    private readonly askpass: string,
  ) {
    this.ref = spec.ref && spec.ref.trim() ? spec.ref.trim() : 'HEAD';
    this.subPath = (spec.path ?? '').replace(/^\/+|\/+$/g, '');
    const id = createHash('sha256').update(JSON.stringify([spec.url, this.ref, this.subPath])).digest('hex').slice(0, 10);
    const base = (redactUrl(spec.url).replace(/\.git$/, '').split(/[/:]/).filter(Boolean).pop() ?? 'repo').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'repo';
    this.name = `${base.slice(0, 40)}-${id.slice(0, 6)}`;
    this.dir = path.join(o.stateDir, 'git', id);
    this.mirror = path.join(this.dir, 'mirror.git');
    this.root = path.join(this.dir, 'root');
    if (spec.verify && spec.verify.length > 0) {
      this.verifier = new GitVerifier({ dir: path.join(this.dir, 'verify'), keyrings: spec.verify, env: () => this.env(), timeoutMs: o.commandTimeoutMs ?? 60_000 });
    }
  }

  private now(): number {
    return this.o.now ? this.o.now() : Date.now();
  }

  async init(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    try {
      this.persisted = JSON.parse(await fsp.readFile(path.join(this.dir, 'status.json'), 'utf8')) as Persisted;
    } catch {
      this.persisted = {};
    }
    try {
      this.checkedOut = path.basename(await fsp.readlink(path.join(this.root, 'current')));
    } catch {
      this.checkedOut = undefined;
    }
    // a keyring that cannot be used stops the start (GitVerifyConfigError: a usage error)
    await this.verifier?.prepare();
  }

  /** First fetch (awaited), then one every interval. */
  async start(): Promise<void> {
    await this.sync();
    this.schedule();
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.sync().finally(() => this.schedule()), this.spec.intervalMs);
    this.timer.unref();
  }

  /** Fetch now (a webhook); resolves when that fetch is done. */
  async trigger(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    await this.sync();
    this.schedule();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** The watcher applied a snapshot of our root at `revision`. */
  async applied(revision: string): Promise<void> {
    if (this.persisted.lastAppliedRevision === revision) return;
    this.persisted.lastAppliedRevision = revision;
    await this.save();
    // older trees are no longer read by anyone: the watcher has moved on to `revision`
    await this.removeOldRevisions(revision);
  }

  status(): GitSourceStatus {
    const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
    const conditions: Condition[] = [];
    const applied = this.persisted.lastAppliedRevision;
    const t = iso(this.lastFetchTime) ?? new Date(this.now()).toISOString();
    const ready = this.warning === undefined && applied !== undefined && applied === this.lastFetchedRevision;
    conditions.push({
      type: 'Ready',
      status: ready ? 'True' : 'False',
      reason: ready ? 'Applied' : this.warning ? this.warning.reason : applied ? 'Progressing' : 'NotApplied',
      message: ready ? `revision ${applied} applied` : this.warning ? this.warning.message : applied ? `applying ${this.lastFetchedRevision ?? 'a new revision'}` : 'no revision applied yet',
      lastTransitionTime: t,
    });
    if (this.warning) {
      conditions.push({
        type: 'Warning',
        status: 'True',
        reason: this.warning.reason,
        message: `${this.warning.message}${applied ? `; keeping revision ${applied}` : ''}`,
        lastTransitionTime: t,
      });
    }
    const out: GitSourceStatus = {
      name: this.name,
      kind: 'git',
      url: redactUrl(this.spec.url),
      ref: this.ref,
      path: this.subPath,
      intervalSeconds: Math.round(this.spec.intervalMs / 1000),
      root: this.root,
      conditions,
    };
    if (applied) out.lastAppliedRevision = applied;
    if (this.persisted.lastAttemptedRevision) out.lastAttemptedRevision = this.persisted.lastAttemptedRevision;
    if (this.lastFetchedRevision) out.lastFetchedRevision = this.lastFetchedRevision;
    if (this.lastFetchTime !== undefined) out.lastFetchTime = iso(this.lastFetchTime);
    if (this.lastSuccessTime !== undefined) out.lastSuccessfulFetchTime = iso(this.lastSuccessTime);
    if (this.lastError) out.lastFetchError = this.lastError;
    if (this.spec.verify?.length) out.verify = describeKeyrings(this.spec.verify);
    if (this.lastVerified) {
      out.lastVerifiedRevision = this.lastVerified.sha;
      out.lastVerifiedSigner = this.lastVerified.signer;
    }
    return out;
  }

  // internals ---------------------------------------------------------------------------------

  private async save(): Promise<void> {
    const file = path.join(this.dir, 'status.json');
    await fsp.writeFile(`${file}.tmp`, JSON.stringify({ ...this.persisted, ref: this.ref, path: this.subPath }) + '\n', { mode: 0o600 });
    await fsp.rename(`${file}.tmp`, file);
  }

  private sync(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = (async () => {
      do {
        this.again = false;
        if (this.closed) return;
        await this.syncOnce();
      } while (this.again);
    })();
    this.running = run.finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async syncOnce(): Promise<void> {
    this.stats.fetches++;
    this.lastFetchTime = this.now();
    const t0 = performance.now();
    let fetched: string;
    try {
      fetched = await this.fetch();
    } catch (err) {
      this.stats.failures++;
      this.fail('FetchFailed', this.scrub((err as Error).message));
      return;
    }
    this.lastFetchedRevision = fetched;
    this.lastSuccessTime = this.lastFetchTime;
    this.lastError = undefined;
    const applied = this.persisted.lastAppliedRevision;
    // --git-verify: the fetched tip must be signed by a trusted key before anything else (also the
    // checked-out one, which an earlier run without --git-verify may have applied)
    if (this.verifier) {
      let v;
      try {
        v = await this.verifier.verify(this.mirror, fetched);
      } catch (err) {
        v = { ok: false as const, message: (err as Error).message };
      }
      if (!v.ok) {
        const msg = fetched === this.checkedOut ? `${v.message} (it is checked out already; no later commit is applied until one is signed)` : `${v.message}; not applied`;
        this.fail('UnverifiedCommit', this.scrub(msg), false);
        if (fetched !== this.checkedOut && this.persisted.lastAttemptedRevision !== fetched) {
          this.persisted.lastAttemptedRevision = fetched;
          await this.save();
        }
        return;
      }
      if (this.lastVerified?.sha !== fetched) this.o.logger.info({ source: this.name, revision: fetched, signature: v.signer }, `git source ${this.name}: ${fetched} verified: ${v.signer}`);
      this.lastVerified = { sha: fetched, signer: v.signer };
    }
    if (fetched === this.checkedOut) {
      this.warning = undefined;
      return;
    }
    // A ref that moved to a commit that does not contain the applied one (force-push, a tag moved
    // back) is held unless allowed; a pinned commit, or a ref the user changed, is the user's choice.
    const sameRef = this.persisted.ref === undefined || (this.persisted.ref === this.ref && (this.persisted.path ?? '') === this.subPath);
    const base = this.checkedOut ?? applied;
    if (base && base !== fetched && sameRef && !SHA_RE.test(this.ref) && !this.o.allowForcePush) {
      let descends = false;
      try {
        descends = await this.descendsFrom(fetched, base);
      } catch (err) {
        this.fail('FetchFailed', this.scrub((err as Error).message));
        return;
      }
      if (!descends) {
        this.persisted.lastAttemptedRevision = fetched;
        await this.save();
        this.fail('NonFastForward', `${this.ref} moved to ${fetched}, which does not descend from ${base} (a force-push?); not applied (restart with --git-allow-force-push to apply it)`, false);
        return;
      }
    }
    this.persisted.lastAttemptedRevision = fetched;
    await this.save();
    const t1 = performance.now();
    try {
      await this.checkout(fetched);
    } catch (err) {
      this.fail('CheckoutFailed', this.scrub((err as Error).message), false);
      return;
    }
    this.warning = undefined;
    this.o.logger.info(
      { source: this.name, revision: fetched, fetchMs: Math.round(t1 - t0), checkoutMs: Math.round(performance.now() - t1) },
      `git source ${this.name}: switched to ${fetched}`,
    );
    this.o.onCheckout();
  }

  private fail(reason: string, message: string, fetchError = true): void {
    if (fetchError) this.lastError = message;
    this.warning = { reason, message };
    this.o.logger.warn({ source: this.name, reason, error: message, keeping: this.persisted.lastAppliedRevision ?? null }, `git source ${this.name}: ${message}`);
  }

  /** Fetch the ref into the mirror; returns the commit it points at. */
  private async fetch(): Promise<string> {
    try {
      return await this.fetchInto();
    } catch (err) {
      // Tell a broken mirror from a remote that does not answer: ask the remote without the mirror.
      const probe = await this.lsRemote().catch((e: Error) => e);
      if (probe instanceof Error) throw new Error(`fetch of ${redactUrl(this.spec.url)} failed: ${lastLine(err)}`);
      if (!probe) throw new Error(`${this.ref} not found in ${redactUrl(this.spec.url)} (deleted?)`);
      this.stats.mirrorResets++;
      this.o.logger.warn({ source: this.name, error: this.scrub(lastLine(err)) }, `git source ${this.name}: the mirror is unusable; fetching it again`);
      await fsp.rm(this.mirror, { recursive: true, force: true });
      return this.fetchInto();
    }
  }

  private async fetchInto(): Promise<string> {
    const fresh = !(await exists(path.join(this.mirror, 'HEAD')));
    if (fresh) {
      await fsp.rm(this.mirror, { recursive: true, force: true });
      await this.git(['init', '--bare', '--quiet', this.mirror], this.dir);
    }
    // no background maintenance after the fetch: one process on the hot path
    const args = ['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--no-auto-maintenance'];
    if (fresh) args.push('--depth=1');
    args.push('--', this.spec.url, `+${this.ref}:refs/acictl/fetched`);
    await this.git(['--git-dir', this.mirror, ...args], this.dir);
    // peeling to the tree reads the commit: a corrupt mirror fails here (and is fetched again), not at checkout
    const [sha, tree] = (await this.git(['--git-dir', this.mirror, 'rev-parse', 'refs/acictl/fetched^{commit}', 'refs/acictl/fetched^{tree}', '--'], this.dir)).trim().split('\n');
    if (!sha || !tree) throw new Error('the mirror has no fetched commit');
    return sha;
  }

  /** Whether the remote has the ref (true), lacks it (false); throws when it cannot be asked. */
  private async lsRemote(): Promise<boolean> {
    if (SHA_RE.test(this.ref)) return true;
    const out = await this.git(['ls-remote', '--', this.spec.url, this.ref === 'HEAD' ? 'HEAD' : this.ref], this.dir);
    return out.trim() !== '';
  }

  /** `commit` has `ancestor` in its history; the history is fetched in full if the mirror lacks it. */
  private async descendsFrom(commit: string, ancestor: string): Promise<boolean> {
    // merge-base --is-ancestor: 0 yes, 1 no, anything else (128) the mirror lacks a commit
    const check = (): Promise<boolean | undefined> =>
      this.git(['--git-dir', this.mirror, 'merge-base', '--is-ancestor', ancestor, commit], this.dir).then(
        () => true,
        (err: GitError) => (err.code === 1 ? false : undefined),
      );
    const first = await check();
    if (first === true) return true;
    if (await exists(path.join(this.mirror, 'shallow'))) {
      await this.git(['--git-dir', this.mirror, 'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--unshallow', '--', this.spec.url, `+${this.ref}:refs/acictl/fetched`], this.dir);
      return (await check()) === true;
    }
    return false;
  }

  /** Write the revision's tree to a fresh directory and switch `current` to it in one rename. */
  private async checkout(sha: string): Promise<void> {
    const revs = path.join(this.root, '.revs');
    await fsp.mkdir(revs, { recursive: true });
    const target = path.join(revs, sha);
    if (!(await exists(target))) {
      const tmp = path.join(revs, `.tmp-${sha}-${process.pid}-${Date.now()}`);
      await fsp.mkdir(tmp);
      try {
        const treeish = this.subPath ? `${sha}:${this.subPath}` : `${sha}^{tree}`;
        const prev = this.checkedOut;
        const incremental = prev && prev !== sha && (await exists(path.join(revs, prev))) ? await this.extractChanges(prev, sha, treeish, path.join(revs, prev), tmp).catch(() => false) : false;
        if (!incremental) {
          await fsp.rm(tmp, { recursive: true, force: true });
          await fsp.mkdir(tmp);
          await this.extract(treeish, tmp).catch((err: Error) => {
            throw new Error(this.subPath ? `${this.subPath} is not a directory at ${sha} (${lastLine(err)})` : err.message);
          });
        }
        await fsp.rename(tmp, target);
      } catch (err) {
        await fsp.rm(tmp, { recursive: true, force: true });
        throw err;
      }
    }
    const link = path.join(this.root, `.current-${process.pid}`);
    await fsp.rm(link, { force: true });
    await fsp.symlink(path.join('.revs', sha), link);
    await fsp.rename(link, path.join(this.root, 'current'));
    this.checkedOut = sha;
    this.stats.checkouts++;
  }

  /**
   * The new tree as the previous one hard-linked (files are never written in place: a changed file
   * is a new file) with only the paths `git diff-tree` names written again. False when there is too
   * much to change (a full extract is then as cheap).
   */
  private async extractChanges(prev: string, sha: string, treeish: string, prevDir: string, dir: string): Promise<boolean> {
    const args = ['--git-dir', this.mirror, 'diff-tree', '-r', '-z', '--no-renames', '--name-status'];
    if (this.subPath) args.push(`--relative=${this.subPath}/`);
    const out = (await this.git([...args, prev, sha], this.dir)).split('\0').filter((x) => x !== '');
    const changes: { status: string; file: string }[] = [];
    for (let i = 0; i + 1 < out.length; i += 2) changes.push({ status: out[i], file: out[i + 1] });
    if (changes.length > 2000) return false;
    const copy = async (from: string, to: string): Promise<void> => {
      for (const e of await fsp.readdir(from, { withFileTypes: true })) {
        const a = path.join(from, e.name);
        const b = path.join(to, e.name);
        if (e.isDirectory()) {
          await fsp.mkdir(b);
          await copy(a, b);
        } else if (e.isSymbolicLink()) await fsp.symlink(await fsp.readlink(a), b);
        else await fsp.link(a, b);
      }
    };
    await copy(prevDir, dir);
    for (const c of changes) await fsp.rm(path.join(dir, c.file), { recursive: true, force: true });
    const write = changes.filter((c) => !c.status.startsWith('D')).map((c) => c.file);
    if (write.length > 0) await this.extract(treeish, dir, write);
    return true;
  }

  /** `git archive TREE [-- PATHS] | tar -x -C dir`, without a shell. */
  private extract(treeish: string, dir: string, paths: string[] = []): Promise<void> {
    return new Promise((resolve, reject) => {
      // paths are file names, never patterns
      const env = { ...this.env(), GIT_LITERAL_PATHSPECS: '1' };
      const archive = spawn('git', ['--git-dir', this.mirror, 'archive', '--format=tar', treeish, ...(paths.length ? ['--', ...paths] : [])], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const tar = spawn('tar', ['-x', '-f', '-', '-C', dir], { stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      archive.stderr.on('data', (d: Buffer) => (err += d.toString()));
      tar.stderr.on('data', (d: Buffer) => (err += d.toString()));
      archive.stdout.pipe(tar.stdin);
      let codes = 0;
      let failed = false;
      const done = (code: number | null) => {
        if (code !== 0) failed = true;
        if (++codes < 2) return;
        if (failed) reject(new GitError(`checkout of ${treeish} failed: ${err.trim().split('\n').pop() ?? ''}`, err));
        else resolve();
      };
      archive.on('error', reject);
      tar.on('error', reject);
      archive.on('close', done);
      tar.on('close', done);
    });
  }

  private async removeOldRevisions(keep: string): Promise<void> {
    const revs = path.join(this.root, '.revs');
    let names: string[];
    try {
      names = await fsp.readdir(revs);
    } catch {
      return;
    }
    for (const n of names) {
      if (n === keep || n === this.checkedOut) continue;
      await fsp.rm(path.join(revs, n), { recursive: true, force: true }).catch(() => undefined);
    }
  }

  private secretValue(): string | undefined {
    const s = this.spec.secretFrom;
    if (!s) return undefined;
    try {
      if (s.startsWith('env:')) return this.o.env[s.slice(4)];
      if (s.startsWith('file:')) return readFileSync(s.slice(5), 'utf8');
    } catch {
      return undefined;
    }
    return undefined;
  }

  /** The child environment: no prompts, and the credential route (never the secret on argv). */
  private env(): NodeJS.ProcessEnv {
    const e = this.o.env;
    const env: NodeJS.ProcessEnv = {
      PATH: e.PATH ?? '/usr/bin:/bin',
      HOME: e.HOME ?? this.dir,
      LC_ALL: 'C',
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_SSH_COMMAND: 'ssh -o BatchMode=yes',
    };
    const s = this.spec.secretFrom;
    if (s) {
      if (isSshUrl(this.spec.url)) {
        const key = s.slice(5); // file: only (checked when parsing the flags)
        env.GIT_SSH_COMMAND = `ssh -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new -i ${shellQuote(key)}`;
      } else {
        env.GIT_ASKPASS = this.askpass;
        if (s.startsWith('env:')) {
          env.ACICTL_GIT_SECRET_ENV = s.slice(4);
          env[s.slice(4)] = e[s.slice(4)];
        } else env.ACICTL_GIT_SECRET_FILE = s.slice(5);
      }
    }
    return env;
  }

  /** Remove the secret and URL passwords from text that may be kept or logged. */
  private scrub(text: string): string {
    let out = text.split(this.spec.url).join(redactUrl(this.spec.url));
    const secret = this.secretValue()?.trim();
    if (secret) out = out.split(secret).join('[redacted]');
    return out.replace(/(:\/\/[^/@:\s]*):[^/@\s]*@/g, '$1@');
  }

  private git(args: string[], cwd: string): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile('git', args, { cwd, env: this.env(), timeout: this.o.commandTimeoutMs ?? 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        if (err) {
          const code = typeof err.code === 'number' ? err.code : undefined;
          reject(new GitError(this.scrub(`git ${args.find((a) => !a.startsWith('-') && a !== this.mirror) ?? ''}: ${String(stderr).trim() || err.message}`), String(stderr), code));
        }
        else resolve(String(stdout));
      });
    });
  }
}

function lastLine(err: unknown): string {
  const m = (err as Error).message ?? String(err);
  const lines = m.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.filter((l) => l.startsWith('fatal:') || l.startsWith('error:')).pop() ?? lines.pop() ?? m;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

async function exists(p: string): Promise<boolean> {
  return fsp.lstat(p).then(() => true, () => false);
}

const ASKPASS = `#!/bin/sh
# acictl: answers git's credential prompts from the controller's --git-secret-from (nothing stored)
case "$1" in
  [Uu]sername*) printf '%s\\n' "\${ACICTL_GIT_USERNAME:-x-access-token}" ;;
  *) if [ -n "$ACICTL_GIT_SECRET_FILE" ]; then head -n 1 "$ACICTL_GIT_SECRET_FILE"; else printenv "$ACICTL_GIT_SECRET_ENV"; fi ;;
esac
`;

/** Every `--git` source of a controller. */
export class GitSources {
  readonly sources: GitSource[];
  private gauges: { ready: Gauge; lastFetch: Gauge; applied: Gauge; failures: Counter } | undefined;
  private readonly failuresSeen = new Map<string, number>();

  constructor(private readonly o: GitSourcesOptions) {
    const askpass = path.join(o.stateDir, 'git', 'askpass.sh');
    this.sources = o.specs.map((s) => new GitSource(s, o, askpass));
    const names = new Set<string>();
    for (const s of this.sources) {
      if (names.has(s.name)) throw new Error(`--git ${redactUrl(s.spec.url)} is given twice with the same ref and path`);
      names.add(s.name);
    }
  }

  /** The watcher roots, one per source. */
  roots(): string[] {
    return this.sources.map((s) => s.root);
  }

  /** Prepare the state dir and fetch every source once (a failure keeps what was checked out before). */
  async start(): Promise<void> {
    const dir = path.join(this.o.stateDir, 'git');
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    await fsp.writeFile(path.join(dir, 'askpass.sh'), ASKPASS, { mode: 0o700 });
    await fsp.chmod(path.join(dir, 'askpass.sh'), 0o700);
    for (const s of this.sources) await s.init();
    await Promise.all(this.sources.map((s) => s.start()));
  }

  /** Fetch every source now (the webhook). */
  async triggerAll(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.trigger()));
  }

  /** After the source sync applied a snapshot: the revisions of our roots are applied. */
  async noteApplied(snapshot: Snapshot): Promise<void> {
    for (const r of snapshot.roots) {
      if (!r.ok || !r.revision) continue;
      const s = this.sources.find((x) => x.root === r.root);
      if (s) await s.applied(r.revision);
    }
  }

  status(): GitSourceStatus[] {
    return this.sources.map((s) => s.status());
  }

  /** Gauges on the controller's registry, set at scrape time (`collect`). */
  registerMetrics(registry: Registry): void {
    const self = this;
    this.gauges = {
      ready: new Gauge({
        name: 'acictl_git_source_ready',
        help: 'Whether a git source has its fetched revision applied without warnings (1) or not (0).',
        labelNames: ['source'],
        registers: [registry],
        collect() {
          for (const st of self.status()) this.set({ source: st.name }, st.conditions.some((c) => c.type === 'Ready' && c.status === 'True') ? 1 : 0);
        },
      }),
      lastFetch: new Gauge({
        name: 'acictl_git_source_last_fetch_timestamp_seconds',
        help: 'When a git source was last fetched (successfully or not).',
        labelNames: ['source'],
        registers: [registry],
        collect() {
          for (const st of self.status()) if (st.lastFetchTime) this.set({ source: st.name }, Date.parse(st.lastFetchTime) / 1000);
        },
      }),
      applied: new Gauge({
        name: 'acictl_git_source_revision_info',
        help: 'The applied and the last attempted revision of a git source (value 1).',
        labelNames: ['source', 'applied', 'attempted'],
        registers: [registry],
        collect() {
          this.reset();
          for (const st of self.status()) this.set({ source: st.name, applied: st.lastAppliedRevision ?? '', attempted: st.lastAttemptedRevision ?? '' }, 1);
        },
      }),
      failures: new Counter({
        name: 'acictl_git_source_fetch_failures_total',
        help: 'Failed fetches of a git source.',
        labelNames: ['source'],
        registers: [registry],
        collect() {
          for (const s of self.sources) {
            const seen = self.failuresSeen.get(s.name) ?? 0;
            if (s.stats.failures > seen) this.inc({ source: s.name }, s.stats.failures - seen);
            self.failuresSeen.set(s.name, s.stats.failures);
          }
        },
      }),
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.close()));
  }
}
