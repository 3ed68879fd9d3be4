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
 */
import type { Condition, JobStatus, Store, StoredJob } from '../store/types';
import { deepEqual } from '../store/common';
import { FINALIZER_CLEANUP } from './api/objects';
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

/** Apply a snapshot to the store in one transaction. */
export function applySnapshot(store: Store, snapshot: Snapshot, opts: ApplyOptions): ApplyResult {
  const nowIso = new Date(opts.now).toISOString();
  const result: ApplyResult = { changed: [], pruned: [], invalid: [], conflicts: [], failedRoots: [], emptyRoots: [] };
  const changed = new Set<string>();

  store.transaction(() => {
    const stored = new Map(store.listJobs().map((j) => [j.name, j]));
    /** name → the root/job that claims it in this snapshot */
    const claimed = new Map<string, { root: RootSnapshot; sj: SnapshotJob }>();

    const put = (w: Write, prev: StoredJob | undefined): void => {
      if (prev && sameObject(w, prev)) return;
      const out = store.putJob(w, prev ? prev.resourceVersion : 0);
      stored.set(out.name, out);
      changed.add(out.name);
    };

    // 1. claims. A name defined more than once (in two files, two documents or two roots) is an
    // error at every place, as `acictl validate` reports it: no definition wins, so a copied file
    // can never silently take a job over. An existing job keeps its last good spec, Invalid.
    const definitions = new Map<string, { root: RootSnapshot; sj: SnapshotJob }[]>();
    for (const root of snapshot.roots) {
      if (!root.ok) continue;
      for (const sj of root.jobs) {
        const name = sj.job.metadata.name;
        const list = definitions.get(name) ?? [];
        list.push({ root, sj });
        definitions.set(name, list);
      }
    }
    const duplicated = new Map<string, string>();
    for (const [name, defs] of definitions) {
      if (defs.length > 1) {
        const places = defs.map((d) => where(d.sj.file, d.sj.line, d.sj.column));
        for (const d of defs) {
          const others = places.filter((p) => p !== where(d.sj.file, d.sj.line, d.sj.column));
          result.conflicts.push({
            name,
            file: d.sj.file,
            line: d.sj.line,
            message: `${where(d.sj.file, d.sj.line, d.sj.column)}: containerjob ${name} is defined more than once (also at ${others.join(', ')}); every definition is ignored until one remains`,
          });
        }
        duplicated.set(name, `${places[0]}: containerjob ${name} is defined more than once (${places.join(', ')})`);
        continue;
      }
      const { root, sj } = defs[0];
      const existing = stored.get(name);
      if (existing && existing.source.kind === 'api') {
        result.conflicts.push({
          name,
          file: sj.file,
          line: sj.line,
          message: `${where(sj.file, sj.line, sj.column)}: containerjob ${name} exists and was created through the API; the manifest is ignored until that job is deleted`,
        });
        continue;
      }
      claimed.set(name, { root, sj });
    }
    for (const [name, message] of duplicated) {
      const job = stored.get(name);
      if (!job || job.source.kind !== 'directory') continue;
      put({ ...toWrite(job), status: setInvalid(job.status, message, nowIso) }, job);
      result.invalid.push(name);
    }

    // 2. upsert the claimed jobs
    for (const [name, { root, sj }] of claimed) {
      const prev = stored.get(name);
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
      put(w, prev);
    }

    // 3. jobs of invalid/unreadable files keep their spec and become Invalid; the rest may be pruned
    for (const root of snapshot.roots) {
      if (!root.ok) {
        result.failedRoots.push(root.root);
        continue;
      }
      const badFiles = new Set(root.files.filter((f) => !f.ok).map((f) => f.file));
      /** name → the broken file that seems to declare it (a job moved into a broken file is not pruned) */
      const suspects = new Map<string, string>();
      for (const f of root.files) if (!f.ok) for (const n of f.suspectNames ?? []) if (!suspects.has(n)) suspects.set(n, f.file);
      const mayPrune = root.files.length > 0 || opts.allowEmpty;
      if (!mayPrune) result.emptyRoots.push(root.root);
      for (const job of [...stored.values()]) {
        if (job.source.kind !== 'directory' || job.source.root !== root.root || claimed.has(job.name) || duplicated.has(job.name)) continue;
        // A broken file, a file under an unreadable directory, or a broken file that seems to declare it.
        const source = job.source;
        const badFile = badFiles.has(source.file)
          ? source.file
          : ([...badFiles].find((b) => source.file.startsWith(b + '/')) ?? suspects.get(job.name));
        if (badFile !== undefined) {
          const status = setInvalid(job.status, invalidMessage(root, badFile), nowIso);
          put({ ...toWrite(job), status }, job);
          result.invalid.push(job.name);
          continue;
        }
        if (!mayPrune || job.deletionTimestamp) continue;
        if (job.finalizers.length === 0) {
          store.deleteJob(job.name);
          stored.delete(job.name);
          changed.add(job.name);
        } else {
          put({ ...toWrite(job), deletionTimestamp: nowIso }, job);
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
