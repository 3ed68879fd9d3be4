/**
 * Watches one or more `--manifests` directories and produces consistent snapshots of them.
 *
 * A snapshot pass over a root resolves a git-sync style symlink ONCE (the root itself being a
 * link, or a link inside the root pointing at a sibling revision directory, e.g. `current` →
 * `rev-2` or Kubernetes' `..data`), reads every `.yaml/.yml/.json` file under the resolved
 * directory, then resolves again: if the target changed or a file/directory vanished mid-read (the
 * old revision is deleted right after a flip), the pass is retried against the new target. A
 * half-read snapshot is never emitted.
 *
 * Events (chokidar on the real directory, the root, and the link's parent) are debounced; a cheap
 * periodic link check and a slower full resync catch anything the events missed. Identical
 * snapshots are not emitted twice.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { Dirent } from 'node:fs';
import * as path from 'node:path';
import { FSWatcher } from 'chokidar';
import type { ContainerJob, ResolvedJob } from '../api/types';

import type { Diagnostic } from '../manifest/diagnostic';
import { validateBytes } from '../manifest/validate';

export type { Diagnostic };

export interface SnapshotJob {
  job: ContainerJob;
  resolved?: ResolvedJob;
  file: string;
  line: number;
  column: number;
}

export interface SnapshotFile {
  /** Path as the user sees it: under the configured root (through the link), not the revision dir. */
  file: string;
  /** Readable and free of error diagnostics. */
  ok: boolean;
  /** Names of the valid jobs the file declares. */
  jobNames: string[];
  /**
   * For a file that is not ok: names that look declared in it (a best-effort scan of `name:`
   * keys), so a job that moved into a broken file is marked Invalid rather than pruned.
   */
  suspectNames?: string[];
  /** Why the file could not be read. */
  readError?: string;
}

export interface RootSnapshot {
  /** The configured root, as an absolute path (the identity used in `source.root`). */
  root: string;
  /** The directory actually read (the symlink target), or null when the root failed. */
  dir: string | null;
  /** Link target's basename, or the git commit when the directory is a git checkout. */
  revision: string | null;
  /** The symlink followed to `dir` (the root itself, or a link inside it), if any. */
  link?: string | null;
  /** False when the root could not be read at all: nothing may be pruned from it. */
  ok: boolean;
  error?: string;
  files: SnapshotFile[];
  jobs: SnapshotJob[];
  diagnostics: Diagnostic[];
}

export interface Snapshot {
  roots: RootSnapshot[];
}

export interface FileValidation {
  jobs: SnapshotJob[];
  diagnostics: Diagnostic[];
}

/** Validates one file's content (parse + schema + semantic checks); `file` is used in diagnostics. */
export type FileValidator = (content: Buffer, file: string) => FileValidation | Promise<FileValidation>;

export interface WatcherLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

const MANIFEST_EXT = new Set(['.yaml', '.yml', '.json']);
const MAX_PASS_ATTEMPTS = 8;
/** After watching a new directory, one more pass this much later (cheap: an unchanged snapshot is not emitted). */
const SETTLE_PASS_MS = 300;

/** The manifest validator (src/manifest/validate.ts): size, encoding, parse, schema, semantics, defaults. */
export const defaultValidator: FileValidator = (bytes, file) => {
  const r = validateBytes(bytes, file);
  return { jobs: r.jobs, diagnostics: r.diagnostics };
};

class Vanished extends Error {}

function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

interface Resolution {
  /** The directory to read. */
  dir: string;
  /** The path files are reported under (root, or root/link). */
  logicalDir: string;
  /** The link that was followed (root itself or root/NAME), if any. */
  link: string | null;
}

/**
 * Resolve a root once: the root's own symlink, or — when the root holds no manifest files of its
 * own — a link inside it to a revision directory inside it (`current` → `.worktrees/<sha>` of
 * git-sync, `..data` of a Kubernetes volume, or any `link` → `rev-2`; `current` and `..data` are
 * preferred when there are several).
 */
async function resolveRoot(root: string): Promise<Resolution> {
  const lst = await fsp.lstat(root);
  const real = await fsp.realpath(root);
  if (lst.isSymbolicLink()) return { dir: real, logicalDir: root, link: root };
  const entries = await fsp.readdir(real, { withFileTypes: true });
  // A directory with manifests of its own is read as it is (a link in it is just a link).
  if (entries.some((e) => !e.name.startsWith('.') && MANIFEST_EXT.has(path.extname(e.name).toLowerCase()))) {
    return { dir: real, logicalDir: root, link: null };
  }
  const candidates: { name: string; target: string }[] = [];
  for (const e of entries) {
    if (!e.isSymbolicLink()) continue;
    try {
      const target = await fsp.realpath(path.join(real, e.name));
      if (target.startsWith(real + path.sep) && (await fsp.stat(target)).isDirectory()) candidates.push({ name: e.name, target });
    } catch {
      // a dangling link is not a revision link
    }
  }
  if (candidates.length === 0) return { dir: real, logicalDir: root, link: null };
  candidates.sort((a, b) => (a.name < b.name ? -1 : 1));
  const chosen = candidates.find((c) => c.name === 'current') ?? candidates.find((c) => c.name === '..data') ?? candidates[0];
  return { dir: chosen.target, logicalDir: path.join(root, chosen.name), link: path.join(root, chosen.name) };
}

/**
 * All manifest files under `dir` (relative paths, sorted); dot-entries are skipped. A
 * sub-directory that cannot be listed is reported in `badDirs` rather than failing the root: one
 * unreadable folder must not stop every other file from being read (its jobs are kept, Invalid).
 */
async function listFiles(dir: string, rel = '', badDirs: { rel: string; error: string }[] = []): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await fsp.readdir(path.join(dir, rel), { withFileTypes: true });
  } catch (err) {
    if (isGone(err)) throw new Vanished(String(err));
    if (rel === '') throw err;
    badDirs.push({ rel, error: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
    return [];
  }
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith('.')) continue;
    const r = path.join(rel, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(dir, r, badDirs)));
    else if ((e.isFile() || e.isSymbolicLink()) && MANIFEST_EXT.has(path.extname(e.name).toLowerCase())) out.push(r);
  }
  return out;
}

/** Read `.git/HEAD` of a checkout (a `.git` directory, or a worktree's `gitdir:` file) → commit. */
export async function gitCommit(dir: string): Promise<string | null> {
  let gitDir = path.join(dir, '.git');
  try {
    const st = await fsp.stat(gitDir);
    if (st.isFile()) {
      const m = /^gitdir:\s*(.+)\s*$/m.exec(await fsp.readFile(gitDir, 'utf8'));
      if (!m) return null;
      gitDir = path.resolve(dir, m[1].trim());
    }
    const head = (await fsp.readFile(path.join(gitDir, 'HEAD'), 'utf8')).trim();
    if (/^[0-9a-f]{40,64}$/.test(head)) return head;
    const ref = /^ref:\s*(\S+)$/.exec(head)?.[1];
    if (!ref) return null;
    const dirs = [gitDir];
    try {
      dirs.push(path.resolve(gitDir, (await fsp.readFile(path.join(gitDir, 'commondir'), 'utf8')).trim()));
    } catch {
      // not a linked worktree
    }
    for (const d of dirs) {
      try {
        return (await fsp.readFile(path.join(d, ref), 'utf8')).trim();
      } catch {
        // try packed-refs
      }
      try {
        const packed = await fsp.readFile(path.join(d, 'packed-refs'), 'utf8');
        const line = packed.split('\n').find((l) => l.endsWith(` ${ref}`));
        if (line) return line.split(' ')[0];
      } catch {
        // none
      }
    }
    return null;
  } catch {
    return null;
  }
}

interface RawRoot {
  root: string;
  resolution: Resolution | null;
  revision: string | null;
  error?: string;
  files: { rel: string; file: string; content?: Buffer; readError?: string }[];
}

/** One consistent read of a root's files (retried when the link flips or files vanish mid-read). */
async function readRootFiles(root: string, delay: (ms: number) => Promise<void>, afterList?: ReadHooks['afterList']): Promise<RawRoot> {
  let lastError = '';
  for (let attempt = 0; attempt < MAX_PASS_ATTEMPTS; attempt++) {
    try {
      const res = await resolveRoot(root);
      const badDirs: { rel: string; error: string }[] = [];
      const rels = await listFiles(res.dir, '', badDirs);
      await afterList?.(root, res.dir, attempt);
      const files: RawRoot['files'] = badDirs.map((d) => ({ rel: d.rel, file: path.join(res.logicalDir, d.rel), readError: d.error }));
      for (const rel of rels) {
        const file = path.join(res.logicalDir, rel);
        try {
          files.push({ rel, file, content: await fsp.readFile(path.join(res.dir, rel)) });
        } catch (err) {
          // gone from under us (a flip, a delete) → retry the pass; a dangling link that is still
          // listed is this file's problem only
          if (isGone(err) && !(await fsp.lstat(path.join(res.dir, rel)).then(() => true, () => false))) {
            throw new Vanished(String(err));
          }
          files.push({ rel, file, readError: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
        }
      }
      const revision = (await gitCommit(res.dir)) ?? (res.link ? path.basename(res.dir) : null);
      // the pass is consistent only if the root still resolves to what was read
      const again = await resolveRoot(root);
      if (again.dir !== res.dir || again.logicalDir !== res.logicalDir) throw new Vanished('the root moved during the read');
      return { root, resolution: res, revision, files };
    } catch (err) {
      if (isGone(err) && !(await fsp.lstat(root).then(() => true, () => false))) {
        return { root, resolution: null, revision: null, error: `${root} does not exist`, files: [] };
      }
      if (err instanceof Vanished || isGone(err)) {
        lastError = (err as Error).message;
        // A vanished root (not a flip) fails after the retries below: never treat it as empty.
        await delay(5 * (attempt + 1));
        continue;
      }
      return { root, resolution: null, revision: null, error: (err as Error).message, files: [] };
    }
  }
  return { root, resolution: null, revision: null, error: `could not read a consistent snapshot: ${lastError}`, files: [] };
}

/** Test seams of a pass (e.g. flip a link between listing and reading). */
export interface ReadHooks {
  afterList?(root: string, dir: string, attempt: number): Promise<void> | void;
}

/** Read and validate every root once. */
export async function readSnapshot(
  roots: string[],
  opts: { validate?: FileValidator; delay?: (ms: number) => Promise<void>; hooks?: ReadHooks } = {},
): Promise<Snapshot> {
  const validate = opts.validate ?? defaultValidator;
  const delay = opts.delay ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const out: RootSnapshot[] = [];
  for (const configured of roots) {
    const root = path.resolve(configured);
    const raw = await readRootFiles(root, delay, opts.hooks?.afterList);
    const snap: RootSnapshot = {
      root,
      dir: raw.resolution?.dir ?? null,
      revision: raw.revision,
      link: raw.resolution?.link ?? null,
      ok: raw.resolution !== null,
      files: [],
      jobs: [],
      diagnostics: [],
    };
    if (raw.error) snap.error = raw.error;
    for (const f of raw.files) {
      if (f.content === undefined) {
        snap.files.push({ file: f.file, ok: false, jobNames: [], readError: f.readError });
        snap.diagnostics.push({ file: f.file, line: 0, column: 0, pointer: '', message: `cannot read file: ${f.readError}`, severity: 'error' });
        continue;
      }
      let v: FileValidation;
      try {
        v = await validate(f.content, f.file);
      } catch (err) {
        v = { jobs: [], diagnostics: [{ file: f.file, line: 0, column: 0, pointer: '', message: `validator failed: ${(err as Error).message}`, severity: 'error' }] };
      }
      const hasError = v.diagnostics.some((d) => (d.severity ?? 'error') === 'error');
      const entry: SnapshotFile = { file: f.file, ok: !hasError, jobNames: v.jobs.map((j) => j.job.metadata.name) };
      if (hasError) entry.suspectNames = suspectNames(f.content.toString('utf8'));
      snap.files.push(entry);
      snap.jobs.push(...v.jobs.map((j) => ({ ...j, file: j.file || f.file })));
      snap.diagnostics.push(...v.diagnostics.map((d) => ({ ...d, file: d.file || f.file })));
    }
    out.push(snap);
  }
  return { roots: out };
}

/** Every `name: x` / `"name": "x"` value in a text: candidates for the jobs a broken file declares. */
export function suspectNames(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/^[ \t-]*["']?name["']?[ \t]*:[ \t]*["']?([a-z0-9][-a-z0-9.]*)["']?/gm)) out.add(m[1]);
  for (const m of text.matchAll(/"name"\s*:\s*"([a-z0-9][-a-z0-9.]*)"/g)) out.add(m[1]);
  return [...out].sort();
}

/** A digest of what a snapshot was read from (identical input → no new emission). */
function digestOf(s: Snapshot): string {
  const h = createHash('sha256');
  for (const r of s.roots) {
    h.update(JSON.stringify([r.root, r.dir, r.revision, r.ok, r.error ?? null]));
    h.update(JSON.stringify(r.files));
    h.update(JSON.stringify(r.jobs));
    h.update(JSON.stringify(r.diagnostics));
  }
  return h.digest('hex');
}

export interface ManifestWatcherOptions {
  roots: string[];
  /** Quiet time after the last event before a pass (default 100 ms). */
  debounceMs?: number;
  /** A pass starts at the latest this long after the first pending event, even if events continue (default 1000 ms). */
  maxDelayMs?: number;
  /** How often the root/link targets are re-resolved without an event (default 500 ms; 0 = off). */
  linkCheckMs?: number;
  /** Full re-read without an event (default 60 s; 0 = off). */
  resyncMs?: number;
  onSnapshot(s: Snapshot): void | Promise<void>;
  logger: WatcherLogger;
  validate?: FileValidator;
}

export class ManifestWatcher {
  private readonly roots: string[];
  private readonly debounceMs: number;
  private readonly maxDelayMs: number;
  private readonly linkCheckMs: number;
  private readonly resyncMs: number;
  private readonly validate: FileValidator;
  private fsw: FSWatcher | undefined;
  private parentWatcher: FSWatcher | undefined;
  private watchedDirs = new Set<string>();
  private watchedParents = new Set<string>();
  private debounceTimer: NodeJS.Timeout | undefined;
  private firstPendingAt: number | undefined;
  private passRunning: Promise<void> | undefined;
  private again = false;
  private lastDigest: string | undefined;
  private linkTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private lastResolved = new Map<string, string>();
  private knownLinks = new Set<string>();
  private closed = false;
  /** Passes performed and snapshots emitted (for tests and metrics). */
  readonly stats = { passes: 0, emitted: 0 };

  constructor(private readonly opts: ManifestWatcherOptions) {
    this.roots = opts.roots.map((r) => path.resolve(r));
    this.debounceMs = opts.debounceMs ?? 100;
    this.maxDelayMs = opts.maxDelayMs ?? 1000;
    this.linkCheckMs = opts.linkCheckMs ?? 500;
    this.resyncMs = opts.resyncMs ?? 60_000;
    this.validate = opts.validate ?? defaultValidator;
  }

  /** Set up the watches, then read and emit the first snapshot. */
  async start(): Promise<void> {
    this.fsw = new FSWatcher({ ignoreInitial: true, followSymlinks: false, ignored: (p) => this.ignored(p), persistent: true });
    // the parent of each root, depth 0, only for the root entry itself (a root that is a link flips there)
    this.parentWatcher = new FSWatcher({
      ignoreInitial: true,
      followSymlinks: false,
      depth: 0,
      persistent: true,
      ignored: (p) => !this.watchedParents.has(p) && !this.roots.includes(p),
    });
    this.fsw.on('all', (event, p) => this.onEvent(event, p));
    this.parentWatcher.on('all', (event, p) => {
      if (this.roots.includes(p)) this.trigger(`${event} ${p}`);
    });
    for (const w of [this.fsw, this.parentWatcher]) {
      w.on('error', (err) => this.opts.logger.warn({ err: String(err) }, 'manifest watch error'));
    }
    const allReady = Promise.all([ready(this.fsw), ready(this.parentWatcher)]);
    await this.updateWatches();
    await allReady;
    await this.pass();
    if (this.linkCheckMs > 0) {
      this.linkTimer = setInterval(() => void this.checkLinks(), this.linkCheckMs);
      this.linkTimer.unref();
    }
    if (this.resyncMs > 0) {
      this.resyncTimer = setInterval(() => this.trigger('resync'), this.resyncMs);
      this.resyncTimer.unref();
    }
  }

  /** Stop watching; waits for a running pass to finish. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    if (this.linkTimer) clearInterval(this.linkTimer);
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    await Promise.all([this.fsw?.close(), this.parentWatcher?.close()]);
    await this.passRunning;
  }

  /** Request a pass (debounced). */
  trigger(reason = 'request'): void {
    if (this.closed) return;
    if (this.passRunning) {
      this.again = true;
      return;
    }
    const now = Date.now();
    this.firstPendingAt ??= now;
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    const wait = Math.max(0, Math.min(this.debounceMs, this.firstPendingAt + this.maxDelayMs - now));
    this.opts.logger.debug?.({ reason, wait }, 'manifest pass scheduled');
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      this.firstPendingAt = undefined;
      void this.pass();
    }, wait);
  }

  // internals ---------------------------------------------------------------------------------

  private ignored(p: string): boolean {
    // dot-entries below a watched directory (.git, editor swap files) are not manifests
    for (const d of this.watchedDirs) {
      if (p.startsWith(d + path.sep)) return path.relative(d, p).split(path.sep).some((s) => s.startsWith('.'));
    }
    return false;
  }

  private onEvent(event: string, p: string): void {
    if (this.closed) return;
    const ext = path.extname(p).toLowerCase();
    // directory events and manifest files matter; other files (README, swap files) do not
    if (event === 'add' || event === 'change' || event === 'unlink') {
      if (!MANIFEST_EXT.has(ext) && !this.isLinkPath(p)) return;
    }
    this.trigger(`${event} ${p}`);
  }

  /** A revision link (known from the last pass, or an extension-less entry directly in a root). */
  private isLinkPath(p: string): boolean {
    if (this.knownLinks.has(p)) return true;
    return this.roots.some((r) => p === r || (path.dirname(p) === r && path.extname(p) === ''));
  }

  private async pass(): Promise<void> {
    if (this.closed) return;
    if (this.passRunning) {
      // one pass at a time: a stale read must never be applied after a newer one
      this.again = true;
      return;
    }
    const run = (async () => {
      this.stats.passes++;
      try {
        const snap = await readSnapshot(this.roots, { validate: this.validate });
        for (const r of snap.roots) {
          if (r.dir) this.lastResolved.set(r.root, r.dir);
          if (r.link) this.knownLinks.add(r.link);
        }
        await this.updateWatches(snap);
        const digest = digestOf(snap);
        this.opts.logger.debug?.({ revisions: snap.roots.map((r) => r.revision), same: digest === this.lastDigest }, 'manifest pass done');
        if (digest === this.lastDigest) return;
        this.lastDigest = digest;
        for (const r of snap.roots) {
          if (!r.ok) this.opts.logger.warn({ root: r.root, error: r.error }, 'manifest root unreadable; keeping its jobs');
        }
        this.stats.emitted++;
        try {
          await this.opts.onSnapshot(snap);
        } catch (err) {
          this.lastDigest = undefined; // apply it again on the next pass
          throw err;
        }
      } catch (err) {
        this.opts.logger.error({ err: String(err) }, 'manifest snapshot failed');
      }
    })();
    this.passRunning = run;
    await run;
    this.passRunning = undefined;
    if (this.again && !this.closed) {
      this.again = false;
      this.trigger('changed during pass');
    }
  }

  /** Watch each root's real directory (recursively), the root itself, and a root link's parent. */
  private async updateWatches(snap?: Snapshot): Promise<void> {
    if (!this.fsw || !this.parentWatcher) return;
    const dirs = new Set<string>();
    const parents = new Set<string>();
    for (const root of this.roots) {
      dirs.add(root);
      const resolved = snap?.roots.find((r) => r.root === root)?.dir ?? (await fsp.realpath(root).catch(() => null));
      if (resolved) dirs.add(resolved);
      parents.add(path.dirname(root));
    }
    const addDirs = [...dirs].filter((d) => !this.watchedDirs.has(d));
    const removeDirs = [...this.watchedDirs].filter((d) => !dirs.has(d));
    if (removeDirs.length) this.fsw.unwatch(removeDirs);
    this.watchedDirs = dirs;
    if (addDirs.length) {
      this.fsw.add(addDirs);
      // chokidar sets a new watch up asynchronously: an edit made between this pass's read and
      // that moment would produce no event, so look once more when the watch is surely in place
      if (snap) {
        const t = setTimeout(() => this.trigger('new watch in place'), SETTLE_PASS_MS);
        t.unref();
      }
    }
    const addParents = [...parents].filter((d) => !this.watchedParents.has(d));
    this.watchedParents = new Set([...this.watchedParents, ...parents]);
    if (addParents.length) this.parentWatcher.add(addParents);
  }

  /** Cheap safety net: a link flip that produced no event is noticed within `linkCheckMs`. */
  private async checkLinks(): Promise<void> {
    if (this.closed || this.passRunning) return;
    for (const root of this.roots) {
      try {
        const res = await resolveRoot(root);
        if (this.lastResolved.get(root) !== res.dir) {
          this.trigger(`link of ${root} moved`);
          return;
        }
      } catch {
        if (this.lastResolved.has(root)) {
          this.lastResolved.delete(root);
          this.trigger(`root ${root} unreadable`);
          return;
        }
      }
    }
  }
}

function ready(w: FSWatcher): Promise<void> {
  return new Promise((resolve) => {
    w.once('ready', () => resolve());
    // a watch on a path that cannot be scanned may never report ready: do not hang start()
    setTimeout(resolve, 2000).unref();
  });
}
