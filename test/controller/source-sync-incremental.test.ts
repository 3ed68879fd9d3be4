/**
 * SourceSync (the incremental source sync the controller keeps) against applySnapshotFull (the
 * reference algorithm that reads every stored job): the same snapshots and the same out-of-band
 * store writes go to two stores, one through each, and after every pass the results, the stored
 * jobs and the stores' resourceVersions must be identical. Snapshots are built as the watcher
 * builds them: a file whose content did not change keeps its result objects (the identity
 * SourceSync relies on); sometimes a file is handed out as fresh objects with the same content.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SourceSync, applySnapshotFull } from '../../src/controller/source-sync';
import type { ApplyResult } from '../../src/controller/source-sync';
import { suspectNames } from '../../src/controller/watcher';
import type { Diagnostic, RootSnapshot, Snapshot, SnapshotFile, SnapshotJob } from '../../src/controller/watcher';
import type { RunRecord } from '../../src/api/runs';
import { validateBytes } from '../../src/manifest/validate';
import { MemoryStore } from '../../src/store/memory';
import { SqliteStore } from '../../src/store/sqlite';
import type { Store, StoredJob } from '../../src/store/types';
import { manifest } from './watcher-helpers';

const T0 = Date.parse('2026-03-01T12:00:00Z');

/** A small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
function rng(seed: number): { next(): number; int(n: number): number; pick<T>(xs: readonly T[]): T; chance(p: number): boolean } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
  };
}

interface Doc {
  name: string;
  image: string;
  labels: Record<string, string>;
}

type FileSpec = { docs: Doc[]; broken?: 'field' | 'yaml' } | { readError: string };

interface FakeRoot {
  path: string;
  failed: boolean;
  revision: string | null;
  /** relative path → content */
  files: Map<string, FileSpec>;
  /** relative directories that cannot be read (their files are not listed) */
  badDirs: Set<string>;
}

interface FileResult {
  entry: SnapshotFile;
  jobs: SnapshotJob[];
  diagnostics: Diagnostic[];
}

function render(spec: { docs: Doc[]; broken?: 'field' | 'yaml' }): string {
  let text = spec.docs.map((d) => manifest(d.name, d.image, d.labels)).join('---\n');
  if (spec.broken === 'field') text = text.replace('spec:', 'spek: 1\nspec:');
  if (spec.broken === 'yaml') text += 'oops: [unclosed\n';
  return text;
}

/** Builds snapshots the way ManifestReader does, reusing a file's result objects while its content is unchanged. */
class FakeTree {
  readonly roots: FakeRoot[];
  private readonly results = new Map<string, { text: string; result: FileResult }>();

  constructor(paths: string[]) {
    this.roots = paths.map((p) => ({ path: p, failed: false, revision: null, files: new Map(), badDirs: new Set() }));
  }

  /** Hand out fresh objects for this file next time (same content: a re-read that validated again). */
  forget(file: string): void {
    this.results.delete(file);
  }

  snapshot(): Snapshot {
    return { roots: this.roots.map((r) => this.rootSnapshot(r)) };
  }

  private rootSnapshot(r: FakeRoot): RootSnapshot {
    if (r.failed) return { root: r.path, dir: null, revision: null, link: null, ok: false, error: 'ENOENT', files: [], jobs: [], diagnostics: [] };
    const snap: RootSnapshot = { root: r.path, dir: r.path, revision: r.revision, link: null, ok: true, files: [], jobs: [], diagnostics: [] };
    for (const d of [...r.badDirs].sort()) {
      const file = `${r.path}/${d}`;
      snap.files.push({ file, ok: false, jobNames: [], readError: 'EACCES' });
      snap.diagnostics.push({ file, line: 0, column: 0, pointer: '', message: 'cannot read file: EACCES', severity: 'error' });
    }
    for (const rel of [...r.files.keys()].sort()) {
      if ([...r.badDirs].some((d) => rel.startsWith(d + '/'))) continue;
      const spec = r.files.get(rel)!;
      const file = `${r.path}/${rel}`;
      if ('readError' in spec) {
        // the watcher builds a new entry for an unreadable file on every pass
        snap.files.push({ file, ok: false, jobNames: [], readError: spec.readError });
        snap.diagnostics.push({ file, line: 0, column: 0, pointer: '', message: `cannot read file: ${spec.readError}`, severity: 'error' });
        continue;
      }
      const text = render(spec);
      let cached = this.results.get(file);
      if (!cached || cached.text !== text) {
        cached = { text, result: validate(text, file) };
        this.results.set(file, cached);
      }
      snap.files.push(cached.result.entry);
      snap.jobs.push(...cached.result.jobs);
      snap.diagnostics.push(...cached.result.diagnostics);
    }
    return snap;
  }
}

const validations = new Map<string, FileResult>();

/** The watcher's validateFile on the real validator, in place (memoized by file and text; fresh objects each time). */
function validate(text: string, file: string): FileResult {
  const key = `${file}\u0000${text}`;
  let v = validations.get(key);
  if (!v) {
    const r = validateBytes(Buffer.from(text), file, { cache: false });
    const hasError = r.diagnostics.some((d) => (d.severity ?? 'error') === 'error');
    const entry: SnapshotFile = { file, ok: !hasError, jobNames: r.jobs.map((j) => j.job.metadata.name) };
    if (hasError) entry.suspectNames = suspectNames(text);
    v = {
      entry,
      jobs: r.jobs.map((j) => ({ job: j.job, file: j.file || file, line: j.line, column: j.column })),
      diagnostics: r.diagnostics.map((d) => ({ ...d, file: d.file || file })),
    };
    validations.set(key, v);
  }
  return structuredClone(v);
}

const NAMES = Array.from({ length: 12 }, (_, i) => `job-${i}`);
const FILES = ['a.yaml', 'b.yaml', 'c.yaml', 'd.yaml', 'sub/e.yaml', 'sub/f.yaml'];

/** Everything but uid (a directory job's uid is random in each store). */
async function jobsOf(store: Store): Promise<Omit<StoredJob, 'uid'>[]> {
  return (await store.listJobs()).map(({ uid: _uid, ...rest }) => rest);
}

/** One random change of the manifest tree. */
function mutateTree(t: FakeTree, r: ReturnType<typeof rng>, step: number): string {
  const root = r.pick(t.roots);
  const rel = r.pick(FILES);
  const spec = root.files.get(rel);
  const docsOf = (s: FileSpec | undefined): Doc[] => (s && 'docs' in s ? s.docs : []);
  const newDoc = (): Doc => ({ name: r.pick(NAMES), image: `img:${r.int(3)}`, labels: r.chance(0.3) ? { team: r.pick(['x', 'y']) } : {} });
  switch (r.int(17)) {
    case 0:
    case 1:
    case 2: {
      // edit one document (image or labels), or add one
      const docs = docsOf(spec).map((d) => ({ ...d }));
      if (docs.length > 0 && r.chance(0.7)) {
        const d = r.pick(docs);
        if (r.chance(0.5)) d.image = `img:${r.int(4)}`;
        else d.labels = r.chance(0.5) ? {} : { team: r.pick(['x', 'y', 'z']) };
      } else docs.push(newDoc());
      root.files.set(rel, { docs, broken: spec && 'broken' in spec ? spec.broken : undefined });
      return `edit ${root.path}/${rel}`;
    }
    case 3: {
      // a new file with one or two jobs (a copy of an existing name makes a duplicate)
      root.files.set(rel, { docs: r.chance(0.3) ? [newDoc(), newDoc()] : [newDoc()] });
      return `write ${root.path}/${rel}`;
    }
    case 4:
      root.files.delete(rel);
      return `delete ${root.path}/${rel}`;
    case 5: {
      // move a job to another file (maybe of the other root)
      const docs = docsOf(spec);
      if (docs.length === 0) return 'noop';
      const d = r.pick(docs);
      root.files.set(rel, { docs: docs.filter((x) => x !== d) });
      const to = r.pick(t.roots);
      const toRel = r.pick(FILES);
      to.files.set(toRel, { docs: [...docsOf(to.files.get(toRel)), d] });
      return `move ${d.name} to ${to.path}/${toRel}`;
    }
    case 6:
      if (!spec || !('docs' in spec)) return 'noop';
      root.files.set(rel, { docs: spec.docs, broken: r.chance(0.5) ? 'field' : 'yaml' });
      return `break ${root.path}/${rel}`;
    case 7:
      if (!spec || !('docs' in spec)) return 'noop';
      root.files.set(rel, { docs: spec.docs });
      return `fix ${root.path}/${rel}`;
    case 8:
      if (spec && 'readError' in spec) root.files.set(rel, { docs: [newDoc()] });
      else root.files.set(rel, { readError: r.pick(['EACCES', 'EIO']) });
      return `unreadable ${root.path}/${rel}`;
    case 9:
      if (root.badDirs.has('sub')) root.badDirs.delete('sub');
      else root.badDirs.add('sub');
      return `toggle unreadable dir ${root.path}/sub`;
    case 10:
      root.failed = !root.failed;
      return `root ${root.path} ${root.failed ? 'fails' : 'back'}`;
    case 11:
      root.revision = r.chance(0.8) ? `rev-${step}` : null;
      return `revision ${root.path} ${root.revision}`;
    case 12:
      if (r.chance(0.3)) {
        root.files.clear();
        return `empty ${root.path}`;
      }
      return 'noop';
    case 13:
      t.forget(`${root.path}/${rel}`);
      return `fresh objects for ${root.path}/${rel}`;
    default:
      return 'noop';
  }
}

/** One random write someone else makes (the API, the reconciler), applied alike to both stores. */
async function mutateStores(a: Store, b: Store, r: ReturnType<typeof rng>, now: number, step: number): Promise<string> {
  const jobs = await a.listJobs();
  const both = async (fn: (s: Store) => Promise<unknown>): Promise<void> => {
    await fn(a);
    await fn(b);
  };
  const iso = new Date(now).toISOString();
  switch (r.int(10)) {
    case 0:
    case 1: {
      // the reconciler writes status: Ready, its own Invalid=False, or (buggy) drops what source sync owns
      if (jobs.length === 0) return 'noop';
      const j = r.pick(jobs);
      const status = structuredClone(j.status);
      const kind = r.int(4);
      if (kind === 0) status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== 'Ready'), { type: 'Ready', status: 'True', reason: 'Ok', message: '', lastTransitionTime: iso }];
      else if (kind === 1)
        status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== 'Invalid'), { type: 'Invalid', status: 'False', reason: 'Valid', message: 'the spec is valid', lastTransitionTime: iso }];
      else if (kind === 2) delete status.conditions;
      else status.sourceRevision = r.chance(0.5) ? 'other' : undefined;
      status.observedGeneration = j.generation;
      await both(async (s) => await s.putJobStatus(j.name, status));
      return `status ${j.name} (${kind})`;
    }
    case 2: {
      // the reconciler finished a cleanup: finalizer removed, object deleted
      const deleting = jobs.filter((j) => j.deletionTimestamp);
      if (deleting.length === 0) return 'noop';
      const j = r.pick(deleting);
      await both(async (s) => await s.deleteJob(j.name));
      return `cleanup done ${j.name}`;
    }
    case 3: {
      // the reconciler removed the finalizer but has not deleted yet
      const deleting = jobs.filter((j) => j.deletionTimestamp && j.finalizers.length > 0);
      if (deleting.length === 0) return 'noop';
      const j = r.pick(deleting);
      await both(async (s) => await s.putJob({ ...j, finalizers: [] }, (await s.getJob(j.name))!.resourceVersion));
      return `finalizer removed ${j.name}`;
    }
    case 4: {
      // `acictl apply`: an API job with a free name
      const name = r.pick(NAMES);
      if (jobs.some((j) => j.name === name)) return 'noop';
      await both(async (s) =>
        await s.putJob(
          {
            name,
            uid: `api-${step}`,
            finalizers: [],
            labels: {},
            annotations: {},
            spec: { template: { resourceGroup: 'api', location: 'x', containers: [] } } as unknown as StoredJob['spec'],
            source: { kind: 'api' },
            status: {},
          },
          0,
        ),
      );
      return `api create ${name}`;
    }
    case 5: {
      const api = jobs.filter((j) => j.source.kind === 'api');
      if (api.length === 0) return 'noop';
      const j = r.pick(api);
      await both(async (s) => await s.deleteJob(j.name));
      return `api delete ${j.name}`;
    }
    case 6: {
      // a job marked for deletion behind source sync's back, or a directory job deleted outright
      const dir = jobs.filter((j) => j.source.kind === 'directory');
      if (dir.length === 0) return 'noop';
      const j = r.pick(dir);
      if (r.chance(0.5)) await both(async (s) => await s.putJob({ ...j, deletionTimestamp: iso }));
      else await both(async (s) => await s.deleteJob(j.name));
      return `out-of-band delete ${j.name}`;
    }
    case 8: {
      // finalizers stripped from a live directory job (a job without finalizers is deleted at once when pruned)
      const live = jobs.filter((j) => j.source.kind === 'directory' && !j.deletionTimestamp && j.finalizers.length > 0);
      if (live.length === 0) return 'noop';
      const j = r.pick(live);
      await both(async (s) => await s.putJob({ ...j, finalizers: [] }));
      return `finalizers stripped ${j.name}`;
    }
    case 7: {
      // a run record: moves the resourceVersion without touching a job
      const run = { id: `run-${step}`, job: r.pick(NAMES), slot: null, manual: true, scheduledTime: now, dataIntervalStart: now, dataIntervalEnd: now, phase: 'Pending', attempts: [], createdAt: now } as unknown as RunRecord;
      await both(async (s) => await s.putRun(run));
      return `run ${run.id}`;
    }
    default:
      return 'noop';
  }
}

async function runSequence(seed: number, steps: number, mk: () => { a: Store; b: Store; done(): void | Promise<void> }, bulkMin?: number): Promise<SourceSync['stats']> {
  const r = rng(seed);
  const { a, b, done } = mk();
  let sync = new SourceSync(b, { bulkMin });
  const stats = { ...sync.stats };
  const addStats = (): void => {
    for (const k of Object.keys(stats) as (keyof typeof stats)[]) stats[k] += sync.stats[k];
  };
  const tree = new FakeTree(['/m', '/n']);
  // start with some jobs in place
  tree.roots[0].files.set('a.yaml', { docs: [{ name: 'job-0', image: 'img:0', labels: {} }, { name: 'job-1', image: 'img:0', labels: {} }] });
  tree.roots[0].files.set('sub/e.yaml', { docs: [{ name: 'job-2', image: 'img:0', labels: {} }] });
  tree.roots[1].files.set('b.yaml', { docs: [{ name: 'job-3', image: 'img:0', labels: {} }] });
  let now = T0;
  let allowEmpty = false;
  const log: string[] = [];
  try {
    for (let step = 0; step < steps; step++) {
      const changes = r.int(3); // 0: the same snapshot again (the common case of a resync)
      for (const root of tree.roots) if (root.failed && r.chance(0.3)) root.failed = false; // a failed root comes back soon
      for (let i = 0; i < changes; i++) log.push(mutateTree(tree, r, step));
      if (r.chance(0.4)) log.push(await mutateStores(a, b, r, now, step));
      if (r.chance(0.05)) allowEmpty = !allowEmpty;
      if (r.chance(0.3)) now += 1000 * (1 + r.int(60));
      if (r.chance(0.02)) {
        // a controller restart: a new SourceSync on a store that holds jobs
        addStats();
        sync.close();
        sync = new SourceSync(b, { bulkMin });
        log.push('restart');
      }
      const snapshot = tree.snapshot();
      const opts = { allowEmpty, now };
      const expected: ApplyResult = await applySnapshotFull(a, snapshot, opts);
      const actual: ApplyResult = await sync.apply(snapshot, opts);
      const context = `seed ${seed}, step ${step}; last changes: ${log.slice(-6).join(' | ')}`;
      try {
        expect(actual).toEqual(expected);
        expect(await jobsOf(b)).toEqual(await jobsOf(a));
        expect(await b.currentResourceVersion()).toBe(await a.currentResourceVersion());
      } catch (err) {
        (err as Error).message = `${context}\n${(err as Error).message}`;
        throw err;
      }
    }
    addStats();
    return stats;
  } finally {
    sync.close();
    await done();
  }
}

describe('SourceSync is equivalent to applySnapshotFull', () => {
  const memory = (): { a: Store; b: Store; done(): void } => {
    const clock = { now: T0 };
    return { a: new MemoryStore({ now: () => clock.now }), b: new MemoryStore({ now: () => clock.now }), done: () => undefined };
  };

  test.each([1, 2, 3, 4, 5, 6])('random snapshots and out-of-band writes, MemoryStore, seed %i', async (seed) => {
    const stats = await runSequence(seed, 400, memory);
    expect(stats.passes).toBe(400);
    // the cache was never caught out of step, and the incremental path did the work (not a reload per pass)
    expect(stats.fallbacks).toBe(0);
    expect(stats.fullLoads).toBeLessThan(stats.passes / 4);
  });

  test.each([7, 8, 9])('random snapshots and out-of-band writes, MemoryStore, bulk reads from 0 jobs on, seed %i', async (seed) => {
    const stats = await runSequence(seed, 400, memory, 0);
    expect(stats.passes).toBe(400);
    // the cache was never caught out of step, and the incremental path did the work (not a reload per pass)
    expect(stats.fallbacks).toBe(0);
    expect(stats.fullLoads).toBeLessThan(stats.passes / 4);
  });

  test('random snapshots and out-of-band writes, SqliteStore', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'acictl-sync-inc-'));
    try {
      const stats = await runSequence(42, 300, () => {
        const a = SqliteStore.open(join(dir, 'a.db'), { now: () => T0 });
        const b = SqliteStore.open(join(dir, 'b.db'), { now: () => T0 });
        return {
          a,
          b,
          done: async () => {
            await a.close();
            await b.close();
          },
        };
      });
      expect(stats.fallbacks).toBe(0);
      expect(stats.fullLoads).toBeLessThan(stats.passes / 4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A store that counts the reads source sync makes. */
function counting<S extends Store>(store: S): { store: S; calls: Record<string, number> } {
  const calls: Record<string, number> = { listJobs: 0, getJob: 0, putJob: 0 };
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (typeof prop === 'string' && prop in calls) calls[prop]++;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, calls };
}

/** `n` jobs in files of 100, built once through the validator and copied (fast). */
function bigRoot(n: number, revision: string | null): RootSnapshot {
  const template = validate(manifest('tmpl'), '/m/tmpl.yaml').jobs[0];
  const root: RootSnapshot = { root: '/m', dir: '/m', revision, ok: true, files: [], jobs: [], diagnostics: [] };
  for (let i = 0; i < n; i++) {
    const file = `/m/f${Math.floor(i / 100)}.yaml`;
    root.jobs.push({ ...template, job: { ...template.job, metadata: { name: `job-${i}` } }, file, line: 1 + (i % 100) * 15 });
    if (i % 100 === 0) root.files.push({ file, ok: true, jobNames: [] });
  }
  return root;
}

test('one changed job among 10,000 (SqliteStore): no listJobs, one getJob, one write', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'acictl-sync-inc-'));
  const { store, calls } = counting(SqliteStore.open(join(dir, 'state.db')));
  const sync = new SourceSync(store);
  try {
    const opts = { allowEmpty: false, now: T0 };
    const base = bigRoot(10_000, 'rev-1');
    let t = performance.now();
    expect((await sync.apply({ roots: [base] }, opts)).changed).toHaveLength(10_000);
    const firstMs = performance.now() - t;
    expect(calls.listJobs).toBe(1);

    // the watcher's next snapshot: new arrays, the same objects, one job's file rewritten
    const edited = { ...base, files: [...base.files], jobs: [...base.jobs] };
    const old = edited.jobs[4242];
    edited.jobs[4242] = { ...old, job: { ...old.job, spec: { ...old.job.spec, schedule: '@hourly' } } };
    for (const k of Object.keys(calls)) calls[k] = 0;
    t = performance.now();
    const r = await sync.apply({ roots: [edited] }, { ...opts, now: T0 + 1000 });
    const oneMs = performance.now() - t;
    expect(r).toEqual({ changed: ['job-4242'], pruned: [], invalid: [], conflicts: [], failedRoots: [], emptyRoots: [] });
    expect(calls).toEqual({ listJobs: 0, getJob: 1, putJob: 1 });
    expect(sync.stats.evaluated).toBe(10_000 + 1);
    expect((await store.getJob('job-4242'))!.generation).toBe(2);

    // the reconciler writes three statuses: those three are read again, nothing is written
    for (const name of ['job-1', 'job-2', 'job-4242']) {
      const j = (await store.getJob(name))!;
      await store.putJobStatus(name, { ...j.status, observedGeneration: j.generation, conditions: [{ type: 'Ready', status: 'True', reason: 'Ok', message: '', lastTransitionTime: new Date(T0).toISOString() }] });
    }
    for (const k of Object.keys(calls)) calls[k] = 0;
    expect((await sync.apply({ roots: [edited] }, { ...opts, now: T0 + 2000 })).changed).toEqual([]);
    expect(calls).toEqual({ listJobs: 0, getJob: 3, putJob: 0 });

    // a new revision rewrites every job: O(all), read with one listJobs
    for (const k of Object.keys(calls)) calls[k] = 0;
    const rev2 = { ...edited, revision: 'rev-2' };
    expect((await sync.apply({ roots: [rev2] }, { ...opts, now: T0 + 3000 })).changed).toHaveLength(10_000);
    expect(calls.listJobs).toBe(1);
    expect(calls.getJob).toBe(0);
    expect(sync.stats.fallbacks).toBe(0);

    // the same pass through the full algorithm, for scale
    for (const k of Object.keys(calls)) calls[k] = 0;
    t = performance.now();
    expect((await applySnapshotFull(store, { roots: [rev2] }, { ...opts, now: T0 + 4000 })).changed).toEqual([]);
    const fullMs = performance.now() - t;
    // eslint-disable-next-line no-console
    console.log(`SourceSync 10,000 jobs (SqliteStore): first ${firstMs.toFixed(0)} ms, one-job edit ${oneMs.toFixed(1)} ms; unchanged pass, full algorithm ${fullMs.toFixed(0)} ms`);
  } finally {
    sync.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('SourceSync: when the cache cannot be trusted', () => {
  const opts = { allowEmpty: false, now: T0 };
  const tree = (): FakeTree => {
    const t = new FakeTree(['/m']);
    t.roots[0].files.set('a.yaml', { docs: [{ name: 'job-0', image: 'img:0', labels: {} }] });
    t.roots[0].files.set('b.yaml', { docs: [{ name: 'job-1', image: 'img:0', labels: {} }] });
    return t;
  };

  test('a write through another handle on the store file (no change event) makes the next pass read everything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'acictl-sync-inc-'));
    const file = join(dir, 'state.db');
    const mine = SqliteStore.open(file);
    const other = SqliteStore.open(file);
    const sync = new SourceSync(mine);
    try {
      const t = tree();
      const s = t.snapshot();
      expect((await sync.apply(s, opts)).changed).toEqual(['job-0', 'job-1']);
      await other.deleteJob('job-1'); // e.g. a second process; this handle hears nothing of it
      let loads = sync.stats.fullLoads;
      expect((await sync.apply(s, opts)).changed).toEqual(['job-1']);
      expect(sync.stats.fullLoads).toBe(loads + 1);
      expect(await mine.getJob('job-1')).toBeDefined();

      // the same with a write through this handle after it: the change feed shows a gap
      await other.putJobStatus('job-0', { conditions: [{ type: 'Invalid', status: 'True', reason: 'SourceInvalid', message: 'x', lastTransitionTime: new Date(T0).toISOString() }] });
      await mine.putJobStatus('job-1', { sourceRevision: 'stray' });
      loads = sync.stats.fullLoads;
      expect((await sync.apply(s, opts)).changed).toEqual(['job-0', 'job-1']);
      expect(sync.stats.fullLoads).toBe(loads + 1);
      expect((await mine.getJob('job-0'))!.status.conditions).toBeUndefined();
      expect((await mine.getJob('job-1'))!.status.sourceRevision).toBeUndefined();
    } finally {
      sync.close();
      await mine.close();
      await other.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('inside an outer transaction that rolls back, nothing cached survives', async () => {
    const store = new MemoryStore({ now: () => T0 });
    const sync = new SourceSync(store);
    const t = tree();
    await sync.apply(t.snapshot(), opts);
    t.roots[0].files.set('a.yaml', { docs: [{ name: 'job-0', image: 'img:9', labels: {} }] });
    const s = t.snapshot();
    await expect(store.transaction(async () => {
        expect((await sync.apply(s, opts)).changed).toEqual(['job-0']);
        throw new Error('rolled back');
      })).rejects.toThrow('rolled back');
    // the same snapshot again must write job-0 again (it was rolled back)
    expect((await sync.apply(s, opts)).changed).toEqual(['job-0']);
    expect((await store.getJob('job-0'))!.spec.template.containers[0].image).toBe('img:9');
  });

  test('a failing write rolls back and the next pass starts over', async () => {
    const store = new MemoryStore({ now: () => T0 });
    const sync = new SourceSync(store);
    const t = tree();
    await sync.apply(t.snapshot(), opts);
    t.roots[0].files.set('a.yaml', { docs: [{ name: 'job-0', image: 'img:9', labels: {} }] });
    const s = t.snapshot();
    const orig = store.putJob.bind(store);
    store.putJob = async () => {
      throw new Error('disk full');
    };
    await expect(sync.apply(s, opts)).rejects.toThrow('disk full');
    store.putJob = orig;
    expect((await sync.apply(s, opts)).changed).toEqual(['job-0']);
  });

  test('a root listed twice is applied by the full algorithm', async () => {
    const a = new MemoryStore({ now: () => T0 });
    const b = new MemoryStore({ now: () => T0 });
    const sync = new SourceSync(b);
    const t = tree();
    const one = t.snapshot().roots[0];
    const s: Snapshot = { roots: [one, { ...one }] };
    expect(await sync.apply(s, opts)).toEqual(await applySnapshotFull(a, s, opts));
    expect(await jobsOf(b)).toEqual(await jobsOf(a));
    expect(sync.stats.fallbacks).toBe(1);
  });
});
