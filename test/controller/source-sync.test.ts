import { FINALIZER_CLEANUP, applySnapshot } from '../../src/controller/source-sync';
import { defaultValidator } from '../../src/controller/watcher';
import type { FileValidation, RootSnapshot, Snapshot } from '../../src/controller/watcher';
import { MemoryStore } from '../../src/store/memory';
import { SqliteStore } from '../../src/store/sqlite';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifest } from './watcher-helpers';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const opts = { allowEmpty: false, now: NOW };

/** Build a root snapshot from in-memory files through the same validator the watcher uses. */
function root(rootPath: string, files: Record<string, string>, revision: string | null = null): RootSnapshot {
  const snap: RootSnapshot = { root: rootPath, dir: rootPath, revision, ok: true, files: [], jobs: [], diagnostics: [] };
  for (const [name, text] of Object.entries(files)) {
    const file = `${rootPath}/${name}`;
    const v = defaultValidator(Buffer.from(text), file) as FileValidation;
    const ok = !v.diagnostics.some((d) => d.severity === 'error');
    snap.files.push({ file, ok, jobNames: v.jobs.map((j) => j.job.metadata.name), ...(ok ? {} : { suspectNames: [] }) });
    snap.jobs.push(...v.jobs);
    snap.diagnostics.push(...v.diagnostics);
  }
  return snap;
}

function snap(...roots: RootSnapshot[]): Snapshot {
  return { roots };
}

const failed = (rootPath: string): RootSnapshot => ({ root: rootPath, dir: null, revision: null, ok: false, error: 'ENOENT', files: [], jobs: [], diagnostics: [] });

describe('applySnapshot', () => {
  let store: MemoryStore;
  beforeEach(async () => {
    store = new MemoryStore({ now: () => NOW });
  });

  test('creates directory jobs with source, revision, finalizer and generation 1', async () => {
    const r = await applySnapshot(store, snap(root('/m', { 'a.yaml': manifest('a', 'img:1', { team: 'x' }), 'b.yaml': manifest('b') }, 'rev-1')), opts);
    expect(r.changed).toEqual(['a', 'b']);
    expect(r.pruned).toEqual([]);
    const a = (await store.getJob('a'))!;
    expect(a.source).toEqual({ kind: 'directory', root: '/m', file: '/m/a.yaml', line: 1, revision: 'rev-1' });
    expect(a.finalizers).toEqual([FINALIZER_CLEANUP]);
    expect(a.generation).toBe(1);
    expect(a.labels).toEqual({ team: 'x' });
    expect(a.spec.template.containers[0].image).toBe('img:1');
    expect(a.status.sourceRevision).toBe('rev-1');
  });

  test('re-applying the same snapshot writes nothing (no churn)', async () => {
    const s = snap(root('/m', { 'a.yaml': manifest('a') }, 'rev-1'));
    await applySnapshot(store, s, opts);
    const rv = await store.currentResourceVersion();
    const r = await applySnapshot(store, s, { ...opts, now: NOW + 60_000 });
    expect(r.changed).toEqual([]);
    expect(await store.currentResourceVersion()).toBe(rv);
  });

  test('a pass leaves the reconciler conditions alone (no write, no re-reconcile)', async () => {
    const s = snap(root('/m', { 'a.yaml': manifest('a') }, 'rev-1'));
    await applySnapshot(store, s, opts);
    const job = (await store.getJob('a'))!;
    await store.putJobStatus('a', {
      ...job.status,
      conditions: [{ type: 'Invalid', status: 'False', reason: 'Valid', message: 'the spec is valid', lastTransitionTime: new Date(NOW).toISOString() }],
    });
    const rv = await store.currentResourceVersion();
    const r = await applySnapshot(store, s, { ...opts, now: NOW + 60_000 });
    expect(r.changed).toEqual([]);
    expect(await store.currentResourceVersion()).toBe(rv);
    expect((await store.getJob('a'))!.status.conditions).toEqual([expect.objectContaining({ type: 'Invalid', status: 'False', reason: 'Valid' })]);
  });

  test('spec change bumps generation and keeps status; label change does not bump generation', async () => {
    await applySnapshot(store, snap(root('/m', { 'a.yaml': manifest('a', 'img:1') })), opts);
    await store.putJobStatus('a', { ...(await store.getJob('a'))!.status, lastScheduleTime: '2026-03-01T00:00:00Z', observedGeneration: 1 });
    let r = await applySnapshot(store, snap(root('/m', { 'a.yaml': manifest('a', 'img:2') })), opts);
    expect(r.changed).toEqual(['a']);
    let a = (await store.getJob('a'))!;
    expect(a.generation).toBe(2);
    expect(a.spec.template.containers[0].image).toBe('img:2');
    expect(a.status.lastScheduleTime).toBe('2026-03-01T00:00:00Z');
    r = await applySnapshot(store, snap(root('/m', { 'a.yaml': manifest('a', 'img:2', { l: 'v' }) })), opts);
    a = (await store.getJob('a'))!;
    expect(r.changed).toEqual(['a']);
    expect(a.generation).toBe(2);
    expect(a.labels).toEqual({ l: 'v' });
  });

  test('an invalid file keeps the last good spec and sets Invalid with FILE:LINE:COL; fixing it clears Invalid', async () => {
    await applySnapshot(store, snap(root('/m', { 'a.yaml': manifest('a', 'img:1'), 'b.yaml': manifest('b') }, 'rev-1')), opts);
    const broken = manifest('a', 'img:2').replace('spec:', 'spek: 1\nspec:');
    const r = await applySnapshot(store, snap(root('/m', { 'a.yaml': broken, 'b.yaml': manifest('b') }, 'rev-2')), opts);
    expect(r.invalid).toEqual(['a']);
    expect(r.pruned).toEqual([]);
    expect(r.changed).toEqual(['a', 'b']); // b: new revision recorded
    const a = (await store.getJob('a'))!;
    expect(a.deletionTimestamp).toBeUndefined();
    expect(a.spec.template.containers[0].image).toBe('img:1');
    expect(a.generation).toBe(1);
    expect(a.status.sourceRevision).toBe('rev-1'); // the spec still comes from rev-1
    expect(a.status.conditions).toEqual([
      { type: 'Invalid', status: 'True', reason: 'SourceInvalid', message: '/m/a.yaml:5:1: unknown field "spek" (did you mean "spec"?)', lastTransitionTime: new Date(NOW).toISOString() },
    ]);
    expect((await store.getJob('b'))!.status.conditions).toBeUndefined();

    // the same broken state again: no write
    const rv = await store.currentResourceVersion();
    expect((await applySnapshot(store, snap(root('/m', { 'a.yaml': broken, 'b.yaml': manifest('b') }, 'rev-2')), opts)).changed).toEqual([]);
    expect(await store.currentResourceVersion()).toBe(rv);

    // fixed
    const fixed = await applySnapshot(store, snap(root('/m', { 'a.yaml': manifest('a', 'img:3'), 'b.yaml': manifest('b') }, 'rev-3')), opts);
    expect(fixed.invalid).toEqual([]);
    const a3 = (await store.getJob('a'))!;
    expect(a3.status.conditions).toBeUndefined();
    expect(a3.spec.template.containers[0].image).toBe('img:3');
    expect(a3.status.sourceRevision).toBe('rev-3');
  });

  test('an unreadable file marks its jobs Invalid, never prunes them', async () => {
    await applySnapshot(store, snap(root('/m', { 'a.yaml': manifest('a'), 'b.yaml': manifest('b') })), opts);
    const s = root('/m', { 'b.yaml': manifest('b') });
    s.files.push({ file: '/m/a.yaml', ok: false, jobNames: [], readError: 'EACCES: permission denied' });
    s.diagnostics.push({ file: '/m/a.yaml', line: 0, column: 0, pointer: '', message: 'cannot read file: EACCES', severity: 'error' });
    const r = await applySnapshot(store, snap(s), opts);
    expect(r.invalid).toEqual(['a']);
    expect(r.pruned).toEqual([]);
    expect((await store.getJob('a'))!.status.conditions![0].message).toBe('/m/a.yaml: cannot read file: EACCES');
  });

  test('a deleted file marks its jobs for deletion once; a job coming back is revived', async () => {
    await applySnapshot(store, snap(root('/m', { 'a.yaml': manifest('a'), 'b.yaml': manifest('b') })), opts);
    const r = await applySnapshot(store, snap(root('/m', { 'b.yaml': manifest('b') })), opts);
    expect(r.pruned).toEqual(['a']);
    expect(r.changed).toEqual(['a']);
    const a = (await store.getJob('a'))!;
    expect(a.deletionTimestamp).toBe(new Date(NOW).toISOString());
    expect(a.finalizers).toEqual([FINALIZER_CLEANUP]); // the reconciler removes it after cleanup
    // again: already marked, no write
    expect((await applySnapshot(store, snap(root('/m', { 'b.yaml': manifest('b') })), opts)).changed).toEqual([]);
    // back before cleanup finished
    const back = await applySnapshot(store, snap(root('/m', { 'a.yaml': manifest('a'), 'b.yaml': manifest('b') })), opts);
    expect(back.changed).toEqual(['a']);
    expect((await store.getJob('a'))!.deletionTimestamp).toBeUndefined();
    expect((await store.getJob('a'))!.uid).toBe(a.uid);
  });

  test('a job removed from a multi-document file is pruned while its sibling stays', async () => {
    await applySnapshot(store, snap(root('/m', { 'all.yaml': `${manifest('a')}---\n${manifest('b')}` })), opts);
    expect((await store.getJob('b'))!.source).toMatchObject({ file: '/m/all.yaml', line: 15 });
    const r = await applySnapshot(store, snap(root('/m', { 'all.yaml': manifest('b') })), opts);
    expect(r.pruned).toEqual(['a']);
    expect((await store.getJob('b'))!.deletionTimestamp).toBeUndefined();
    expect((await store.getJob('b'))!.source).toMatchObject({ line: 1 });
  });

  test('an empty root prunes nothing unless allowEmpty', async () => {
    await applySnapshot(store, snap(root('/m', { 'a.yaml': manifest('a') })), opts);
    const r = await applySnapshot(store, snap(root('/m', {})), opts);
    expect(r.pruned).toEqual([]);
    expect(r.emptyRoots).toEqual(['/m']);
    expect((await store.getJob('a'))!.deletionTimestamp).toBeUndefined();
    const allowed = await applySnapshot(store, snap(root('/m', {})), { ...opts, allowEmpty: true });
    expect(allowed.pruned).toEqual(['a']);
    expect((await store.getJob('a'))!.deletionTimestamp).toBeDefined();
  });

  test('a failed root prunes nothing, even with allowEmpty; other roots still apply', async () => {
    await applySnapshot(store, snap(root('/m', { 'a.yaml': manifest('a') }), root('/n', { 'c.yaml': manifest('c') })), opts);
    const r = await applySnapshot(store, snap(failed('/m'), root('/n', { 'd.yaml': manifest('d') })), { ...opts, allowEmpty: true });
    expect(r.failedRoots).toEqual(['/m']);
    expect((await store.getJob('a'))!.deletionTimestamp).toBeUndefined();
    expect(r.pruned).toEqual(['c']);
    expect(await store.getJob('d')).toBeDefined();
  });

  test('jobs of a root not in the snapshot are left alone', async () => {
    await applySnapshot(store, snap(root('/old', { 'a.yaml': manifest('a') })), opts);
    const r = await applySnapshot(store, snap(root('/m', { 'b.yaml': manifest('b') })), opts);
    expect(r.pruned).toEqual([]);
    expect((await store.getJob('a'))!.deletionTimestamp).toBeUndefined();
  });

  test('an API-created job with the same name is left alone and reported as a conflict', async () => {
    await store.putJob({ name: 'a', finalizers: [], labels: {}, annotations: {}, spec: { template: { resourceGroup: 'api', location: 'x', containers: [] } }, source: { kind: 'api' }, status: {} });
    const before = (await store.getJob('a'))!;
    const r = await applySnapshot(store, snap(root('/m', { 'a.yaml': manifest('a') })), opts);
    expect(r.changed).toEqual([]);
    expect(r.conflicts).toEqual([expect.objectContaining({ name: 'a', file: '/m/a.yaml', line: 1 })]);
    expect(r.conflicts[0].message).toMatch(/created through the API/);
    expect(await store.getJob('a')).toEqual(before);
    // and an API job is never pruned by a directory
    expect((await applySnapshot(store, snap(root('/m', { 'b.yaml': manifest('b') })), opts)).pruned).toEqual([]);
  });

  test('the same name in two files or roots: a conflict at both places, no definition wins', async () => {
    const r = await applySnapshot(store, snap(root('/m', { 'a.yaml': manifest('a', 'first') }), root('/n', { 'a.yaml': manifest('a', 'second') })), opts);
    expect(r.conflicts).toEqual([expect.objectContaining({ name: 'a', file: '/m/a.yaml' }), expect.objectContaining({ name: 'a', file: '/n/a.yaml' })]);
    expect(r.conflicts[0].message).toMatch(/defined more than once \(also at \/n\/a\.yaml/);
    expect(await store.getJob('a')).toBeUndefined();
  });

  test('a copy of an existing job in another file never takes it over: last good spec, Invalid, not pruned', async () => {
    await applySnapshot(store, snap(root('/m', { 'b.yaml': manifest('a', 'original') })), opts);
    const r = await applySnapshot(store, snap(root('/m', { 'a-copy.yaml': manifest('a', 'hijack'), 'b.yaml': manifest('a', 'original') })), opts);
    expect(r.pruned).toEqual([]);
    expect(r.invalid).toEqual(['a']);
    const a = (await store.getJob('a'))!;
    expect(a.spec.template.containers[0].image).toBe('original');
    expect(a.deletionTimestamp).toBeUndefined();
    expect(a.status.conditions!.find((c) => c.type === 'Invalid')).toMatchObject({ status: 'True', message: expect.stringMatching(/defined more than once/) });
    // Removing the copy clears the condition.
    await applySnapshot(store, snap(root('/m', { 'b.yaml': manifest('a', 'original') })), opts);
    expect((await store.getJob('a'))!.status.conditions?.some((c) => c.type === 'Invalid' && c.status === 'True') ?? false).toBe(false);
  });

  test('a job that moved to another root is taken over, not pruned', async () => {
    await applySnapshot(store, snap(root('/m', { 'a.yaml': manifest('a') }), root('/n', { 'x.yaml': manifest('x') })), opts);
    const r = await applySnapshot(store, snap(root('/m', { 'other.yaml': manifest('o') }), root('/n', { 'x.yaml': manifest('x'), 'a.yaml': manifest('a') })), opts);
    expect(r.pruned).toEqual([]);
    expect((await store.getJob('a'))!.source).toMatchObject({ root: '/n', file: '/n/a.yaml' });
  });

  test('a job that moved into a broken file is marked Invalid, not pruned', async () => {
    await applySnapshot(store, snap(root('/m', { 'a.yaml': manifest('a'), 'b.yaml': manifest('b') })), opts);
    const s = root('/m', { 'b.yaml': manifest('b'), 'c.yaml': manifest('a').replace('spec:', 'oops: 1\nspec:') });
    s.files.find((f) => f.file === '/m/c.yaml')!.suspectNames = ['a', 'main'];
    const r = await applySnapshot(store, snap(s), opts);
    expect(r.pruned).toEqual([]);
    expect(r.invalid).toEqual(['a']);
    expect((await store.getJob('a'))!.status.conditions![0].message).toMatch(/^\/m\/c\.yaml:5:1: unknown field "oops"/);
  });

  test('a job without finalizers is deleted at once when pruned', async () => {
    await applySnapshot(store, snap(root('/m', { 'a.yaml': manifest('a'), 'b.yaml': manifest('b') })), opts);
    const a = (await store.getJob('a'))!;
    await store.putJob({ ...a, finalizers: [] });
    const r = await applySnapshot(store, snap(root('/m', { 'b.yaml': manifest('b') })), opts);
    expect(r.pruned).toEqual(['a']);
    expect(await store.getJob('a')).toBeUndefined();
  });

  test('all writes happen in one transaction (a failing store write leaves nothing half-applied)', async () => {
    const orig = store.putJob.bind(store);
    let n = 0;
    store.putJob = async (j, rv) => {
      if (++n === 2) throw new Error('disk full');
      return orig(j, rv);
    };
    await expect(applySnapshot(store, snap(root('/m', { 'a.yaml': manifest('a'), 'b.yaml': manifest('b') })), opts)).rejects.toThrow('disk full');
    expect(await store.listJobs()).toEqual([]);
  });
});

test('10,000 directory jobs on SqliteStore: first apply, then a no-op re-apply that writes nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'acictl-sync-'));
  const store = SqliteStore.open(join(dir, 'state.db'));
  try {
    const base = root('/m', { 'a.yaml': manifest('a') }, 'rev-1');
    const template = base.jobs[0];
    const big: RootSnapshot = { ...base, files: [], jobs: [] };
    for (let i = 0; i < 10_000; i++) {
      const name = `job-${i}`;
      const file = `/m/f${Math.floor(i / 100)}.yaml`;
      big.jobs.push({ ...template, job: { ...template.job, metadata: { name } }, file, line: 1 + (i % 100) * 15 });
      if (i % 100 === 0) big.files.push({ file, ok: true, jobNames: [] });
    }
    let t = performance.now();
    const first = await applySnapshot(store, snap(big), opts);
    const firstMs = performance.now() - t;
    expect(first.changed).toHaveLength(10_000);
    const rv = await store.currentResourceVersion();
    t = performance.now();
    const again = await applySnapshot(store, snap(big), opts);
    const againMs = performance.now() - t;
    expect(again.changed).toEqual([]);
    expect(await store.currentResourceVersion()).toBe(rv);
    // eslint-disable-next-line no-console
    console.log(`applySnapshot 10,000 jobs (SqliteStore): first ${firstMs.toFixed(0)} ms, unchanged re-apply ${againMs.toFixed(0)} ms`);
    expect(againMs).toBeLessThan(5000);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
