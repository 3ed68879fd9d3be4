/**
 * The manifest watcher's validation results, kept across restarts: one SQLite file in the state
 * dir (`validation-cache.db`), separate from the store so that it can be thrown away at any time.
 *
 * Why: a controller restart over 10,000 unchanged manifest files would otherwise parse every one
 * of them again (≈ 0.3 ms each, several seconds in all) only to find what it already knew. With
 * this cache the watcher looks a file's content up before validating it and validates only the
 * misses, so a restart over unchanged files parses none.
 *
 * Key: sha256 of everything a result depends on —
 * - the validator fingerprint (see validatorFingerprint): any change to the code or data the
 *   validator runs (its modules, the JSON schema, the installed parser and schema packages, the
 *   Node runtime and its time-zone data) changes every key;
 * - the format (yaml or json, from the extension, as validateBytes decides) and the limits;
 * - the file's path: diagnostics and job positions name the file, and some messages embed it (a
 *   duplicate name within a file names both places). Keying by path keeps a hit byte-for-byte what
 *   a fresh validation returns, with no rewriting of messages; the price is that a renamed file
 *   is validated again once;
 * - the sha256 of the file's bytes.
 * Value: the PoolValidation ({jobs: [{job, file, line, column}], diagnostics}) as JSON, exactly as
 * the validator returned it. A read is one lookup by primary key and a JSON.parse.
 *
 * Size: the watcher forgets the entry of a file whose content changed or that disappeared, so the
 * table follows the live files; what it cannot see (files deleted while the controller was down,
 * results of another fingerprint) is bounded by a row cap (a multiple of the live files) that
 * evicts the least recently used rows, and by a wipe when the fingerprint changes.
 *
 * Writes are queued and committed in one transaction per pass (or per `batchSize` files), never
 * one commit per file.
 *
 * The cache is an optimisation only: a file it cannot open (garbage, locked, unreadable) or an
 * error while using it logs one warning and the watcher validates as if there were no cache. A
 * corrupt file is replaced by a new, empty one, so that the next start has a cache again.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { DEFAULT_LIMITS, type LoadLimits, formatOf } from './load';
import type { PoolValidation } from './validate-pool';

export interface CacheLogger {
  warn(obj: object, msg?: string): void;
}

export interface PersistentCacheOptions {
  /** The SQLite file (created if absent). */
  file: string;
  logger?: CacheLogger;
  /** What the validator is (default: validatorFingerprint(), the watcher's default validator). */
  fingerprint?: string;
  /** The limits the validator runs with (default: DEFAULT_LIMITS, as the watcher's validator does). */
  limits?: Partial<LoadLimits>;
  /** Rows kept at least, whatever the number of live files (default 1,000). */
  minEntries?: number;
  /** Rows kept at most per live file (default 2: every file edited once since the last prune). */
  entriesPerLiveFile?: number;
  /** Queued writes that trigger a commit before the end of a pass (default 500). */
  batchSize?: number;
  /** A hit refreshes its row's `used_at` only when it is older than this (default 1 h). */
  touchAfterMs?: number;
  /** How long a write waits for another connection's lock before giving up (default 100 ms). */
  busyTimeoutMs?: number;
  now?: () => number;
}

/** Layout of the file; another value (older or newer code) makes the tables be created anew. */
const LAYOUT_VERSION = 1;
/** SQLite result codes after which the file is not worth keeping. */
const SQLITE_CORRUPT = 11;
const SQLITE_NOTADB = 26;

// ---------------------------------------------------------------------------------------------
// The validator fingerprint.

/** Module specifiers: require calls in compiled modules, import declarations in TypeScript sources. */
const IMPORT_RE = /\brequire\(\s*["']([^"']+)["']\s*\)|\bfrom\s+["']([^"']+)["']|\bimport\s+["']([^"']+)["']/g;
const BUILTINS = new Set(builtinModules);

function resolveRelative(from: string, spec: string): string | null {
  const base = path.resolve(path.dirname(from), spec);
  const ext = path.extname(from);
  for (const candidate of [base, base + ext, base + '.js', base + '.ts', path.join(base, 'index' + ext)]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // try the next form
    }
  }
  return null;
}

/** The package.json of the package `spec` names, as Node would find it from `fromDir`. */
function packageJsonOf(fromDir: string, spec: string): string | null {
  const parts = spec.split('/');
  const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name, 'package.json');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return null;
  }
}

/** The nearest package.json above `dir` (the project's own). */
function projectRoot(dir: string): string | null {
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, 'package.json'))) return d;
    if (path.dirname(d) === d) return null;
  }
}

/**
 * What the validator is, as a hash of:
 * - the text of every module the watcher's validation runs, found by following the imports of
 *   this module, validate-pool and validate-worker (relative imports are read and followed, so the
 *   set of files is the real one and grows with the code; it works on the compiled `.js` in dist/
 *   and on the `.ts` sources under ts-jest alike), including the JSON schema the compiled code
 *   loads;
 * - every file of the project's `schemas/` directory and the project's version (package.json);
 * - the package.json of every package those modules import (yaml, ajv, ajv-formats, croner): an
 *   upgrade changes its version;
 * - the Node version and its ICU / time-zone data (time zones are checked through Intl).
 * So an edit, a rebuild with different output, an upgrade of a dependency or of Node each give a
 * new fingerprint, and nothing needs to be remembered to bump by hand: the fingerprint cannot go
 * stale silently. Computed once per process (≈ 30 small files).
 */
export function validatorFingerprint(): string {
  return validatorFingerprintInputs().fingerprint;
}

/** The fingerprint and what went into it (for tests and diagnostics). */
export function validatorFingerprintInputs(): { fingerprint: string; files: string[]; packages: string[] } {
  return (fingerprintInputs ??= computeFingerprint());
}
let fingerprintInputs: { fingerprint: string; files: string[]; packages: string[] } | undefined;

function computeFingerprint(): { fingerprint: string; files: string[]; packages: string[] } {
  const h = createHash('sha256');
  h.update(`node ${process.version} icu ${process.versions.icu ?? ''} tz ${process.versions.tz ?? ''} unicode ${process.versions.unicode ?? ''}\n`);
  const ext = path.extname(__filename);
  const roots = [__filename, path.join(__dirname, 'validate-pool' + ext), path.join(__dirname, 'validate-worker' + ext)];
  const seen = new Set<string>();
  const packages = new Set<string>();
  const todo = roots.filter((f) => existsSync(f));
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file);
    h.update(`file ${path.relative(__dirname, file)} ${createHash('sha256').update(text).digest('hex')}\n`);
    if (!/\.[cm]?[jt]s$/.test(file)) continue;
    for (const m of text.toString('utf8').matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (spec.startsWith('.')) {
        const target = resolveRelative(file, spec);
        if (target) todo.push(target);
        else h.update(`unresolved ${spec}\n`);
      } else if (!spec.startsWith('node:') && !BUILTINS.has(spec.split('/')[0])) {
        packages.add(packageJsonOf(path.dirname(file), spec) ?? `missing:${spec}`);
      }
    }
  }
  const pkgs = [...packages].sort();
  for (const p of pkgs) h.update(`package ${p.startsWith('missing:') ? p : createHash('sha256').update(readFileSync(p)).digest('hex')}\n`);
  const root = projectRoot(__dirname);
  if (root) {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string };
    h.update(`version ${pkg.version ?? ''}\n`);
    const schemas = path.join(root, 'schemas');
    if (existsSync(schemas)) {
      for (const f of readdirSync(schemas).sort()) {
        const p = path.join(schemas, f);
        if (statSync(p).isFile()) h.update(`schema ${f} ${createHash('sha256').update(readFileSync(p)).digest('hex')}\n`);
      }
    }
  }
  return { fingerprint: h.digest('hex'), files: [...seen].sort(), packages: pkgs };
}

// ---------------------------------------------------------------------------------------------

/**
 * True when JSON round-trips `v` exactly: plain objects and arrays of strings, booleans, null and
 * finite numbers (not -0). Anything else (NaN, Infinity, undefined, a Date, a class instance) is
 * not cached: a hit must be identical to a fresh validation, and such a value would not be.
 */
function jsonExact(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object': {
      if (v === null) return true;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!(i in v) || !jsonExact(v[i])) return false;
        return true;
      }
      // a plain object of any realm (results structured-cloned from a worker are of the main
      // realm, which is not the caller's under jest's vm sandbox): its prototype is an
      // Object.prototype, whose own prototype is null
      const proto = Object.getPrototypeOf(v) as object | null;
      if (proto === null || Object.getPrototypeOf(proto) !== null) return false;
      for (const k in v) if (!jsonExact((v as Record<string, unknown>)[k])) return false;
      return true;
    }
    default:
      return false;
  }
}

/** A stored value that does not look like a PoolValidation is treated as a miss. */
function looksValid(v: unknown): v is PoolValidation {
  return typeof v === 'object' && v !== null && Array.isArray((v as PoolValidation).jobs) && Array.isArray((v as PoolValidation).diagnostics);
}

interface Statements {
  get: StatementSync;
  put: StatementSync;
  del: StatementSync;
  touch: StatementSync;
  count: StatementSync;
  evict: StatementSync;
}

interface Row {
  value: string;
  used_at: number;
}

export class PersistentValidationCache {
  private db: DatabaseSync | null = null;
  private q: Statements | null = null;
  private readonly file: string;
  private readonly logger?: CacheLogger;
  private readonly prefix: string;
  private readonly minEntries: number;
  private readonly perLiveFile: number;
  private readonly batchSize: number;
  private readonly touchAfterMs: number;
  private readonly busyTimeoutMs: number;
  private readonly now: () => number;
  /** Queued writes by key: the JSON to store, or null to delete (the last one for a key wins). */
  private pending = new Map<string, string | null>();
  /** Keys hit whose `used_at` is old. */
  private touched = new Set<string>();
  /** Rows were added since the last prune. */
  private grown = false;
  private warned = false;
  /** Lookups, hits, rows written and deleted, rows evicted, results that could not be cached. */
  readonly stats = { lookups: 0, hits: 0, writes: 0, deletes: 0, evicted: 0, uncacheable: 0 };

  private constructor(opts: PersistentCacheOptions) {
    this.file = opts.file;
    this.logger = opts.logger;
    const limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.prefix = JSON.stringify([LAYOUT_VERSION, opts.fingerprint ?? validatorFingerprint(), limits.maxFileBytes, limits.maxDocuments, limits.maxAliasCount]);
    this.minEntries = opts.minEntries ?? 1000;
    this.perLiveFile = opts.entriesPerLiveFile ?? 2;
    this.batchSize = Math.max(1, opts.batchSize ?? 500);
    this.touchAfterMs = opts.touchAfterMs ?? 60 * 60_000;
    this.busyTimeoutMs = opts.busyTimeoutMs ?? 100;
    this.now = opts.now ?? (() => Date.now());
  }

  /** Opens (or creates) the cache file. Never throws: a file that cannot be used gives a disabled cache and one warning. */
  static open(opts: PersistentCacheOptions): PersistentValidationCache {
    const c = new PersistentValidationCache(opts);
    c.openFile();
    return c;
  }

  /** False once the cache could not be opened or failed: every lookup then misses. */
  get enabled(): boolean {
    return this.db !== null;
  }

  /** Rows in the file (for tests and diagnostics; 0 when disabled). */
  size(): number {
    if (!this.q) return 0;
    try {
      return Number((this.q.count.get() as { n: number }).n);
    } catch (err) {
      this.fail(err, 'count');
      return 0;
    }
  }

  /** The stored result of `file` with this content (sha256 of its bytes, in any encoding), or undefined. */
  get(file: string, contentHash: string): PoolValidation | undefined {
    if (!this.q) return undefined;
    this.stats.lookups++;
    const key = this.keyOf(file, contentHash);
    let json: string | null | undefined = this.pending.get(key);
    let usedAt = Infinity;
    if (json === undefined) {
      let row: Row | undefined;
      try {
        row = this.q.get.get(key) as Row | undefined;
      } catch (err) {
        this.fail(err, 'read');
        return undefined;
      }
      json = row?.value ?? null;
      usedAt = row?.used_at ?? Infinity;
    }
    if (json === null) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      value = undefined;
    }
    // a row that does not parse is a miss: the caller validates and its result replaces the row
    if (!looksValid(value)) return undefined;
    if (usedAt < this.now() - this.touchAfterMs) this.touched.add(key);
    this.stats.hits++;
    return value;
  }

  /** Queue the result of validating `file` with this content. */
  set(file: string, contentHash: string, value: PoolValidation): void {
    if (!this.q) return;
    const stored: PoolValidation = { jobs: value.jobs.map((j) => ({ job: j.job, file: j.file, line: j.line, column: j.column })), diagnostics: value.diagnostics };
    let json: string;
    try {
      if (!jsonExact(stored)) throw new Error('not plain JSON');
      json = JSON.stringify(stored);
    } catch {
      // also a value nested too deeply to walk: it is simply validated again next time
      this.stats.uncacheable++;
      return;
    }
    const key = this.keyOf(file, contentHash);
    this.pending.set(key, json);
    this.touched.delete(key);
    if (this.pending.size >= this.batchSize) this.flush();
  }

  /** Queue the removal of what was stored for `file` with this content (it changed, or it is gone). */
  forget(file: string, contentHash: string): void {
    if (!this.q) return;
    const key = this.keyOf(file, contentHash);
    this.pending.set(key, null);
    this.touched.delete(key);
    if (this.pending.size >= this.batchSize) this.flush();
  }

  /**
   * Commit what is queued, in one transaction. With `liveFiles` (the end of a pass: the number of
   * files the caller currently knows), also cap the table at max(minEntries, entriesPerLiveFile ×
   * liveFiles) rows, evicting the least recently used.
   */
  flush(liveFiles?: number): void {
    const db = this.db;
    const q = this.q;
    if (!db || !q) return;
    const prune = liveFiles !== undefined && this.grown;
    if (this.pending.size === 0 && this.touched.size === 0 && !prune) return;
    const now = this.now();
    try {
      db.exec('BEGIN IMMEDIATE');
      try {
        for (const [key, json] of this.pending) {
          if (json === null) {
            this.stats.deletes += Number(q.del.run(key).changes);
          } else {
            q.put.run(key, json, now);
            this.stats.writes++;
            this.grown = true;
          }
        }
        for (const key of this.touched) q.touch.run(now, key);
        if (liveFiles !== undefined && this.grown) {
          const cap = Math.max(this.minEntries, Math.ceil(this.perLiveFile * liveFiles));
          const rows = Number((q.count.get() as { n: number }).n);
          if (rows > cap) this.stats.evicted += Number(q.evict.run(rows - cap).changes);
          this.grown = false;
        }
        db.exec('COMMIT');
      } catch (err) {
        if (db.isTransaction) db.exec('ROLLBACK');
        throw err;
      }
    } catch (err) {
      this.fail(err, 'write');
      return;
    } finally {
      this.pending.clear();
      this.touched.clear();
    }
  }

  /** Commit what is queued and close the file. */
  close(): void {
    this.flush();
    this.closeDb();
  }

  // internals ---------------------------------------------------------------------------------

  private keyOf(file: string, contentHash: string): string {
    return createHash('sha256').update(`${this.prefix}\0${formatOf(file)}\0${file}\0${contentHash}`).digest('base64');
  }

  private openFile(): void {
    try {
      this.init();
    } catch (err) {
      if (!isCorrupt(err)) {
        this.warnOnce(err, 'validation cache unavailable; every manifest file is validated');
        return;
      }
      this.logger?.warn({ file: this.file, err: errText(err) }, 'validation cache file is corrupt; replacing it with an empty one');
      this.removeFile();
      try {
        this.init();
      } catch (err2) {
        this.warnOnce(err2, 'validation cache unavailable; every manifest file is validated');
      }
    }
  }

  private init(): void {
    const db = new DatabaseSync(this.file, { timeout: this.busyTimeoutMs });
    try {
      // the first statement that reads the file: a file that is not a database fails here
      db.exec('PRAGMA journal_mode = WAL');
      db.exec('PRAGMA synchronous = NORMAL');
      const layout = Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
      if (layout !== LAYOUT_VERSION) {
        // a file of another layout (or a new file): its rows are of no use, start over
        db.exec(`
          BEGIN IMMEDIATE;
          DROP TABLE IF EXISTS entries;
          DROP TABLE IF EXISTS meta;
          CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
          CREATE TABLE entries (key TEXT PRIMARY KEY, value TEXT NOT NULL, used_at INTEGER NOT NULL) STRICT;
          CREATE INDEX entries_by_use ON entries (used_at);
          PRAGMA user_version = ${LAYOUT_VERSION};
          COMMIT;`);
      }
      // Rows of another validator can never be hit again (the fingerprint is part of every key):
      // drop them at once rather than waiting for the row cap.
      const stored = db.prepare(`SELECT value FROM meta WHERE key = 'prefix'`).get() as { value: string } | undefined;
      if (stored?.value !== this.prefix) {
        db.exec('BEGIN IMMEDIATE');
        db.exec('DELETE FROM entries');
        db.prepare(`INSERT INTO meta (key, value) VALUES ('prefix', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`).run(this.prefix);
        db.exec('COMMIT');
      }
      this.q = {
        get: db.prepare('SELECT value, used_at FROM entries WHERE key = ?'),
        put: db.prepare('INSERT INTO entries (key, value, used_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, used_at = excluded.used_at'),
        del: db.prepare('DELETE FROM entries WHERE key = ?'),
        touch: db.prepare('UPDATE entries SET used_at = ? WHERE key = ?'),
        count: db.prepare('SELECT count(*) AS n FROM entries'),
        evict: db.prepare('DELETE FROM entries WHERE rowid IN (SELECT rowid FROM entries ORDER BY used_at, rowid LIMIT ?)'),
      };
      this.db = db;
    } catch (err) {
      this.q = null;
      try {
        db.close();
      } catch {
        // already unusable
      }
      throw err;
    }
  }

  /** Stop using the cache after an error (one warning); a corrupt file is removed so the next start begins afresh. */
  private fail(err: unknown, during: string): void {
    this.warnOnce(err, `validation cache ${during} failed; validating without it from now on`);
    this.pending.clear();
    this.touched.clear();
    this.closeDb();
    if (isCorrupt(err)) this.removeFile();
  }

  private closeDb(): void {
    const db = this.db;
    this.db = null;
    this.q = null;
    try {
      db?.close();
    } catch {
      // closing a failed connection: nothing more to do
    }
  }

  private removeFile(): void {
    for (const suffix of ['', '-wal', '-shm', '-journal']) {
      try {
        rmSync(this.file + suffix, { force: true });
      } catch {
        // left for the next start to report
      }
    }
  }

  private warnOnce(err: unknown, msg: string): void {
    if (this.warned) return;
    this.warned = true;
    this.logger?.warn({ file: this.file, err: errText(err) }, msg);
  }
}

function isCorrupt(err: unknown): boolean {
  const code = (err as { errcode?: number })?.errcode;
  return code === SQLITE_CORRUPT || code === SQLITE_NOTADB;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
