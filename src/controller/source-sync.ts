/**
 * Applies a manifest snapshot to the store: the desired objects of `--manifests` directories.
 *
 * Rules (DESIGN §7.3, "Invalid is not deleted"):
 * - Valid jobs are upserted with `source: {kind: 'directory', root, file, line, revision}`;
 *   status is preserved, generation moves only on spec changes, and nothing is written when the
 *   stored object already matches (no churn). Every directory job carries the cleanup finalizer.
 * - A stored directory job whose file is now unreadable or invalid keeps its last good spec and
 *   gets condition `Invalid` (True, reason `SourceInvalid`, message `FILE:LINE:COL: message`);
 *   the condition is removed once the job is valid again. This module owns the `Invalid`
 *   condition and `status.sourceRevision`; the reconciler must carry them over when it writes
 *   status.
 * - A stored directory job that is absent from a successfully read root is marked for deletion
 *   (`deletionTimestamp`); the reconciler deletes its groups and removes the finalizer. An EMPTY
 *   root (no manifest files) or an unreadable root prunes nothing unless `allowEmpty`. Jobs of a
 *   root that is not in the snapshot at all are left alone.
 * - A job that reappears before its cleanup finished is revived (deletionTimestamp cleared).
 * - Name conflicts: an API-created job (source kind `api`) with the name of a directory job is
 *   left alone and a conflict is reported (the directory never silently takes over an object
 *   someone created through the API); the same name twice in the directories → the first one
 *   (roots in order, files sorted) wins and the others are reported.
 *
 * `applySnapshotFull` is the definition: it reads every stored job on each pass. `SourceSync`, which
 * the controller keeps, makes exactly the same writes and returns the same result, reading and
 * comparing only the jobs whose definition or stored object changed since its last pass.
 */
import { StoreConflictError } from '../store/types';
import type { Change, Condition, JobStatus, Store, StoredJob } from '../store/types';
import { deepEqual } from '../store/common';
import { FINALIZER_CLEANUP } from '../apiserver/objects';
import type { RootSnapshot, Snapshot, SnapshotJob } from './watcher';

export { FINALIZER_CLEANUP };

export const CONDITION_INVALID = 'Invalid';
export const REASON_SOURCE_INVALID = 'SourceInvalid';

export interface ApplyOptions {
  /** Allow an empty root to prune every job it had (`--allow-empty`). */
  allowEmpty: boolean;
  /** Epoch ms: deletionTimestamp and condition transition times. */
  now: number;
}

export interface SourceConflict {
  name: string;
  file: string;
  line: number;
  message: string;
}

export interface ApplyResult {
  /** Every job whose stored object was written (created, updated, marked invalid/valid, marked for deletion): enqueue these. */
  changed: string[];
  /** Jobs newly marked for deletion (subset of changed). */
  pruned: string[];
  /** Jobs whose source is invalid now (they keep their last good spec). */
  invalid: string[];
  /** Directory jobs not applied because the name is taken. */
  conflicts: SourceConflict[];
  /** Roots that could not be read (nothing of theirs was pruned). */
  failedRoots: string[];
  /** Roots whose pruning was skipped because they were empty. */
  emptyRoots: string[];
}

function where(file: string, line: number, column: number): string {
  return line > 0 ? `${file}:${line}:${column}` : file;
}

/** The `Invalid` condition message of a file: its first errors, as FILE:LINE:COL: message. */
function invalidMessage(root: RootSnapshot, file: string): string {
  const errs = root.diagnostics.filter((d) => d.file === file && (d.severity ?? 'error') === 'error');
  if (errs.length === 0) return `${file}: invalid`;
  const first = errs.slice(0, 3).map((d) => `${where(d.file, d.line, d.column)}: ${d.message}`);
  return first.join('; ') + (errs.length > 3 ? ` (and ${errs.length - 3} more)` : '');
}

function setInvalid(status: JobStatus, message: string | null, nowIso: string): JobStatus {
  const conditions = status.conditions ?? [];
  const current = conditions.find((c) => c.type === CONDITION_INVALID);
  if (message === null) {
    // Only a source-level Invalid is ours to clear; the reconciler's own condition (Invalid=False,
    // or an invalid schedule) stays, or every pass would rewrite — and re-reconcile — every job.
    if (!current || current.reason !== REASON_SOURCE_INVALID) return status;
    const rest = conditions.filter((c) => c.type !== CONDITION_INVALID);
    const out: JobStatus = { ...status, conditions: rest };
    if (rest.length === 0) delete out.conditions;
    return out;
  }
  if (current && current.status === 'True' && current.reason === REASON_SOURCE_INVALID && current.message === message) return status;
  const cond: Condition = {
    type: CONDITION_INVALID,
    status: 'True',
    reason: REASON_SOURCE_INVALID,
    message,
    lastTransitionTime: current && current.status === 'True' ? current.lastTransitionTime : nowIso,
  };
  return { ...status, conditions: [...conditions.filter((c) => c.type !== CONDITION_INVALID), cond] };
}

type Write = Parameters<Store['putJob']>[0];

function toWrite(job: StoredJob): Write {
  const { uid: _u, resourceVersion: _r, generation: _g, creationTimestamp: _c, ...rest } = job;
  return { ...rest, uid: job.uid, creationTimestamp: job.creationTimestamp };
}

function sameObject(a: Write, b: StoredJob): boolean {
  return (
    deepEqual(a.spec, b.spec) &&
    deepEqual(a.labels, b.labels) &&
    deepEqual(a.annotations, b.annotations) &&
    deepEqual(a.source, b.source) &&
    deepEqual(a.finalizers, b.finalizers) &&
    deepEqual(a.status, b.status) &&
    (a.deletionTimestamp ?? null) === (b.deletionTimestamp ?? null)
  );
}

/** The write that marks a stored job Invalid with `message` (a duplicate name, or a broken file): spec kept. */
function invalidWrite(job: StoredJob, message: string, nowIso: string): Write {
  return { ...toWrite(job), status: setInvalid(job.status, message, nowIso) };
}

/** The write of a job its single definition `sj` in `root` claims; `prev` is the stored object, if any. */
function claimedWrite(name: string, root: RootSnapshot, sj: SnapshotJob, prev: StoredJob | undefined, nowIso: string): Write {
  const finalizers = prev ? [...prev.finalizers] : [];
  if (!finalizers.includes(FINALIZER_CLEANUP)) finalizers.push(FINALIZER_CLEANUP);
  let status: JobStatus = prev ? prev.status : {};
  status = setInvalid(status, null, nowIso);
  if (root.revision !== null) status = { ...status, sourceRevision: root.revision };
  else if (status.sourceRevision !== undefined) {
    status = { ...status };
    delete status.sourceRevision;
  }
  const source: StoredJob['source'] = { kind: 'directory', root: root.root, file: sj.file, line: sj.line };
  if (root.revision !== null) source.revision = root.revision;
  const w: Write = {
    name,
    finalizers,
    labels: { ...(sj.job.metadata.labels ?? {}) },
    annotations: { ...(sj.job.metadata.annotations ?? {}) },
    spec: sj.job.spec,
    source,
    status,
  };
  if (prev) {
    w.uid = prev.uid;
    w.creationTimestamp = prev.creationTimestamp;
  }
  // a job that came back before its cleanup finished is alive again (deletionTimestamp dropped)
  return w;
}

type Definition = { root: RootSnapshot; sj: SnapshotJob };

/** name → its definitions in the readable roots, in order (roots in order, files sorted, documents in order). */
function definitionsOf(snapshot: Snapshot): Map<string, Definition[]> {
  const definitions = new Map<string, Definition[]>();
  for (const root of snapshot.roots) {
    if (!root.ok) continue;
    for (const sj of root.jobs) {
      const name = sj.job.metadata.name;
      const list = definitions.get(name);
      if (list) list.push({ root, sj });
      else definitions.set(name, [{ root, sj }]);
    }
  }
  return definitions;
}

/** Report a name defined more than once at every place; returns the `Invalid` message of its stored job. */
function reportDuplicate(name: string, defs: Definition[], conflicts: SourceConflict[]): string {
  const places = defs.map((d) => where(d.sj.file, d.sj.line, d.sj.column));
  for (const d of defs) {
    const others = places.filter((p) => p !== where(d.sj.file, d.sj.line, d.sj.column));
    conflicts.push({
      name,
      file: d.sj.file,
      line: d.sj.line,
      message: `${where(d.sj.file, d.sj.line, d.sj.column)}: containerjob ${name} is defined more than once (also at ${others.join(', ')}); every definition is ignored until one remains`,
    });
  }
  return `${places[0]}: containerjob ${name} is defined more than once (${places.join(', ')})`;
}

function apiConflict(name: string, sj: SnapshotJob): SourceConflict {
  return {
    name,
    file: sj.file,
    line: sj.line,
    message: `${where(sj.file, sj.line, sj.column)}: containerjob ${name} exists and was created through the API; the manifest is ignored until that job is deleted`,
  };
}

/** A readable root's broken files, and the jobs they seem to declare. */
interface RootFaults {
  badFiles: Set<string>;
  /** name → the broken file that seems to declare it (a job moved into a broken file is not pruned) */
  suspects: Map<string, string>;
}

function faultsOf(root: RootSnapshot): RootFaults {
  const badFiles = new Set(root.files.filter((f) => !f.ok).map((f) => f.file));
  const suspects = new Map<string, string>();
  for (const f of root.files) if (!f.ok) for (const n of f.suspectNames ?? []) if (!suspects.has(n)) suspects.set(n, f.file);
  return { badFiles, suspects };
}

/** The broken file a job without a definition belongs to: its own file, a file under an unreadable directory, or a broken file that seems to declare it. */
function badFileOf(faults: RootFaults, file: string, name: string): string | undefined {
  if (faults.badFiles.has(file)) return file;
  for (const b of faults.badFiles) if (file.startsWith(b + '/')) return b;
  return faults.suspects.get(name);
}

/**
 * Apply a snapshot to the store in one transaction, reading every stored job: the reference
 * algorithm. The controller keeps a `SourceSync` instead, which makes the same writes and returns
 * the same result at the cost of the jobs that changed; this stays for one-shot callers and as
 * its yardstick in tests.
 */
export async function applySnapshotFull(store: Store, snapshot: Snapshot, opts: ApplyOptions): Promise<ApplyResult> {
  const nowIso = new Date(opts.now).toISOString();
  const result: ApplyResult = { changed: [], pruned: [], invalid: [], conflicts: [], failedRoots: [], emptyRoots: [] };
  const changed = new Set<string>();

  await store.transaction(async () => {
    const stored = new Map((await store.listJobs()).map((j) => [j.name, j]));
    /** name → the root/job that claims it in this snapshot */
    const claimed = new Map<string, Definition>();

    const put = async (w: Write, prev: StoredJob | undefined): Promise<void> => {
      if (prev && sameObject(w, prev)) return;
      const out = await store.putJob(w, prev ? prev.resourceVersion : 0);
      stored.set(out.name, out);
      changed.add(out.name);
    };

    // 1. claims. A name defined more than once (in two files, two documents or two roots) is an
    // error at every place, as `acictl validate` reports it: no definition wins, so a copied file
    // can never silently take a job over. An existing job keeps its last good spec, Invalid.
    const duplicated = new Map<string, string>();
    for (const [name, defs] of definitionsOf(snapshot)) {
      if (defs.length > 1) {
        duplicated.set(name, reportDuplicate(name, defs, result.conflicts));
        continue;
      }
      const { root, sj } = defs[0];
      const existing = stored.get(name);
      if (existing && existing.source.kind === 'api') {
        result.conflicts.push(apiConflict(name, sj));
        continue;
      }
      claimed.set(name, { root, sj });
    }
    for (const [name, message] of duplicated) {
      const job = stored.get(name);
      if (!job || job.source.kind !== 'directory') continue;
      await put(invalidWrite(job, message, nowIso), job);
      result.invalid.push(name);
    }

    // 2. upsert the claimed jobs
    for (const [name, { root, sj }] of claimed) {
      const prev = stored.get(name);
      await put(claimedWrite(name, root, sj, prev, nowIso), prev);
    }

    // 3. jobs of invalid/unreadable files keep their spec and become Invalid; the rest may be pruned
    for (const root of snapshot.roots) {
      if (!root.ok) {
        result.failedRoots.push(root.root);
        continue;
      }
      const faults = faultsOf(root);
      const mayPrune = root.files.length > 0 || opts.allowEmpty;
      if (!mayPrune) result.emptyRoots.push(root.root);
      for (const job of [...stored.values()]) {
        if (job.source.kind !== 'directory' || job.source.root !== root.root || claimed.has(job.name) || duplicated.has(job.name)) continue;
        const badFile = badFileOf(faults, job.source.file, job.name);
        if (badFile !== undefined) {
          await put(invalidWrite(job, invalidMessage(root, badFile), nowIso), job);
          result.invalid.push(job.name);
          continue;
        }
        if (!mayPrune || job.deletionTimestamp) continue;
        if (job.finalizers.length === 0) {
          await store.deleteJob(job.name);
          stored.delete(job.name);
          changed.add(job.name);
        } else {
          await put({ ...toWrite(job), deletionTimestamp: nowIso }, job);
        }
        result.pruned.push(job.name);
      }
    }
  });

  result.changed = [...changed].sort();
  result.pruned.sort();
  result.invalid.sort();
  return result;
}

/** Apply a snapshot once (stateless): the reference algorithm, `applySnapshotFull`. */
export const applySnapshot = applySnapshotFull;

/** What source sync keeps of a stored job between passes: enough to classify it without decoding it. */
interface Known {
  resourceVersion: number;
  /** `source.kind` as stored */
  kind: string;
  /** `source.root` and `source.file` of a directory job */
  root?: string;
  file?: string;
  deleting: boolean;
}

/**
 * "Evaluating this job with these inputs against its stored object at `resourceVersion` finds
 * nothing to write." Recorded only from such an evaluation (never assumed after a write), so a
 * hit is exactly what the full algorithm would conclude: a resourceVersion names one stored
 * content, and an evaluation that writes nothing does not depend on the time.
 */
type Memo =
  | { resourceVersion: number; kind: 'claimed'; sj: SnapshotJob; root: string; revision: string | null }
  | { resourceVersion: number; kind: 'invalid'; message: string };

/** A decision that needs the stored object (or a write), in the order the full algorithm makes it. */
type Work =
  | { kind: 'invalid'; name: string; message: string }
  | { kind: 'claimed'; name: string; root: RootSnapshot; sj: SnapshotJob }
  | { kind: 'prune'; name: string };

/** The cache disagrees with the store (a bug, or a writer we cannot see): the pass is redone in full. */
class OutOfStep extends Error {}

/**
 * Above this share of the stored jobs (and `bulkMin` jobs), one `listJobs` is cheaper than a
 * `getJob` each (a revision change rewrites every job; a start-up's status writes leave every job
 * to be read again).
 */
const BULK_SHARE = 0.25;

export interface SourceSyncOptions {
  /** Never read in bulk for fewer jobs than this (default 16; tests lower it to reach that path with few jobs). */
  bulkMin?: number;
}

/**
 * Source sync with memory: the same writes and the same ApplyResult as `applySnapshotFull`, but a
 * pass costs what changed, not what is stored.
 *
 * The full algorithm decodes every stored job and deep-compares it with its definition on every
 * pass (150–200 ms for 10,000 jobs on SQLite), although a watcher pass usually changes one file. Here
 * the outcome of each job's last evaluation is remembered (`Memo`) and reused while its inputs are
 * the same objects and its stored resourceVersion has not moved:
 * - the inputs: the SnapshotJob that defines it (the watcher hands out the same object for a file
 *   whose content did not change — snapshots must not be mutated after they are applied), its
 *   root and revision, or the `Invalid` message of a duplicate name or a broken file;
 * - the stored side: `Known`, a few fields of every stored job (kind, root, file, being deleted,
 *   resourceVersion), kept in step through the store's change feed. A job someone else wrote (the
 *   API, the reconciler's status or its delete after cleanup) is read again with `getJob` at the
 *   next pass. The feed is checked for gaps: every resourceVersion from the one this cache was
 *   filled at to the store's current one must have been seen (a write through another handle on
 *   the store file has no event here), else the pass starts from `listJobs` again.
 * Every pass still walks the snapshot (definitions, duplicate names, conflicts, the roots' broken
 * files) and the Known map, which is cheap pointer work; reading, decoding, comparing and writing
 * are limited to jobs whose definition or stored object changed. Writes are made in the full
 * algorithm's order, so even resourceVersions come out the same.
 *
 * `apply` must not run inside an outer `store.transaction` (its cache would outlive a rollback);
 * the controller calls it from the watcher's callback.
 */
export class SourceSync {
  private readonly known = new Map<string, Known>();
  private readonly memo = new Map<string, Memo>();
  /** Jobs written by someone else since the last pass: read again before they are trusted. */
  private readonly stale = new Set<string>();
  /** False until a pass filled `known` from `listJobs`, and again after a gap or a failure. */
  private synced = false;
  /** Every change up to this resourceVersion is reflected in `known` and `stale`. */
  private syncedRv = 0;
  /** resourceVersions of this pass's own writes: their change events are no news. */
  private readonly own = new Set<number>();
  private readonly roots = new Map<string, string>();
  private readonly unsubscribe: () => void;
  private readonly bulkMin: number;
  /** For tests and diagnostics: passes, passes that read every job, jobs read one by one, jobs evaluated, passes redone by the full algorithm. */
  readonly stats = { passes: 0, fullLoads: 0, reads: 0, evaluated: 0, fallbacks: 0 };

  constructor(
    private readonly store: Store,
    opts: SourceSyncOptions = {},
  ) {
    this.bulkMin = opts.bulkMin ?? 16;
    const offChange = store.onChange((c) => this.onChange(c));
    const offResync = store.onResync?.(() => this.reset()); // changes were lost: the next pass reads every job
    this.unsubscribe = () => {
      offChange();
      offResync?.();
    };
  }

  close(): void {
    this.unsubscribe();
    this.reset();
  }

  async apply(snapshot: Snapshot, opts: ApplyOptions): Promise<ApplyResult> {
    this.stats.passes++;
    // Writes whose COMMIT was deferred (the reconciler's last stretches) are committed now, so
    // their changes have reached `known` before the pass compares resourceVersions.
    await this.store.flush();
    if (new Set(snapshot.roots.map((r) => r.root)).size !== snapshot.roots.length) {
      // A root listed twice has its jobs visited twice by the full algorithm: not worth a second
      // code path (the watcher never does it).
      return this.fallback(snapshot, opts);
    }
    try {
      return await this.pass(snapshot, opts);
    } catch (err) {
      // the transaction rolled back: nothing cached from this pass may be kept
      this.reset();
      if (err instanceof OutOfStep || err instanceof StoreConflictError) return this.fallback(snapshot, opts);
      throw err;
    }
  }

  /** Forget everything: the next pass reads every job. */
  reset(): void {
    this.synced = false;
    this.known.clear();
    this.memo.clear();
    this.stale.clear();
    this.own.clear();
  }

  private fallback(snapshot: Snapshot, opts: ApplyOptions): Promise<ApplyResult> {
    this.stats.fallbacks++;
    this.reset();
    return applySnapshotFull(this.store, snapshot, opts);
  }

  private onChange(c: Change): void {
    if (!this.synced) return;
    if (c.resourceVersion !== this.syncedRv + 1) {
      // a gap or a change out of order (a listener writing while changes are being delivered)
      this.reset();
      return;
    }
    this.syncedRv = c.resourceVersion;
    if (this.own.delete(c.resourceVersion)) return;
    if (c.resource === 'containerjobs') this.stale.add(c.name);
  }

  private knownOf(job: StoredJob): Known {
    const s = job.source;
    const k: Known = { resourceVersion: job.resourceVersion, kind: s.kind, deleting: Boolean(job.deletionTimestamp) };
    if (s.kind === 'directory') {
      // one copy of each root path, not one per job
      let root = this.roots.get(s.root);
      if (root === undefined) this.roots.set(s.root, (root = s.root));
      k.root = root;
      k.file = s.file;
    }
    return k;
  }

  private async pass(snapshot: Snapshot, opts: ApplyOptions): Promise<ApplyResult> {
    const store = this.store;
    const nowIso = new Date(opts.now).toISOString();
    const result: ApplyResult = { changed: [], pruned: [], invalid: [], conflicts: [], failedRoots: [], emptyRoots: [] };
    const changed = new Set<string>();
    const known = this.known;
    const memo = this.memo;

    await store.transaction(async () => {
      /** Stored objects read in this pass (undefined: not stored); after a bulk load, every one. */
      const fetched = new Map<string, StoredJob | undefined>();
      let bulk = false;
      const loadAll = async (): Promise<void> => {
        known.clear();
        fetched.clear();
        for (const j of await store.listJobs()) {
          fetched.set(j.name, j);
          known.set(j.name, this.knownOf(j));
        }
        // memos stay: each is checked against the resourceVersion just read
        for (const name of memo.keys()) if (!known.has(name)) memo.delete(name);
        this.stale.clear();
        bulk = true;
        this.stats.fullLoads++;
      };
      const get = async (name: string): Promise<StoredJob | undefined> => {
        if (bulk || fetched.has(name)) return fetched.get(name);
        const j = await store.getJob(name);
        fetched.set(name, j);
        this.stats.reads++;
        return j;
      };

      // 0. bring `known` up to date with the store
      if (!this.synced || (await store.currentResourceVersion()) !== this.syncedRv) {
        // first pass, or the store moved without telling us: nothing remembered can be trusted
        this.reset();
        await loadAll();
        this.syncedRv = await store.currentResourceVersion();
        this.synced = true;
      } else if (this.stale.size > this.bulkMin && this.stale.size > known.size * BULK_SHARE) {
        await loadAll();
      } else {
        for (const name of this.stale) {
          const j = await get(name);
          if (j) known.set(name, this.knownOf(j));
          else {
            known.delete(name);
            memo.delete(name);
          }
        }
        this.stale.clear();
      }

      // 1. claims, as in the full algorithm (conflicts in the same order); a decision whose memo
      // holds is settled here without touching the store
      const work: Work[] = [];
      const claimedWork: Work[] = [];
      const definitions = definitionsOf(snapshot);
      for (const [name, defs] of definitions) {
        if (defs.length > 1) {
          const message = reportDuplicate(name, defs, result.conflicts);
          const k = known.get(name);
          if (!k || k.kind !== 'directory') continue;
          result.invalid.push(name);
          const m = memo.get(name);
          if (m && m.kind === 'invalid' && m.resourceVersion === k.resourceVersion && m.message === message) continue;
          work.push({ kind: 'invalid', name, message });
          continue;
        }
        const { root, sj } = defs[0];
        const k = known.get(name);
        if (k && k.kind === 'api') {
          result.conflicts.push(apiConflict(name, sj));
          continue;
        }
        const m = k ? memo.get(name) : undefined;
        if (
          k &&
          m &&
          m.kind === 'claimed' &&
          m.resourceVersion === k.resourceVersion &&
          m.sj === sj &&
          m.root === root.root &&
          m.revision === root.revision
        ) {
          continue;
        }
        claimedWork.push({ kind: 'claimed', name, root, sj });
      }
      // (duplicates' writes come first, then the claimed jobs', as in the full algorithm)
      for (const w of claimedWork) work.push(w);

      // 2. stored directory jobs nothing defines, per root: Invalid (a broken file) or pruned
      const orphans = new Map<string, string[]>();
      for (const [name, k] of known) {
        if (k.kind !== 'directory' || definitions.has(name)) continue;
        const list = orphans.get(k.root!);
        if (list) list.push(name);
        else orphans.set(k.root!, [name]);
      }
      for (const root of snapshot.roots) {
        if (!root.ok) {
          result.failedRoots.push(root.root);
          continue;
        }
        const mayPrune = root.files.length > 0 || opts.allowEmpty;
        if (!mayPrune) result.emptyRoots.push(root.root);
        const names = orphans.get(root.root);
        if (!names) continue;
        names.sort(); // listJobs' order (directory job names are ASCII, so SQLite's and JS's orders agree)
        const faults = faultsOf(root);
        const messages = new Map<string, string>();
        for (const name of names) {
          const k = known.get(name)!;
          const badFile = badFileOf(faults, k.file!, name);
          if (badFile !== undefined) {
            let message = messages.get(badFile);
            if (message === undefined) messages.set(badFile, (message = invalidMessage(root, badFile)));
            result.invalid.push(name);
            const m = memo.get(name);
            if (m && m.kind === 'invalid' && m.resourceVersion === k.resourceVersion && m.message === message) continue;
            work.push({ kind: 'invalid', name, message });
            continue;
          }
          if (!mayPrune || k.deleting) continue;
          result.pruned.push(name);
          work.push({ kind: 'prune', name });
        }
      }

      // 3. read what the decisions need (in one listJobs when that is most of the store), then
      // evaluate and write, in the full algorithm's order
      if (!bulk) {
        let unread = 0;
        for (const w of work) if (!fetched.has(w.name) && known.has(w.name)) unread++;
        if (unread > this.bulkMin && unread > known.size * BULK_SHARE) await loadAll();
      }
      const write = async (w: Write, prev: StoredJob | undefined): Promise<StoredJob> => {
        const out = await store.putJob(w, prev ? prev.resourceVersion : 0);
        this.own.add(out.resourceVersion);
        changed.add(out.name);
        known.set(out.name, this.knownOf(out));
        fetched.set(out.name, out);
        return out;
      };
      /** The stored object of a job `known` lists, which must be the one `known` describes. */
      const stored = async (name: string): Promise<StoredJob> => {
        const j = await get(name);
        if (!j || j.resourceVersion !== known.get(name)?.resourceVersion) throw new OutOfStep(`containerjob ${name}: the cache is out of step with the store`);
        return j;
      };
      for (const w of work) {
        this.stats.evaluated++;
        if (w.kind === 'invalid') {
          const job = await stored(w.name);
          const next = invalidWrite(job, w.message, nowIso);
          let settled: StoredJob | undefined = job;
          if (!sameObject(next, job)) {
            const out = await write(next, job);
            // remembered only if evaluating again would write nothing (it would, were the stored
            // form not to compare equal to what was written)
            settled = sameObject(invalidWrite(out, w.message, nowIso), out) ? out : undefined;
          }
          if (settled) memo.set(w.name, { resourceVersion: settled.resourceVersion, kind: 'invalid', message: w.message });
          else memo.delete(w.name);
        } else if (w.kind === 'claimed') {
          const prev = known.has(w.name) ? await stored(w.name) : undefined;
          const next = claimedWrite(w.name, w.root, w.sj, prev, nowIso);
          let settled: StoredJob | undefined = prev;
          if (!prev || !sameObject(next, prev)) {
            const out = await write(next, prev);
            settled = sameObject(claimedWrite(w.name, w.root, w.sj, out, nowIso), out) ? out : undefined;
          }
          if (settled) memo.set(w.name, { resourceVersion: settled.resourceVersion, kind: 'claimed', sj: w.sj, root: w.root.root, revision: w.root.revision });
          else memo.delete(w.name);
        } else {
          const job = await stored(w.name);
          memo.delete(w.name);
          if (job.finalizers.length === 0) {
            await store.deleteJob(w.name);
            this.own.add(await store.currentResourceVersion());
            known.delete(w.name);
            fetched.set(w.name, undefined);
            changed.add(w.name);
          } else {
            await write({ ...toWrite(job), deletionTimestamp: nowIso }, job);
          }
        }
      }
    });

    if (this.own.size > 0) {
      // Our writes' changes were not delivered: this ran inside an outer transaction (or the store
      // does not report changes), so what was cached may yet be rolled back. Start over next time.
      this.reset();
    }
    result.changed = [...changed].sort();
    result.pruned.sort();
    result.invalid.sort();
    return result;
  }
}
