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
 * Passes are incremental: the reader keeps, per file, its stat (dev, ino, size, mtime, ctime), a
 * hash of its content and its validation result. A pass lists and stats every file but reads only
 * those whose stat changed, that an event named, or that were modified so recently that a later
 * write could keep the same stat ("racy", as git calls it); a re-read file whose content hash is
 * unchanged is not validated again. Reads run with bounded parallelism and no file's bytes are
 * kept after its validation. With a persistent cache (ReaderOptions.cache) a file the reader has
 * not seen yet in this process is looked up by content before it is validated, so a restarted
 * controller validates only what changed while it was down.
 *
 * Events come from one `fs.watch` per directory (never one per file): each root's parent (a root
 * that is a link flips there), each root's real directory, and every directory read. A directory
 * is watched before it is listed, so nothing created after its listing goes unseen. Events are
 * debounced; a cheap periodic link check and a slower full resync catch anything the events
 * missed. Identical snapshots are not emitted twice.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import type { Dirent, Stats } from 'node:fs';
import * as path from 'node:path';
import type { ContainerJob, ResolvedJob } from '../api/types';

import type { Diagnostic } from '../manifest/diagnostic';
import { ValidatorPool } from '../manifest/validate-pool';
import { formatOf, loadText } from '../manifest/load';
import { locateProblems } from '../manifest/locate';

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

/**
 * Validation results kept outside the reader, by file and content (src/manifest/persistent-cache.ts
 * keeps them across restarts). It must describe the reader's validator: a hit is used as the
 * validator's own result. The reader calls `get` before validating a file, `set` after, `forget`
 * when a file's content changed or the file is gone, and `flush` at the end of each pass. None of
 * them may throw: a cache that fails just misses.
 */
export interface ValidationResultCache {
  /** `contentHash`: the base64 sha256 of the file's bytes. */
  get(file: string, contentHash: string): FileValidation | undefined;
  set(file: string, contentHash: string, result: FileValidation): void;
  forget(file: string, contentHash: string): void;
  /** End of a pass; `liveFiles`: the files the reader knows now (to bound what is kept). */
  flush(liveFiles: number): void;
}

export interface WatcherLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

const MANIFEST_EXT = new Set(['.yaml', '.yml', '.json']);
const MAX_PASS_ATTEMPTS = 8;
/** Files read (stat + read + hash + validate) at once in a pass. */
const READ_CONCURRENCY = 32;
/**
 * A file modified less than this long before it was stat'ed may be written again without its stat
 * changing (timestamps are coarse): it is read again on the next pass whatever its stat says.
 */
const RACY_MS = 1000;

let sharedPool: ValidatorPool | null = null;

/**
 * The manifest validator (src/manifest/validate.ts): size, encoding, parse, schema, semantics,
 * defaults — on worker threads when a pass has many files to validate, in place otherwise
 * (src/manifest/validate-pool.ts). The watcher keeps its own per-file results keyed by content
 * hash, so the process-wide validation cache (which would hold a second copy of every job) is not
 * used here.
 */
export const defaultValidator: FileValidator = (bytes, file) => (sharedPool ??= new ValidatorPool()).validate(bytes, file);

/** Files the default validator validated in this process (in place and on workers; for benchmarks and metrics). */
export function defaultValidatorStats(): { inPlace: number; inWorkers: number } {
  return { inPlace: sharedPool?.stats.inPlace ?? 0, inWorkers: sharedPool?.stats.inWorkers ?? 0 };
}

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
async function listFiles(
  dir: string,
  rel = '',
  badDirs: { rel: string; error: string }[] = [],
  onDir?: (absDir: string) => void,
  dirs?: string[],
): Promise<string[]> {
  let entries: Dirent[];
  const abs = path.join(dir, rel);
  // watched before it is listed: an entry created after the listing produces an event
  onDir?.(abs);
  dirs?.push(abs);
  try {
    entries = await fsp.readdir(abs, { withFileTypes: true });
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
    if (e.isDirectory()) out.push(...(await listFiles(dir, r, badDirs, onDir, dirs)));
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

/** Test seams of a pass (e.g. flip a link between listing and reading, count reads). */
export interface ReadHooks {
  afterList?(root: string, dir: string, attempt: number): Promise<void> | void;
  /** Called for every file whose content is read (the path read, under the real directory). */
  onRead?(absPath: string): void;
}

/** What one file contributed to a snapshot (shared between the snapshots it is unchanged in). */
interface FileResult {
  entry: SnapshotFile;
  jobs: SnapshotJob[];
  diagnostics: Diagnostic[];
}

/** What the reader remembers of a file that could be read. */
interface FileState {
  /** The real directory the file was read from (a flip to another revision makes every stat stale). */
  dir: string;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  /** Modified just before it was stat'ed: read again on the next pass whatever its stat says. */
  racy: boolean;
  /** sha256 of the content: an unchanged content is not validated again. */
  hash: string;
  result: FileResult;
}

/** A file of one pass: read (with its state), or not readable. */
type PassFile = { file: string; state: FileState } | { file: string; readError: string };

interface RootRead {
  root: string;
  resolution: Resolution | null;
  revision: string | null;
  error?: string;
  files: PassFile[];
  /** Every directory listed in the consistent attempt (the directories to watch). */
  dirs: string[];
}

export interface ReaderOptions {
  validate?: FileValidator;
  delay?: (ms: number) => Promise<void>;
  hooks?: ReadHooks;
  /** Files read at once (default 32). */
  concurrency?: number;
  /** A file modified less than this long before its stat is read again on the next pass (default 1000 ms). */
  racyMs?: number;
  /**
   * Results by content, consulted before validating (default: none, every new content is
   * validated). Only misses reach the validator, so a pool's in-place vs worker decision sees only
   * the files that really need validating.
   */
  cache?: ValidationResultCache;
  /**
   * Operator admission (src/controller/admission.ts), applied to every result, cached or not
   * (the cache keys on content; the operator's rules are not part of it): a job with problems
   * becomes an error diagnostic at the offending field's line.
   */
  admit?: (job: ContainerJob, file: string) => { pointer: string; message: string }[];
}

export interface ReadOptions {
  /**
   * Paths an event named (under the real directories): read again even if their stat is the same.
   */
  changed?: ReadonlySet<string>;
  /** Called with each directory just before it is listed (to watch it first). */
  onDir?(absDir: string): void;
}

export interface ReadResult {
  snapshot: Snapshot;
  /** Identical digests ⇔ identical input (roots, revisions, files and their contents). */
  digest: string;
  /** Per configured root (same order): the directories read, [] when the root failed. */
  dirs: string[][];
}

function sameStat(s: FileState, st: Stats): boolean {
  return s.dev === st.dev && s.ino === st.ino && s.size === st.size && s.mtimeMs === st.mtimeMs && s.ctimeMs === st.ctimeMs;
}

/** Runs `fn` over `items` with at most `limit` in flight; the first failure is thrown once all have settled. */
async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        await fn(items[i], i);
      } catch (err) {
        if (!failed) {
          failed = true;
          failure = err;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) throw failure;
}

/**
 * Reads consistent snapshots of roots, remembering each file's stat, content hash and validation
 * result between calls so a pass reads and validates only what changed.
 */
export class ManifestReader {
  private readonly validate: FileValidator;
  private readonly delay: (ms: number) => Promise<void>;
  private readonly hooks: ReadHooks;
  private readonly concurrency: number;
  private readonly racyMs: number;
  private readonly cache: ValidationResultCache | undefined;
  private readonly admit: ReaderOptions['admit'];
  /** root → logical file → state (replaced as a whole after each consistent read of the root). */
  private readonly state = new Map<string, Map<string, FileState>>();
  /** Files read, files validated, and files whose result came from the cache (cumulative; for tests and metrics). */
  readonly stats = { reads: 0, validations: 0, cacheHits: 0 };

  constructor(opts: ReaderOptions = {}) {
    this.validate = opts.validate ?? defaultValidator;
    this.delay = opts.delay ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    this.hooks = opts.hooks ?? {};
    this.concurrency = Math.max(1, opts.concurrency ?? READ_CONCURRENCY);
    this.racyMs = opts.racyMs ?? RACY_MS;
    this.cache = opts.cache;
    this.admit = opts.admit;
  }

  /** Read every root once (incrementally) and assemble the snapshot. */
  async read(roots: string[], opts: ReadOptions = {}): Promise<ReadResult> {
    const out: RootSnapshot[] = [];
    const dirs: string[][] = [];
    const h = createHash('sha256');
    for (const configured of roots) {
      const root = path.resolve(configured);
      const raw = await this.readRoot(root, opts);
      if (raw.resolution) {
        const next = new Map<string, FileState>();
        for (const f of raw.files) if ('state' in f) next.set(f.file, f.state);
        // A content the reader no longer sees at its path will not be looked up again: drop it
        // from the cache now, so that the cache follows the live files instead of every edit.
        const prev = this.state.get(root);
        if (this.cache && prev) {
          for (const [file, s] of prev) {
            if (next.get(file)?.hash !== s.hash) this.cache.forget(file, s.hash);
          }
        }
        this.state.set(root, next);
      }
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
      h.update(JSON.stringify([root, snap.dir, snap.revision, snap.link, snap.ok, raw.error ?? null]));
      for (const f of raw.files) {
        if ('readError' in f) {
          snap.files.push({ file: f.file, ok: false, jobNames: [], readError: f.readError });
          snap.diagnostics.push({ file: f.file, line: 0, column: 0, pointer: '', message: `cannot read file: ${f.readError}`, severity: 'error' });
          h.update(`\n!${f.file}\0${f.readError}`);
          continue;
        }
        const r = f.state.result;
        snap.files.push(r.entry);
        for (const j of r.jobs) snap.jobs.push(j);
        for (const d of r.diagnostics) snap.diagnostics.push(d);
        h.update(`\n${f.file}\0${f.state.hash}`);
      }
      out.push(snap);
      dirs.push(raw.dirs);
    }
    if (this.validate === defaultValidator) sharedPool?.release();
    if (this.cache) {
      let live = 0;
      for (const files of this.state.values()) live += files.size;
      this.cache.flush(live);
    }
    return { snapshot: { roots: out }, digest: h.digest('hex'), dirs };
  }

  /** Forget what was read (the next pass reads and validates everything). */
  reset(): void {
    this.state.clear();
  }

  /** One consistent read of a root's files (retried when the link flips or files vanish mid-read). */
  private async readRoot(root: string, opts: ReadOptions): Promise<RootRead> {
    let lastError = '';
    const failed = (error: string): RootRead => ({ root, resolution: null, revision: null, error, files: [], dirs: [] });
    for (let attempt = 0; attempt < MAX_PASS_ATTEMPTS; attempt++) {
      try {
        const res = await resolveRoot(root);
        const badDirs: { rel: string; error: string }[] = [];
        const dirs: string[] = [];
        const rels = await listFiles(res.dir, '', badDirs, opts.onDir, dirs);
        await this.hooks.afterList?.(root, res.dir, attempt);
        const previous = this.state.get(root);
        const startedAt = Date.now();
        const read: PassFile[] = new Array<PassFile>(rels.length);
        await forEachLimit(rels, this.concurrency, async (rel, i) => {
          read[i] = await this.readFile(res, rel, previous, opts.changed, startedAt);
        });
        const files: PassFile[] = badDirs.map((d) => ({ file: path.join(res.logicalDir, d.rel), readError: d.error }));
        for (const f of read) files.push(f);
        const revision = (await gitCommit(res.dir)) ?? (res.link ? path.basename(res.dir) : null);
        // the pass is consistent only if the root still resolves to what was read
        const again = await resolveRoot(root);
        if (again.dir !== res.dir || again.logicalDir !== res.logicalDir) throw new Vanished('the root moved during the read');
        return { root, resolution: res, revision, files, dirs };
      } catch (err) {
        if (isGone(err) && !(await fsp.lstat(root).then(() => true, () => false))) return failed(`${root} does not exist`);
        if (err instanceof Vanished || isGone(err)) {
          lastError = (err as Error).message;
          // A vanished root (not a flip) fails after the retries below: never treat it as empty.
          await this.delay(5 * (attempt + 1));
          continue;
        }
        return failed((err as Error).message);
      }
    }
    return failed(`could not read a consistent snapshot: ${lastError}`);
  }

  /** Stat one file; read, hash and validate it only when it may have changed. */
  private async readFile(
    res: Resolution,
    rel: string,
    previous: Map<string, FileState> | undefined,
    changed: ReadonlySet<string> | undefined,
    startedAt: number,
  ): Promise<PassFile> {
    const abs = path.join(res.dir, rel);
    const file = path.join(res.logicalDir, rel);
    const problem = async (err: unknown): Promise<PassFile> => {
      // gone from under us (a flip, a delete) → retry the pass; a dangling link that is still
      // listed is this file's problem only
      if (isGone(err) && !(await fsp.lstat(abs).then(() => true, () => false))) throw new Vanished(String(err));
      return { file, readError: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
    };
    let st: Stats;
    try {
      // a synchronous stat is several times faster than a round trip through the thread pool, and
      // most files of a pass need nothing more
      st = fs.statSync(abs);
    } catch (err) {
      return problem(err);
    }
    const prev = previous?.get(file);
    if (prev && !prev.racy && prev.dir === res.dir && !changed?.has(abs) && sameStat(prev, st)) return { file, state: prev };
    let content: Buffer;
    try {
      content = await fsp.readFile(abs);
    } catch (err) {
      return problem(err);
    }
    this.stats.reads++;
    this.hooks.onRead?.(abs);
    const hash = createHash('sha256').update(content).digest('base64');
    const result = prev && prev.hash === hash ? prev.result : await this.validateFile(content, file, hash);
    return {
      file,
      state: {
        dir: res.dir,
        dev: st.dev,
        ino: st.ino,
        size: st.size,
        mtimeMs: st.mtimeMs,
        ctimeMs: st.ctimeMs,
        racy: Math.max(st.mtimeMs, st.ctimeMs) > startedAt - this.racyMs,
        hash,
        result,
      },
    };
  }

  private async validateFile(content: Buffer, file: string, hash: string): Promise<FileResult> {
    let v = this.cache?.get(file, hash);
    if (v) {
      this.stats.cacheHits++;
    } else {
      this.stats.validations++;
      let failed = false;
      try {
        v = await this.validate(content, file);
      } catch (err) {
        failed = true;
        v = { jobs: [], diagnostics: [{ file, line: 0, column: 0, pointer: '', message: `validator failed: ${(err as Error).message}`, severity: 'error' }] };
      }
      // a validator failure is not cached: it may well succeed next time
      if (!failed) this.cache?.set(file, hash, v);
    }
    if (this.admit) v = admitJobs(v, content, file, this.admit);
    const hasError = v.diagnostics.some((d) => (d.severity ?? 'error') === 'error');
    const entry: SnapshotFile = { file, ok: !hasError, jobNames: v.jobs.map((j) => j.job.metadata.name) };
    if (hasError) entry.suspectNames = suspectNames(content.toString('utf8'));
    return {
      entry,
      // kept for as long as the file is unchanged: only what a snapshot's consumers use (the
      // validator's defaulted copy of each job, `resolved`, is not kept — nothing reads it)
      jobs: v.jobs.map((j) => ({ job: j.job, file: j.file || file, line: j.line, column: j.column })),
      diagnostics: v.diagnostics.map((d) => ({ ...d, file: d.file || file })),
    };
  }
}

/** Jobs the operator's admission refuses become error diagnostics located in the file's text. */
function admitJobs(v: FileValidation, content: Buffer, file: string, admit: NonNullable<ReaderOptions['admit']>): FileValidation {
  let refused: { job: SnapshotJob; problems: { pointer: string; message: string }[] }[] | null = null;
  for (const j of v.jobs) {
    const problems = admit(j.job, j.file || file);
    if (problems.length > 0) (refused ??= []).push({ job: j, problems });
  }
  if (!refused) return v;
  const diagnostics = [...v.diagnostics, ...locateProblems(content.toString('utf8'), file, refused.map((r) => ({ line: r.job.line, column: r.job.column, problems: r.problems })))];
  const out = new Set(refused.map((r) => r.job));
  return { jobs: v.jobs.filter((j) => !out.has(j)), diagnostics };
}

/** Read and validate every root once. */
export async function readSnapshot(
  roots: string[],
  opts: { validate?: FileValidator; delay?: (ms: number) => Promise<void>; hooks?: ReadHooks } = {},
): Promise<Snapshot> {
  return (await new ManifestReader(opts).read(roots)).snapshot;
}

/** Every `name: x` / `"name": "x"` value in a text: candidates for the jobs a broken file declares. */
export function suspectNames(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/^[ \t-]*["']?name["']?[ \t]*:[ \t]*["']?([a-z0-9][-a-z0-9.]*)["']?/gm)) out.add(m[1]);
  for (const m of text.matchAll(/"name"\s*:\s*"([a-z0-9][-a-z0-9.]*)"/g)) out.add(m[1]);
  return [...out].sort();
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
  /** Test seams of the reader (e.g. count the files read). */
  hooks?: ReadHooks;
  /** See ReaderOptions.racyMs (default 1000 ms). */
  racyMs?: number;
  /** See ReaderOptions.cache (owned by the caller: the watcher does not close it). */
  cache?: ValidationResultCache;
  /** See ReaderOptions.admit. */
  admit?: ReaderOptions['admit'];
}

/** Why a directory is watched: a root's parent (only the root's own entry matters there), or a directory of a root. */
type WatchKind = 'parent' | 'dir';

interface DirWatch {
  w: fs.FSWatcher;
  dev: number;
  ino: number;
  kinds: Set<WatchKind>;
}

export class ManifestWatcher {
  private readonly roots: string[];
  private readonly debounceMs: number;
  private readonly maxDelayMs: number;
  private readonly linkCheckMs: number;
  private readonly resyncMs: number;
  private readonly reader: ManifestReader;
  /** One fs.watch per directory (never per file). */
  private readonly watches = new Map<string, DirWatch>();
  /** Paths named by events since the last pass began: read again even if their stat is the same. */
  private changedPaths = new Set<string>();
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
  /** Passes performed and snapshots emitted (for tests and metrics); reads/validations: files read and validated. */
  readonly stats = { passes: 0, emitted: 0, reads: 0, validations: 0, cacheHits: 0, watchedDirs: 0 };

  constructor(private readonly opts: ManifestWatcherOptions) {
    this.roots = opts.roots.map((r) => path.resolve(r));
    this.debounceMs = opts.debounceMs ?? 100;
    this.maxDelayMs = opts.maxDelayMs ?? 1000;
    this.linkCheckMs = opts.linkCheckMs ?? 500;
    this.resyncMs = opts.resyncMs ?? 60_000;
    this.reader = new ManifestReader({ validate: opts.validate, hooks: opts.hooks, racyMs: opts.racyMs, cache: opts.cache, admit: opts.admit });
  }

  /** Set up the watches, then read and emit the first snapshot. */
  async start(): Promise<void> {
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
    await this.passRunning;
    for (const d of this.watches.values()) d.w.close();
    this.watches.clear();
  }

  /** The directories currently watched (for tests and diagnostics). */
  watchedDirectories(): string[] {
    return [...this.watches.keys()].sort();
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

  /** An event of the watch on `dir` naming `name` (null when the platform could not say). */
  private onFsEvent(dir: string, name: string | null): void {
    if (this.closed) return;
    const kinds = this.watches.get(dir)?.kinds;
    if (!kinds) return;
    if (name === null) {
      this.trigger(`event in ${dir}`);
      return;
    }
    const p = path.join(dir, name);
    if (!this.relevant(kinds, p, name)) return;
    this.changedPaths.add(p);
    this.trigger(`event ${p}`);
  }

  /** Manifest files, directories and revision links matter; other files (README, swap files, .git) do not. */
  private relevant(kinds: Set<WatchKind>, p: string, name: string): boolean {
    if (this.roots.includes(p)) return true;
    if (!kinds.has('dir')) return false;
    // dot-entries are not read, except a Kubernetes volume's `..data` link and its `..<timestamp>` dirs
    if (name.startsWith('.')) return name.startsWith('..') || this.knownLinks.has(p);
    const ext = path.extname(name).toLowerCase();
    if (MANIFEST_EXT.has(ext) || ext === '' || this.knownLinks.has(p) || this.watches.has(p)) return true;
    try {
      return fs.statSync(p).isDirectory(); // a directory with a dot in its name ("v1.2")
    } catch {
      return false; // gone: if it was a directory it was watched (above)
    }
  }

  /** Watch `dir` (once; again if it was replaced by another directory of the same name). */
  private ensureWatch(dir: string, kind: WatchKind, want: Map<string, Set<WatchKind>>): void {
    const kinds = want.get(dir) ?? new Set<WatchKind>();
    kinds.add(kind);
    want.set(dir, kinds);
    let st: Stats;
    try {
      st = fs.statSync(dir);
    } catch {
      return;
    }
    if (!st.isDirectory()) return;
    const cur = this.watches.get(dir);
    if (cur && cur.dev === st.dev && cur.ino === st.ino) {
      cur.kinds.add(kind);
      return;
    }
    cur?.w.close();
    this.watches.delete(dir);
    let w: fs.FSWatcher;
    try {
      w = fs.watch(dir, { persistent: true }, (_event, name) => this.onFsEvent(dir, name === null ? null : String(name)));
    } catch (err) {
      this.opts.logger.warn({ dir, err: String(err) }, 'cannot watch manifest directory');
      return;
    }
    w.on('error', (err) => {
      this.opts.logger.debug?.({ dir, err: String(err) }, 'manifest watch ended');
      w.close();
      if (this.watches.get(dir)?.w === w) this.watches.delete(dir);
      this.trigger(`watch of ${dir} ended`);
    });
    this.watches.set(dir, { w, dev: st.dev, ino: st.ino, kinds: new Set(kinds) });
  }

  /** Keep exactly the watches of this pass. */
  private pruneWatches(want: Map<string, Set<WatchKind>>): void {
    for (const [dir, d] of this.watches) {
      const kinds = want.get(dir);
      if (kinds) {
        d.kinds = kinds;
        continue;
      }
      d.w.close();
      this.watches.delete(dir);
    }
    this.stats.watchedDirs = this.watches.size;
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
      const changed = this.changedPaths;
      this.changedPaths = new Set();
      const want = new Map<string, Set<WatchKind>>();
      try {
        // the roots' parents and real directories first (a flip of either is seen from now on)
        for (const root of this.roots) {
          this.ensureWatch(path.dirname(root), 'parent', want);
          const real = await fsp.realpath(root).catch(() => null);
          if (real) this.ensureWatch(real, 'dir', want);
        }
        const { snapshot: snap, digest, dirs } = await this.reader.read(this.roots, {
          changed,
          onDir: (d) => this.ensureWatch(d, 'dir', want),
        });
        this.stats.reads = this.reader.stats.reads;
        this.stats.validations = this.reader.stats.validations;
        this.stats.cacheHits = this.reader.stats.cacheHits;
        // a failed root keeps the watches it had (its directories may come back)
        snap.roots.forEach((r, i) => {
          if (r.dir) this.lastResolved.set(r.root, r.dir);
          if (r.link) this.knownLinks.add(r.link);
          if (!r.ok) for (const [d, w] of this.watches) if (!want.has(d) && w.kinds.has('dir') && isUnder(d, r.root, this.lastResolved.get(r.root))) want.set(d, w.kinds);
          for (const d of dirs[i]) if (!want.has(d)) want.set(d, new Set(['dir']));
        });
        this.pruneWatches(want);
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

/** `d` is the root, its last resolved directory, or inside either. */
function isUnder(d: string, root: string, resolved: string | undefined): boolean {
  for (const base of [root, resolved]) {
    if (base && (d === base || d.startsWith(base + path.sep))) return true;
  }
  return false;
}
