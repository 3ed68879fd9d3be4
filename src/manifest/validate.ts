/**
 * Validation of ContainerJob manifests: parse (load.ts) → JSON Schema (schema.ts) → semantic
 * checks (semantic.ts) → defaults (api/defaults.ts), for text, for plain objects (the HTTP API)
 * and for paths. Every problem of every document of every file is reported at once; a document
 * with errors yields no job, the other documents of its file still do.
 *
 * The core (validateText, validateObject) is pure. validatePaths is the I/O wrapper: it reads
 * through read-files.ts (or an injected reader) and adds cross-file checks (unique job names).
 */
import { describeCycle, findCycles } from './cycles';
import { createHash } from 'node:crypto';
import type { ContainerJob, ResolvedJob } from '../api/types';
import { resolveJob } from '../api/defaults';
import { exceedsNesting, nestingMessage } from '../api/depth';
import { compareDiagnostics, Diagnostic, formatDiagnostic } from './diagnostic';
import { DEFAULT_LIMITS, LoadLimits, SourceFormat, decodeBytes, formatOf, loadText, tooLarge } from './load';
import { checkSchema, Issue } from './schema';
import { checkSemantics } from './semantic';
import { expandPaths, readManifestFileSync, readStream } from './read-files';
import { locateProblems, type RefusedJob } from './locate';

export { formatDiagnostic, compareDiagnostics };
export type { Diagnostic };

export interface ValidJob {
  job: ContainerJob;
  resolved: ResolvedJob;
  file: string;
  /** Where the job's document starts. */
  line: number;
  column: number;
  /** 0-based index of the document in its file. */
  document: number;
}

export interface ValidationResult {
  file: string;
  jobs: ValidJob[];
  diagnostics: Diagnostic[];
  /** Non-empty documents in the file (valid or not). */
  documents: number;
}

export interface ValidationReport {
  jobs: ValidJob[];
  diagnostics: Diagnostic[];
  /** Files read (or attempted). */
  files: number;
  /**
   * Files (or paths) with at least one error. A controller keeps the last known good jobs of
   * these files instead of treating their jobs as deleted (DESIGN §7.3).
   */
  invalidFiles: string[];
}

export interface ValidateOptions {
  limits?: Partial<LoadLimits>;
  /** Content cache; `false` disables caching. Default: a process-wide cache. */
  cache?: ValidationCache | false;
  /** Force a format instead of deriving it from the file extension. */
  format?: SourceFormat;
}

export interface ValidatePathsOptions extends ValidateOptions {
  /** Reads `-`; without it `-` is an error. */
  stdin?: () => Promise<Uint8Array>;
  /** Name used for `-` in diagnostics. */
  stdinName?: string;
  /**
   * The operator's admission rules (secret sources, per-source policy), as the controller applies
   * them: a job with problems is not valid, and each problem is an error at its field's line.
   */
  admit?: (job: ContainerJob, file: string) => { pointer: string; message: string }[];
}

// ---------------------------------------------------------------------------------------------
// One file's text (cacheable: nothing here depends on other files or on the file name).

interface CachedJob {
  job: ContainerJob;
  resolved: ResolvedJob;
  line: number;
  column: number;
  document: number;
  nameLine: number;
  nameColumn: number;
}

interface FileOutcome {
  jobs: CachedJob[];
  /** Diagnostics with an empty `file`; the file name is filled in on use. */
  diagnostics: Diagnostic[];
  documents: number;
}

/** What the cache keeps: the jobs serialised, so that no caller can mutate a cached value. */
interface CachedOutcome {
  jobsJson: string;
  diagnostics: Diagnostic[];
  documents: number;
}

/** Keeps per-file outcomes keyed by a hash of the text (and the options that change results). */
export class ValidationCache {
  private readonly entries = new Map<string, CachedOutcome>();
  hits = 0;
  misses = 0;
  constructor(private readonly maxEntries = 50_000) {}

  get(key: string): CachedOutcome | undefined {
    const v = this.entries.get(key);
    if (v) {
      this.hits++;
      // Refresh recency: Map iteration order is insertion order.
      this.entries.delete(key);
      this.entries.set(key, v);
    } else {
      this.misses++;
    }
    return v;
  }

  set(key: string, value: CachedOutcome): void {
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, value);
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
    this.hits = 0;
    this.misses = 0;
  }
}

/** The process-wide cache used when no cache is given. */
export const defaultValidationCache = new ValidationCache();

function issueToDiagnostic(issue: Issue, locate: (p: string, t?: 'key' | 'value') => { line: number; column: number }, document: number): Diagnostic {
  const pos = locate(issue.pointer, issue.target);
  return { file: '', line: pos.line, column: pos.column, pointer: issue.pointer, message: issue.message, severity: issue.severity, document };
}

/** Schema + semantic issues of one document, without duplicates of schema errors. */
function checkDocument(value: unknown): Issue[] {
  const schemaIssues = checkSchema(value);
  const semantic = checkSemantics(value);
  const errorPointers = new Set(schemaIssues.filter((i) => i.severity === 'error').map((i) => i.pointer));
  return [...schemaIssues, ...semantic.filter((i) => !(i.severity === 'error' && errorPointers.has(i.pointer)))];
}

function notAManifest(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const found = Array.isArray(value) ? 'a list' : value === null ? 'null' : `a ${typeof value}`;
    return `a manifest document must be a mapping (a ContainerJob), found ${found}`;
  }
  return undefined;
}

function outcomeOfText(text: string, file: string, opts: ValidateOptions): FileOutcome {
  const loaded = loadText(text, file, { limits: opts.limits, format: opts.format ?? formatOf(file) });
  const diagnostics: Diagnostic[] = loaded.diagnostics.map((d) => ({ ...d, file: '' }));
  const jobs: CachedJob[] = [];
  for (const doc of loaded.documents) {
    const bad = notAManifest(doc.value);
    if (bad) {
      diagnostics.push({ file: '', line: doc.start.line, column: doc.start.column, pointer: '', message: bad, severity: 'error', document: doc.index });
      continue;
    }
    const issues = checkDocument(doc.value);
    for (const issue of issues) diagnostics.push(issueToDiagnostic(issue, doc.locate, doc.index));
    if (issues.some((i) => i.severity === 'error')) continue;
    const job = doc.value as ContainerJob;
    const namePos = doc.locate('/metadata/name');
    jobs.push({ job, resolved: resolveJob(job), line: doc.start.line, column: doc.start.column, document: doc.index, nameLine: namePos.line, nameColumn: namePos.column });
  }
  return { jobs, diagnostics, documents: loaded.documentCount };
}

function cacheKey(text: string, file: string, opts: ValidateOptions): string {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const format = opts.format ?? formatOf(file);
  const h = createHash('sha256').update(text).digest('base64');
  return `${h}|${format}|${limits.maxFileBytes}|${limits.maxDocuments}|${limits.maxAliasCount}`;
}

/**
 * The outcome of one file's text: computed, or rebuilt from the cache. Either way the objects
 * returned are the caller's own (fresh on a miss, deserialised copies on a hit).
 */
function fileOutcome(text: string, file: string, opts: ValidateOptions): FileOutcome {
  const cache = opts.cache === false ? undefined : (opts.cache ?? defaultValidationCache);
  if (!cache) return outcomeOfText(text, file, opts);
  const key = cacheKey(text, file, opts);
  const hit = cache.get(key);
  if (hit) return { jobs: JSON.parse(hit.jobsJson) as CachedJob[], diagnostics: hit.diagnostics, documents: hit.documents };
  const outcome = outcomeOfText(text, file, opts);
  cache.set(key, { jobsJson: JSON.stringify(outcome.jobs), diagnostics: outcome.diagnostics, documents: outcome.documents });
  return outcome;
}

interface Named {
  file: string;
  job: CachedJob;
}

/** Attaches the file name (diagnostics are copied: the cached ones stay name-less). */
function materialise(outcome: FileOutcome, file: string): { jobs: Named[]; diagnostics: Diagnostic[]; documents: number } {
  return {
    jobs: outcome.jobs.map((job) => ({ file, job })),
    diagnostics: outcome.diagnostics.map((d) => ({ ...d, file })),
    documents: outcome.documents,
  };
}

/**
 * Job names must be unique across all files: every definition of a duplicated name is an error
 * (pointing at its metadata.name and naming the other places), and none of them is a valid job.
 */
function rejectDuplicates(jobs: Named[], diagnostics: Diagnostic[]): Named[] {
  const byName = new Map<string, Named[]>();
  for (const j of jobs) {
    const name = j.job.job.metadata.name;
    byName.set(name, [...(byName.get(name) ?? []), j]);
  }
  const dropped = new Set<Named>();
  for (const [name, defs] of byName) {
    if (defs.length < 2) continue;
    for (const d of defs) {
      dropped.add(d);
      const others = defs.filter((o) => o !== d).map((o) => `${o.file}:${o.job.nameLine}:${o.job.nameColumn}`);
      diagnostics.push({
        file: d.file,
        line: d.job.nameLine,
        column: d.job.nameColumn,
        pointer: '/metadata/name',
        message: `duplicate job name "${name}" (also defined at ${others.join(', ')})`,
        severity: 'error',
        document: d.job.document,
      });
    }
  }
  return jobs.filter((j) => !dropped.has(j));
}

/**
 * A dependency cycle (spec.dependsOn) is an error at every job on it, naming the cycle and where
 * each job is; none of them is a valid job.
 */
function rejectCycles(jobs: Named[], diagnostics: Diagnostic[]): Named[] {
  const byName = new Map(jobs.map((j) => [j.job.job.metadata.name, j]));
  const graph = new Map(jobs.map((j) => [j.job.job.metadata.name, (j.job.job.spec.dependsOn ?? []).map((d) => d.job)]));
  const dropped = new Set<Named>();
  for (const cycle of findCycles(graph)) {
    const message = describeCycle(cycle, (n) => {
      const j = byName.get(n);
      return j ? `${j.file}:${j.job.nameLine}` : undefined;
    });
    for (const name of cycle) {
      const d = byName.get(name)!;
      dropped.add(d);
      diagnostics.push({ file: d.file, line: d.job.nameLine, column: d.job.nameColumn, pointer: '/spec/dependsOn', message, severity: 'error', document: d.job.document });
    }
  }
  return jobs.filter((j) => !dropped.has(j));
}

function toValidJob(n: Named): ValidJob {
  return { job: n.job.job, resolved: n.job.resolved, file: n.file, line: n.job.line, column: n.job.column, document: n.job.document };
}

/** Validates the text of one manifest file (names must also be unique within it). */
export function validateText(text: string, file: string, opts: ValidateOptions = {}): ValidationResult {
  const m = materialise(fileOutcome(text, file, opts), file);
  const diagnostics = [...m.diagnostics];
  const jobs = rejectCycles(rejectDuplicates(m.jobs, diagnostics), diagnostics).map(toValidJob);
  diagnostics.sort(compareDiagnostics);
  return { file, jobs, diagnostics, documents: m.documents };
}

/** Validates raw bytes (size, NUL bytes and UTF-8 are checked before parsing). */
export function validateBytes(bytes: Uint8Array, file: string, opts: ValidateOptions = {}): ValidationResult {
  const decoded = decodeBytes(bytes, file, { ...DEFAULT_LIMITS, ...opts.limits });
  if (!decoded.ok) return { file, jobs: [], diagnostics: [decoded.diagnostic], documents: 0 };
  return validateText(decoded.text, file, opts);
}

/**
 * Validates files and directories (recursively: *.yaml, *.yml, *.json; hidden entries skipped).
 * Never throws for bad input: unreadable paths are diagnostics too.
 */
export async function validatePaths(paths: string[], opts: ValidatePathsOptions = {}): Promise<ValidationReport> {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const expanded = await expandPaths(paths);
  const diagnostics: Diagnostic[] = [...expanded.diagnostics];
  const stdinName = opts.stdinName ?? '<stdin>';

  const readOne = async (file: string): Promise<{ file: string; bytes?: Uint8Array; diagnostic?: Diagnostic }> => {
    if (file === '-') {
      if (!opts.stdin) return { file: stdinName, diagnostic: { file: stdinName, line: 0, column: 0, pointer: '', message: 'reading standard input is not supported here', severity: 'error' } };
      const bytes = await opts.stdin();
      if (bytes.length > limits.maxFileBytes) return { file: stdinName, diagnostic: tooLarge(stdinName, bytes.length, limits.maxFileBytes) };
      return { file: stdinName, bytes };
    }
    const r = readManifestFileSync(file, limits.maxFileBytes);
    return r.ok ? { file, bytes: r.bytes } : { file, diagnostic: r.diagnostic };
  };

  // Files are read one after the other with synchronous calls (see readManifestFileSync): for
  // manifest-sized files that is faster than asynchronous reads, and validation is CPU-bound anyway.
  const files = expanded.files;
  const named: Named[] = [];
  for (const file of files) {
    let r: { file: string; bytes?: Uint8Array; diagnostic?: Diagnostic };
    try {
      r = await readOne(file);
    } catch (err) {
      r = { file, diagnostic: { file, line: 0, column: 0, pointer: '', message: `cannot read: ${(err as Error).message}`, severity: 'error' } };
    }
    if (r.diagnostic) {
      diagnostics.push(r.diagnostic);
      continue;
    }
    const decoded = decodeBytes(r.bytes!, r.file, limits);
    if (!decoded.ok) {
      diagnostics.push(decoded.diagnostic);
      continue;
    }
    const m = materialise(fileOutcome(decoded.text, r.file, opts), r.file);
    for (const d of m.diagnostics) diagnostics.push(d);
    const refused: RefusedJob[] = [];
    for (const j of m.jobs) {
      const problems = opts.admit?.(j.job.job, r.file) ?? [];
      if (problems.length > 0) refused.push({ line: j.job.line, column: j.job.column, problems });
      else named.push(j);
    }
    if (refused.length > 0) diagnostics.push(...locateProblems(decoded.text, r.file, refused));
  }

  const jobs = rejectCycles(rejectDuplicates(named, diagnostics), diagnostics).map(toValidJob);
  diagnostics.sort(compareDiagnostics);
  const invalid = new Set(diagnostics.filter((d) => d.severity === 'error').map((d) => d.file));
  return { jobs, diagnostics, files: files.length, invalidFiles: [...invalid].sort() };
}

/** Reads standard input for validatePaths, capped. */
export function stdinReader(stream: NodeJS.ReadableStream, maxBytes = DEFAULT_LIMITS.maxFileBytes): () => Promise<Uint8Array> {
  return async () => (await readStream(stream, maxBytes)).bytes;
}

// ---------------------------------------------------------------------------------------------
// Plain objects (the HTTP API's JSON bodies): no positions.

export interface ObjectProblem {
  pointer: string;
  message: string;
}

export type ObjectValidation =
  | { ok: true; job: ContainerJob; resolved: ResolvedJob; warnings: ObjectProblem[] }
  | { ok: false; errors: ObjectProblem[]; warnings: ObjectProblem[] };

function deleteAt(root: unknown, pointer: string): void {
  const segs = pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node = root as Record<string, unknown>;
  for (let i = 0; i < segs.length - 1; i++) {
    const next = node?.[segs[i]];
    if (typeof next !== 'object' || next === null) return;
    node = next as Record<string, unknown>;
  }
  if (node && typeof node === 'object') delete node[segs[segs.length - 1]];
}

/**
 * Validates a plain object. `strict` (default true): unknown fields are errors. With
 * `strict: false` (Kubernetes `fieldValidation=Ignore|Warn`) unknown fields are dropped and
 * reported as warnings — except literal secret fields, which are always errors. Never mutates `obj`.
 */
export function validateObject(obj: unknown, opts: { strict?: boolean } = {}): ObjectValidation {
  const strict = opts.strict ?? true;
  const bad = notAManifest(obj);
  if (bad) return { ok: false, errors: [{ pointer: '', message: bad }], warnings: [] };
  if (exceedsNesting(obj)) return { ok: false, errors: [{ pointer: '', message: `the manifest is ${nestingMessage()}` }], warnings: [] };
  let value: unknown = structuredClone(obj);
  let issues = checkDocument(value);
  const warnings: ObjectProblem[] = [];
  if (!strict) {
    const unknown = issues.filter((i) => i.severity === 'error' && i.target === 'key' && i.message.startsWith('unknown field'));
    if (unknown.length > 0) {
      for (const u of unknown) {
        deleteAt(value, u.pointer);
        warnings.push({ pointer: u.pointer, message: `${u.message}; ignored` });
      }
      issues = checkDocument(value);
    }
  }
  for (const i of issues) if (i.severity === 'warning') warnings.push({ pointer: i.pointer, message: i.message });
  const errors = issues.filter((i) => i.severity === 'error').map((i) => ({ pointer: i.pointer, message: i.message }));
  if (errors.length > 0) return { ok: false, errors, warnings };
  value = value as ContainerJob;
  return { ok: true, job: value as ContainerJob, resolved: resolveJob(value as ContainerJob), warnings };
}
