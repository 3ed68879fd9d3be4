/**
 * ManifestReader with a persistent validation cache (src/manifest/persistent-cache.ts): a reader
 * of a new process (a restarted controller) over unchanged files validates none of them and
 * produces the very snapshot a cache-less reader produces; what changed while it was down is
 * validated again, and only that; a new validator fingerprint validates everything; lookups come
 * before the ValidatorPool, so a restart starts no worker; the table follows the live files; and
 * a garbage cache file costs a warning, never a manifest.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ManifestReader, ManifestWatcher, type Snapshot } from '../../src/controller/watcher';
import { PersistentValidationCache, type PersistentCacheOptions } from '../../src/manifest/persistent-cache';
import { ValidatorPool } from '../../src/manifest/validate-pool';
import { manifest } from './watcher-helpers';

const ROOT = path.join(__dirname, '../..');
const WORKER = path.join(ROOT, 'dist/src/manifest/validate-worker.js');

let dir: string;
let m: string;
let dbFile: string;
const caches: PersistentValidationCache[] = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'acictl-wcache-'));
  m = path.join(dir, 'manifests');
  dbFile = path.join(dir, 'state', 'validation-cache.db');
  mkdirSync(path.dirname(dbFile));
  writeCorpus(m);
});
afterEach(() => {
  for (const c of caches.splice(0)) c.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A cache as a (re)started controller opens it. */
function openCache(o: Partial<PersistentCacheOptions> = {}): PersistentValidationCache {
  const c = PersistentValidationCache.open({ file: dbFile, ...o });
  caches.push(c);
  return c;
}

/** Valid jobs, jobs with warnings, multi-document files, invalid files of every kind (the fixture corpus), JSON. */
function writeCorpus(to: string): void {
  mkdirSync(path.join(to, 'team-a'), { recursive: true });
  mkdirSync(path.join(to, 'invalid'), { recursive: true });
  for (let i = 0; i < 12; i++) writeFileSync(path.join(to, 'team-a', `job-${i}.yaml`), manifest(`job-${i}`, `img:${i}`, { team: 'a' }));
  writeFileSync(path.join(to, 'multi.yaml'), `${manifest('multi-1')}---\n${manifest('multi-2')}`);
  writeFileSync(path.join(to, 'unscheduled.yaml'), manifest('unscheduled').replace('  schedule: "@daily"\n', ''));
  writeFileSync(path.join(to, 'dup-in-file.yaml'), `${manifest('twice')}---\n${manifest('twice')}`);
  for (const f of readdirSync(path.join(ROOT, 'test/fixtures/manifests/invalid'))) {
    if (/\.(ya?ml|json)$/.test(f)) copyFileSync(path.join(ROOT, 'test/fixtures/manifests/invalid', f), path.join(to, 'invalid', f));
  }
  for (const f of readdirSync(path.join(ROOT, 'manifests'))) copyFileSync(path.join(ROOT, 'manifests', f), path.join(to, f));
}

function fileCount(s: Snapshot): number {
  return s.roots.reduce((n, r) => n + r.files.length, 0);
}

/** A reader without any cache: the reference every cached read must equal. */
async function fresh(): Promise<Snapshot> {
  return (await new ManifestReader().read([m])).snapshot;
}

describe('ManifestReader with a persistent validation cache', () => {
  test('a restart over unchanged files validates none of them and yields an identical snapshot', async () => {
    const first = new ManifestReader({ cache: openCache() });
    const a = await first.read([m]);
    const files = fileCount(a.snapshot);
    expect(files).toBeGreaterThan(70);
    expect(first.stats).toEqual({ reads: files, validations: files, cacheHits: 0 });
    caches.pop()!.close();

    // what the snapshot holds: valid jobs, warnings, several jobs from one file, errors
    const root = a.snapshot.roots[0]!;
    expect(root.jobs.filter((j) => j.file.endsWith('multi.yaml'))).toHaveLength(2);
    expect(root.diagnostics.some((d) => d.severity === 'warning' && d.file.endsWith('unscheduled.yaml'))).toBe(true);
    expect(root.diagnostics.some((d) => d.message.includes(`${path.join(m, 'dup-in-file.yaml')}:`))).toBe(true);
    expect(root.files.filter((f) => !f.ok).length).toBeGreaterThan(50);

    const restarted = new ManifestReader({ cache: openCache() });
    const b = await restarted.read([m]);
    expect(restarted.stats).toEqual({ reads: files, validations: 0, cacheHits: files });
    expect(b.snapshot).toStrictEqual(a.snapshot);
    expect(b.digest).toBe(a.digest);
    expect(b.snapshot).toStrictEqual(await fresh());
  });

  test('a file changed while the controller was down is validated again, and only that file', async () => {
    await new ManifestReader({ cache: openCache() }).read([m]);
    caches.pop()!.close();
    writeFileSync(path.join(m, 'team-a', 'job-3.yaml'), manifest('job-3', 'img:changed-while-down'));
    writeFileSync(path.join(m, 'team-a', 'job-4.yaml'), manifest('job-4').replace('location:', 'locashun:'));

    const restarted = new ManifestReader({ cache: openCache() });
    const b = await restarted.read([m]);
    expect(restarted.stats.validations).toBe(2);
    expect(b.snapshot).toStrictEqual(await fresh());
    expect(b.snapshot.roots[0]!.jobs.find((j) => j.job.metadata.name === 'job-3')!.job.spec.template.containers[0]!.image).toBe('img:changed-while-down');
    expect(b.snapshot.roots[0]!.files.find((f) => f.file.endsWith('job-4.yaml'))).toMatchObject({ ok: false, suspectNames: ['job-4', 'main'] });
  });

  test('a new validator fingerprint validates everything again', async () => {
    const first = new ManifestReader({ cache: openCache({ fingerprint: 'validator-1' }) });
    const a = await first.read([m]);
    caches.pop()!.close();
    const upgraded = new ManifestReader({ cache: openCache({ fingerprint: 'validator-2' }) });
    const b = await upgraded.read([m]);
    expect(upgraded.stats.validations).toBe(fileCount(a.snapshot));
    expect(upgraded.stats.cacheHits).toBe(0);
    expect(b.snapshot).toStrictEqual(a.snapshot);
  });

  test('cache lookups come before the ValidatorPool: a restart validates nothing and starts no worker', async () => {
    const pool1 = new ValidatorPool({ workerFile: WORKER, workers: 2, spawnAfter: 0 });
    const pool2 = new ValidatorPool({ workerFile: WORKER, workers: 2, spawnAfter: 0 });
    try {
      const first = new ManifestReader({ cache: openCache(), validate: (b, f) => pool1.validate(b, f) });
      const a = await first.read([m]);
      expect(pool1.stats.inWorkers).toBe(fileCount(a.snapshot)); // the worker path really ran
      // toEqual, not toStrictEqual: a worker's objects come from another realm than jest's sandbox
      expect(a.snapshot).toEqual(await fresh());
      caches.pop()!.close();

      const restarted = new ManifestReader({ cache: openCache(), validate: (b, f) => pool2.validate(b, f) });
      const b = await restarted.read([m]);
      expect(pool2.stats).toEqual({ inWorkers: 0, inPlace: 0, workersStarted: 0 });
      expect(restarted.stats.cacheHits).toBe(fileCount(a.snapshot));
      expect(b.snapshot).toEqual(a.snapshot);
    } finally {
      await pool1.close();
      await pool2.close();
    }
  });

  test('edits and deletes forget the old content: the table holds the live files, not the history', async () => {
    const cache = openCache();
    const reader = new ManifestReader({ cache, racyMs: 0 });
    const a = await reader.read([m]);
    const files = fileCount(a.snapshot);
    expect(cache.size()).toBe(files);
    for (let edit = 0; edit < 5; edit++) {
      await new Promise((r) => setTimeout(r, 15));
      for (let i = 0; i < 6; i++) writeFileSync(path.join(m, 'team-a', `job-${i}.yaml`), manifest(`job-${i}`, `img:edit-${edit}`));
      await reader.read([m]);
      expect(cache.size()).toBe(files);
    }
    unlinkSync(path.join(m, 'team-a', 'job-0.yaml'));
    unlinkSync(path.join(m, 'multi.yaml'));
    await reader.read([m]);
    expect(cache.size()).toBe(files - 2);
    // the kept rows are the live ones: a restart validates nothing
    cache.close();
    const restarted = new ManifestReader({ cache: openCache() });
    const b = await restarted.read([m]);
    expect(restarted.stats.validations).toBe(0);
    expect(b.snapshot).toStrictEqual(await fresh());
  });

  test('a garbage cache file: a warning, and every manifest is still read and validated correctly', async () => {
    writeFileSync(dbFile, Buffer.alloc(4096, 0xa5));
    const warned: string[] = [];
    const reader = new ManifestReader({ cache: openCache({ logger: { warn: (_o, msg) => warned.push(msg ?? '') } }) });
    const a = await reader.read([m]);
    expect(warned).toEqual(['validation cache file is corrupt; replacing it with an empty one']);
    expect(reader.stats.validations).toBe(fileCount(a.snapshot));
    expect(a.snapshot).toStrictEqual(await fresh());
  });

  test('a cache that cannot be opened at all: a warning, and the reader validates as without one', async () => {
    mkdirSync(dbFile);
    const warned: string[] = [];
    const cache = openCache({ logger: { warn: (_o, msg) => warned.push(msg ?? '') } });
    const reader = new ManifestReader({ cache });
    const a = await reader.read([m]);
    const b = await new ManifestReader({ cache }).read([m]);
    expect(warned).toHaveLength(1);
    expect(a.snapshot).toStrictEqual(await fresh());
    expect(b.snapshot).toStrictEqual(a.snapshot);
  });

  test('ManifestWatcher hands its cache to its reader', async () => {
    await new ManifestReader({ cache: openCache() }).read([m]);
    caches.pop()!.close();
    const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
    const snaps: Snapshot[] = [];
    const w = new ManifestWatcher({ roots: [m], cache: openCache(), logger: quiet, linkCheckMs: 0, resyncMs: 0, onSnapshot: (s) => void snaps.push(s) });
    try {
      await w.start();
      expect(w.stats.validations).toBe(0);
      expect(w.stats.cacheHits).toBe(fileCount(snaps[0]!));
      expect(snaps[0]).toStrictEqual(await fresh());
    } finally {
      await w.close();
    }
  });
});
