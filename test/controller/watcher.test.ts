/**
 * The manifest watcher on a real file system (fs.watch per directory), applied to a MemoryStore the way the
 * controller does it: edits are acted on quickly, an invalid edit keeps the last good spec, a
 * deleted file marks its job for deletion, an emptied directory prunes nothing, and a git-sync
 * style symlink flip is followed without a half-read snapshot.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applySnapshot } from '../../src/controller/source-sync';
import type { ApplyResult } from '../../src/controller/source-sync';
import { ManifestWatcher } from '../../src/controller/watcher';
import type { Snapshot } from '../../src/controller/watcher';
import { MemoryStore } from '../../src/store/memory';
import { manifest } from './watcher-helpers';

const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

class Harness {
  readonly store = new MemoryStore();
  readonly snapshots: { at: number; snap: Snapshot; result: ApplyResult }[] = [];
  private waiters: { pred: (s: Snapshot) => boolean; resolve: (s: Snapshot) => void }[] = [];
  watcher!: ManifestWatcher;

  constructor(readonly roots: string[], readonly allowEmpty = false) {}

  async start(extra: { linkCheckMs?: number } = {}): Promise<void> {
    this.watcher = new ManifestWatcher({
      roots: this.roots,
      debounceMs: 100,
      resyncMs: 0,
      linkCheckMs: extra.linkCheckMs ?? 500,
      logger: quiet,
      // the real manifest validator (src/manifest/validate.ts)
      onSnapshot: async (snap) => {
        const result = await applySnapshot(this.store, snap, { allowEmpty: this.allowEmpty, now: Date.now() });
        this.snapshots.push({ at: performance.now(), snap, result });
        this.waiters = this.waiters.filter((w) => {
          if (!w.pred(snap)) return true;
          w.resolve(snap);
          return false;
        });
      },
    });
    await this.watcher.start();
  }

  next(pred: (s: Snapshot) => boolean, timeoutMs = 3000): Promise<Snapshot> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no matching snapshot in time')), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (s) => {
          clearTimeout(timer);
          resolve(s);
        },
      });
    });
  }
}

const images = (s: Snapshot) => s.roots.flatMap((r) => r.jobs.map((j) => j.job.spec.template.containers[0].image));

describe('ManifestWatcher', () => {
  let dir: string;
  let h: Harness | undefined;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'acictl-watch-'));
  });
  afterEach(async () => {
    await h?.watcher?.close();
    h = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  test('emits the first snapshot on start; edits are acted on in well under 1 s', async () => {
    const m = join(dir, 'm');
    mkdirSync(m);
    writeFileSync(join(m, 'a.yaml'), manifest('a', 'img:0'));
    writeFileSync(join(m, 'README.md'), 'not a manifest');
    h = new Harness([m]);
    await h.start();
    expect(h.snapshots).toHaveLength(1);
    expect((await h.store.getJob('a'))!.spec.template.containers[0].image).toBe('img:0');

    const latencies: number[] = [];
    for (let i = 1; i <= 15; i++) {
      const t0 = performance.now();
      const wait = h.next((s) => images(s).includes(`img:${i}`));
      writeFileSync(join(m, 'a.yaml'), manifest('a', `img:${i}`));
      await wait;
      latencies.push(performance.now() - t0);
      expect((await h.store.getJob('a'))!.spec.template.containers[0].image).toBe(`img:${i}`);
    }
    latencies.sort((x, y) => x - y);
    const p50 = latencies[Math.floor(latencies.length / 2)];
    const max = latencies[latencies.length - 1];
    // eslint-disable-next-line no-console
    console.log(`watcher edit → applied: p50 ${p50.toFixed(0)} ms, max ${max.toFixed(0)} ms over ${latencies.length} edits (debounce 100 ms)`);
    expect(max).toBeLessThan(1000);
    expect((await h.store.getJob('a'))!.generation).toBe(16);

    // a non-manifest file does not cause a pass (let trailing events of the last edit settle first)
    await new Promise((r) => setTimeout(r, 300));
    const emitted = h.watcher.stats.emitted;
    const passes = h.watcher.stats.passes;
    writeFileSync(join(m, 'README.md'), 'still not a manifest');
    await new Promise((r) => setTimeout(r, 300));
    expect(h.watcher.stats.passes).toBe(passes);
    expect(h.watcher.stats.emitted).toBe(emitted);
    expect(h.snapshots).toHaveLength(16); // one emission per edit: duplicate events are not re-emitted
  });

  test('invalid edit keeps the last good spec and sets Invalid with file:line; deleting a file marks its job for deletion', async () => {
    const m = join(dir, 'm');
    mkdirSync(join(m, 'sub'), { recursive: true });
    writeFileSync(join(m, 'a.yaml'), manifest('a', 'good:1'));
    writeFileSync(join(m, 'sub', 'b.yml'), manifest('b'));
    h = new Harness([m]);
    await h.start();
    expect((await h.store.listJobs()).map((j) => j.name)).toEqual(['a', 'b']);
    expect((await h.store.getJob('b'))!.source).toMatchObject({ kind: 'directory', root: m, file: join(m, 'sub', 'b.yml'), line: 1 });

    let wait = h.next((s) => s.roots[0].files.some((f) => !f.ok));
    writeFileSync(join(m, 'a.yaml'), manifest('a', 'bad:2').replace('spec:', 'spec:\n  bogus: true\nextra: 1\nx:'));
    await wait;
    let a = (await h.store.getJob('a'))!;
    expect(a.spec.template.containers[0].image).toBe('good:1');
    const invalid = a.status.conditions!.find((c) => c.type === 'Invalid')!;
    expect(invalid).toMatchObject({ status: 'True', reason: 'SourceInvalid' });
    expect(invalid.message).toMatch(new RegExp(`^${join(m, 'a.yaml').replace(/[.]/g, '\\.')}:\\d+:\\d+: `));
    expect(a.deletionTimestamp).toBeUndefined();

    wait = h.next((s) => s.roots[0].files.every((f) => f.ok) && images(s).includes('good:3'));
    writeFileSync(join(m, 'a.yaml'), manifest('a', 'good:3'));
    await wait;
    a = (await h.store.getJob('a'))!;
    expect(a.spec.template.containers[0].image).toBe('good:3');
    expect(a.status.conditions ?? []).toEqual([]);

    wait = h.next((s) => s.roots[0].jobs.length === 1);
    unlinkSync(join(m, 'sub', 'b.yml'));
    await wait;
    expect((await h.store.getJob('b'))!.deletionTimestamp).toBeDefined();
    expect((await h.store.getJob('a'))!.deletionTimestamp).toBeUndefined();
  });

  test('emptying the directory prunes nothing without allowEmpty (and prunes with it)', async () => {
    const m = join(dir, 'm');
    mkdirSync(m);
    writeFileSync(join(m, 'a.yaml'), manifest('a'));
    writeFileSync(join(m, 'b.yaml'), manifest('b'));
    h = new Harness([m]);
    await h.start();
    const wait = h.next((s) => s.roots[0].files.length === 0);
    unlinkSync(join(m, 'a.yaml'));
    unlinkSync(join(m, 'b.yaml'));
    await wait;
    await new Promise((r) => setTimeout(r, 200));
    expect((await h.store.listJobs()).filter((j) => j.deletionTimestamp)).toEqual([]);
    expect(h.snapshots.at(-1)!.result.emptyRoots).toEqual([m]);
    // removing the root directory itself: unreadable → still nothing pruned
    rmSync(m, { recursive: true });
    await h.next((s) => !s.roots[0].ok);
    expect((await h.store.listJobs()).filter((j) => j.deletionTimestamp)).toEqual([]);
    await h.watcher.close();

    const h2 = new Harness([m], true);
    mkdirSync(m);
    await h2.start();
    // a fresh store in h2: seed it, then empty with allowEmpty
    await h2.watcher.close();
    await h2.store.putJob({ name: 'z', finalizers: ['acictl.dev/cleanup'], labels: {}, annotations: {}, spec: (await h.store.getJob('a'))!.spec, source: { kind: 'directory', root: m, file: join(m, 'z.yaml') }, status: {} });
    const r = await applySnapshot(h2.store, h2.snapshots[0].snap, { allowEmpty: true, now: Date.now() });
    expect(r.pruned).toEqual(['z']);
  });

  test('git-sync layout: link flips (rename of a temp symlink, old revision deleted at once) are followed, never half-read', async () => {
    const root = join(dir, 'git');
    mkdirSync(root);
    /** revision k holds k jobs, each labelled with its revision */
    const writeRev = (k: number) => {
      const rev = join(root, `rev-${k}`);
      mkdirSync(join(rev, 'nested'), { recursive: true });
      for (let j = 1; j <= k; j++) {
        writeFileSync(join(rev, j % 2 ? 'nested' : '', `job-${j}.yaml`), manifest(`job-${j}`, `img:${k}`, { rev: `rev-${k}` }));
      }
    };
    writeRev(1);
    symlinkSync('rev-1', join(root, 'link'));
    h = new Harness([root]);
    await h.start();
    expect(h.snapshots[0].snap.roots[0].revision).toBe('rev-1');
    expect((await h.store.getJob('job-1'))!.source).toMatchObject({ revision: 'rev-1', file: join(root, 'link', 'nested', 'job-1.yaml') });

    for (let k = 2; k <= 8; k++) {
      writeRev(k);
      symlinkSync(`rev-${k}`, join(root, 'link.tmp'));
      renameSync(join(root, 'link.tmp'), join(root, 'link'));
      rmSync(join(root, `rev-${k - 1}`), { recursive: true });
      await new Promise((r) => setTimeout(r, k % 3 === 0 ? 0 : 60 * (k % 4)));
    }
    await h.next((s) => s.roots[0].revision === 'rev-8', 4000).catch(() => undefined);
    expect(h.snapshots.at(-1)!.snap.roots[0].revision).toBe('rev-8');

    // every emitted snapshot is whole: one revision, all of its jobs, nothing else
    for (const { snap } of h.snapshots) {
      const r = snap.roots[0];
      expect(r.ok).toBe(true);
      const k = Number(r.revision!.slice(4));
      expect(r.jobs.map((j) => j.job.metadata.name).sort()).toEqual(Array.from({ length: k }, (_, i) => `job-${i + 1}`).sort());
      expect(new Set(r.jobs.map((j) => j.job.metadata.labels!.rev))).toEqual(new Set([r.revision]));
      expect(r.diagnostics).toEqual([]);
    }
    const jobs = await h.store.listJobs();
    expect(jobs).toHaveLength(8);
    for (const j of jobs) {
      expect(j.status.sourceRevision).toBe('rev-8');
      expect(j.source).toMatchObject({ revision: 'rev-8' });
      expect(j.spec.template.containers[0].image).toBe('img:8');
      expect(j.deletionTimestamp).toBeUndefined();
    }
  });

  test('a root that is itself a symlink is followed when flipped', async () => {
    mkdirSync(join(dir, 'r1'));
    mkdirSync(join(dir, 'r2'));
    writeFileSync(join(dir, 'r1', 'a.yaml'), manifest('a', 'one'));
    writeFileSync(join(dir, 'r2', 'a.yaml'), manifest('a', 'two'));
    writeFileSync(join(dir, 'r2', 'b.yaml'), manifest('b', 'two'));
    symlinkSync(join(dir, 'r1'), join(dir, 'current'));
    h = new Harness([join(dir, 'current')]);
    await h.start({ linkCheckMs: 0 }); // events alone must notice the flip
    expect(h.snapshots[0].snap.roots[0].revision).toBe('r1');
    const t0 = performance.now();
    const wait = h.next((s) => s.roots[0].revision === 'r2');
    symlinkSync(join(dir, 'r2'), join(dir, 'current.tmp'));
    renameSync(join(dir, 'current.tmp'), join(dir, 'current'));
    rmSync(join(dir, 'r1'), { recursive: true });
    const s = await wait;
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(images(s).sort()).toEqual(['two', 'two']);
    expect((await h.store.getJob('a'))!.status.sourceRevision).toBe('r2');
    expect((await h.store.getJob('a'))!.source).toMatchObject({ file: join(dir, 'current', 'a.yaml') });

    // and a later edit inside the new target is seen (the watch moved to the new real directory)
    const wait2 = h.next((x) => images(x).includes('three'));
    writeFileSync(join(dir, 'r2', 'b.yaml'), manifest('b', 'three'));
    await wait2;
  });
});
