/**
 * Incremental passes and directory-only watches: a pass reads only the files whose stat changed
 * (or that an event named, or that were written too recently to trust their stat), validates only
 * new content, and the watcher holds one watch per directory — while creates, edits, deletes,
 * renames (an editor's write-to-temp-then-rename) and new or renamed directories are still seen.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { ManifestReader, ManifestWatcher } from '../../src/controller/watcher';
import type { FileValidator, Snapshot } from '../../src/controller/watcher';
import { fakeValidate, manifest } from './watcher-helpers';

const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'acictl-incr-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A validator that records which files it validated. */
function counting(): { validate: FileValidator; validated: string[] } {
  const validated: string[] = [];
  return {
    validated,
    validate: (content, file) => {
      validated.push(basename(file));
      return fakeValidate(content, file);
    },
  };
}

/**
 * With `racyMs: 0` a file counts as racy only when modified after its pass started; timestamps
 * carry sub-millisecond parts, so let a few milliseconds pass between a write and a read whose
 * stat must be trusted.
 */
const settle = () => new Promise((r) => setTimeout(r, 15));

const names = (s: Snapshot) => s.roots.flatMap((r) => r.jobs.map((j) => j.job.metadata.name)).sort();
const images = (s: Snapshot) => s.roots.flatMap((r) => r.jobs.map((j) => `${j.job.metadata.name}=${j.job.spec.template.containers[0].image}`)).sort();

describe('ManifestReader (incremental passes)', () => {
  test('an unchanged tree is stat-ed, not read; an edit reads and validates that file only', async () => {
    const m = join(dir, 'm');
    mkdirSync(join(m, 'sub'), { recursive: true });
    for (let i = 0; i < 20; i++) writeFileSync(join(m, i % 2 ? 'sub' : '', `j${i}.yaml`), manifest(`j${i}`, 'img:0'));
    const reads: string[] = [];
    const v = counting();
    const reader = new ManifestReader({ validate: v.validate, hooks: { onRead: (p) => reads.push(basename(p)) }, racyMs: 0 });
    await settle();
    const first = await reader.read([m]);
    expect(reads).toHaveLength(20);
    expect(v.validated).toHaveLength(20);
    expect(names(first.snapshot)).toHaveLength(20);

    reads.length = 0;
    v.validated.length = 0;
    const second = await reader.read([m]);
    expect(reads).toEqual([]);
    expect(v.validated).toEqual([]);
    expect(second.digest).toBe(first.digest);
    expect(second.snapshot).toEqual(first.snapshot);

    writeFileSync(join(m, 'sub', 'j3.yaml'), manifest('j3', 'img:1-longer'));
    await settle();
    const third = await reader.read([m]);
    expect(reads).toEqual(['j3.yaml']);
    expect(v.validated).toEqual(['j3.yaml']);
    expect(third.digest).not.toBe(first.digest);
    expect(images(third.snapshot)).toContain('j3=img:1-longer');
    expect(images(third.snapshot).filter((x) => x.endsWith('img:0'))).toHaveLength(19);

    // a touched file (stat changed, same content) is read again but not validated again
    reads.length = 0;
    v.validated.length = 0;
    utimesSync(join(m, 'j0.yaml'), new Date(), new Date(Date.now() - 60_000));
    await settle();
    const fourth = await reader.read([m]);
    expect(reads).toEqual(['j0.yaml']);
    expect(v.validated).toEqual([]);
    expect(fourth.digest).toBe(third.digest);

    // a path an event named is read even though its stat is unchanged
    reads.length = 0;
    await reader.read([m], { changed: new Set([join(m, 'j2.yaml')]) });
    expect(reads).toEqual(['j2.yaml']);
    expect(v.validated).toEqual([]);

    // created and deleted files
    reads.length = 0;
    writeFileSync(join(m, 'new.yaml'), manifest('new'));
    unlinkSync(join(m, 'j4.yaml'));
    await settle();
    const fifth = await reader.read([m]);
    expect(reads).toEqual(['new.yaml']);
    expect(names(fifth.snapshot)).toContain('new');
    expect(names(fifth.snapshot)).not.toContain('j4');
    expect(names(fifth.snapshot)).toHaveLength(20);
  });

  test('a file written just before its stat is read again on the next pass (its stat cannot be trusted yet)', async () => {
    const m = join(dir, 'm');
    mkdirSync(m);
    writeFileSync(join(m, 'a.yaml'), manifest('a'));
    const reads: string[] = [];
    const reader = new ManifestReader({ validate: fakeValidate, hooks: { onRead: (p) => reads.push(basename(p)) }, racyMs: 60_000 });
    await reader.read([m]);
    await reader.read([m]);
    expect(reads).toEqual(['a.yaml', 'a.yaml']);
    // once it is old enough, its stat is trusted
    utimesSync(join(m, 'a.yaml'), new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    await settle();
    const old = new ManifestReader({ validate: fakeValidate, hooks: { onRead: (p) => reads.push(basename(p)) }, racyMs: 0 });
    reads.length = 0;
    await old.read([m]);
    await old.read([m]);
    expect(reads).toEqual(['a.yaml']);
  });

  test('a flip to a new revision with the same contents re-reads the files but validates none; file names follow the link', async () => {
    const root = join(dir, 'git');
    for (const rev of ['rev-1', 'rev-2']) {
      mkdirSync(join(root, rev), { recursive: true });
      writeFileSync(join(root, rev, 'a.yaml'), manifest('a', 'same'));
      writeFileSync(join(root, rev, 'b.yaml'), manifest('b', rev === 'rev-1' ? 'old' : 'new'));
    }
    symlinkSync('rev-1', join(root, 'current'));
    const v = counting();
    const reads: string[] = [];
    const reader = new ManifestReader({ validate: v.validate, hooks: { onRead: (p) => reads.push(p) }, racyMs: 0 });
    const s1 = await reader.read([root]);
    expect(s1.snapshot.roots[0].revision).toBe('rev-1');
    reads.length = 0;
    v.validated.length = 0;
    symlinkSync('rev-2', join(root, 'current.tmp'));
    renameSync(join(root, 'current.tmp'), join(root, 'current'));
    rmSync(join(root, 'rev-1'), { recursive: true });
    const s2 = await reader.read([root]);
    expect(s2.snapshot.roots[0].revision).toBe('rev-2');
    expect(reads.sort()).toEqual([join(root, 'rev-2', 'a.yaml'), join(root, 'rev-2', 'b.yaml')]);
    expect(v.validated).toEqual(['b.yaml']); // a.yaml's content is known
    expect(images(s2.snapshot)).toEqual(['a=same', 'b=new']);
    expect(s2.snapshot.roots[0].jobs.map((j) => j.file).sort()).toEqual([join(root, 'current', 'a.yaml'), join(root, 'current', 'b.yaml')]);
  });

  test('the mid-read flip of a pass still retries against the new target with state kept from before', async () => {
    const root = join(dir, 'r');
    for (const rev of ['rev-1', 'rev-2']) {
      mkdirSync(join(root, rev), { recursive: true });
      writeFileSync(join(root, rev, 'a.yaml'), manifest('a', rev));
    }
    symlinkSync('rev-1', join(root, 'current'));
    let flipped = false;
    const reader = new ManifestReader({
      validate: fakeValidate,
      racyMs: 0,
      hooks: {
        afterList: (_r, d) => {
          if (flipped || !d.endsWith('rev-1')) return;
          flipped = true;
          symlinkSync('rev-2', join(root, 'current.tmp'));
          renameSync(join(root, 'current.tmp'), join(root, 'current'));
          rmSync(join(root, 'rev-1'), { recursive: true });
        },
      },
    });
    const s = await reader.read([root]);
    expect(s.snapshot.roots[0]).toMatchObject({ ok: true, revision: 'rev-2' });
    expect(images(s.snapshot)).toEqual(['a=rev-2']);
  });
});

class Harness {
  readonly snapshots: Snapshot[] = [];
  readonly reads: string[] = [];
  private waiters: { pred: (s: Snapshot) => boolean; resolve: () => void }[] = [];
  watcher: ManifestWatcher;

  constructor(roots: string[]) {
    this.watcher = new ManifestWatcher({
      roots,
      debounceMs: 50,
      resyncMs: 0,
      linkCheckMs: 0, // events alone must notice every change below
      racyMs: 0,
      logger: quiet,
      validate: fakeValidate,
      hooks: { onRead: (p) => this.reads.push(p) },
      onSnapshot: (snap) => {
        this.snapshots.push(snap);
        this.waiters = this.waiters.filter((w) => {
          if (!w.pred(snap)) return true;
          w.resolve();
          return false;
        });
      },
    });
  }

  /** Resolves on the first snapshot (from now on) that satisfies `pred`. */
  next(pred: (s: Snapshot) => boolean, timeoutMs = 3000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no matching snapshot in time')), timeoutMs);
      this.waiters.push({ pred, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
}

describe('ManifestWatcher (directory watches)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.watcher.close();
    h = undefined;
  });

  test('watches directories, not files; an edit reads only the edited file', async () => {
    const m = join(dir, 'm');
    for (let d = 0; d < 3; d++) {
      mkdirSync(join(m, `d${d}`), { recursive: true });
      for (let i = 0; i < 10; i++) writeFileSync(join(m, `d${d}`, `j${d}-${i}.yaml`), manifest(`j${d}-${i}`, 'img:0'));
    }
    await settle();
    h = new Harness([m]);
    await h.watcher.start();
    expect(h.snapshots).toHaveLength(1);
    expect(names(h.snapshots[0])).toHaveLength(30);
    // the root's parent (for a root that is a link), the root, and its three sub-directories
    expect(h.watcher.watchedDirectories()).toEqual([dir, m, join(m, 'd0'), join(m, 'd1'), join(m, 'd2')].sort());

    h.reads.length = 0;
    const wait = h.next((s) => images(s).includes('j1-4=img:1'));
    writeFileSync(join(m, 'd1', 'j1-4.yaml'), manifest('j1-4', 'img:1'));
    await wait;
    expect(new Set(h.reads)).toEqual(new Set([join(m, 'd1', 'j1-4.yaml')]));
    expect(h.watcher.stats.validations).toBe(31);
  });

  test('creates, deletes, editor-style replace-by-rename, new and renamed directories are all seen', async () => {
    const m = join(dir, 'm');
    mkdirSync(join(m, 'sub'), { recursive: true });
    writeFileSync(join(m, 'a.yaml'), manifest('a', 'img:0'));
    writeFileSync(join(m, 'sub', 'b.yaml'), manifest('b', 'img:0'));
    h = new Harness([m]);
    await h.watcher.start();

    // create
    let wait = h.next((s) => names(s).includes('c'));
    writeFileSync(join(m, 'sub', 'c.yaml'), manifest('c'));
    await wait;

    // an editor's save: write a temporary file, then rename it over the original
    wait = h.next((s) => images(s).includes('a=img:1'));
    writeFileSync(join(m, '.a.yaml.swp'), manifest('a', 'img:1'));
    renameSync(join(m, '.a.yaml.swp'), join(m, 'a.yaml'));
    await wait;

    // delete
    wait = h.next((s) => !names(s).includes('b'));
    unlinkSync(join(m, 'sub', 'b.yaml'));
    await wait;

    // a new directory with files written right after it was created
    wait = h.next((s) => names(s).includes('d') && names(s).includes('e'));
    mkdirSync(join(m, 'new'));
    writeFileSync(join(m, 'new', 'd.yaml'), manifest('d'));
    await new Promise((r) => setTimeout(r, 120)); // after a pass has picked up (and watched) the directory
    writeFileSync(join(m, 'new', 'e.yaml'), manifest('e'));
    await wait;
    expect(h.watcher.watchedDirectories()).toContain(join(m, 'new'));

    // an edit inside the new directory is seen through its own watch
    wait = h.next((s) => images(s).includes('e=img:2'));
    writeFileSync(join(m, 'new', 'e.yaml'), manifest('e', 'img:2'));
    await wait;

    // a renamed directory: its files are now reported under the new name, and its watch moved
    wait = h.next((s) => s.roots[0].jobs.some((j) => j.file === join(m, 'renamed', 'c.yaml')));
    renameSync(join(m, 'sub'), join(m, 'renamed'));
    await wait;
    expect(h.watcher.watchedDirectories()).toContain(join(m, 'renamed'));
    expect(h.watcher.watchedDirectories()).not.toContain(join(m, 'sub'));
    wait = h.next((s) => images(s).includes('c=img:3'));
    writeFileSync(join(m, 'renamed', 'c.yaml'), manifest('c', 'img:3'));
    await wait;

    // a directory removed and created again under the same name is watched again
    wait = h.next((s) => !names(s).includes('d'));
    rmSync(join(m, 'new'), { recursive: true });
    await wait;
    wait = h.next((s) => names(s).includes('f'));
    mkdirSync(join(m, 'new'));
    writeFileSync(join(m, 'new', 'f.yaml'), manifest('f'));
    await wait;
    wait = h.next((s) => images(s).includes('f=img:4'));
    writeFileSync(join(m, 'new', 'f.yaml'), manifest('f', 'img:4'));
    await wait;

    // other files (a README, a swap file) cause no pass
    await new Promise((r) => setTimeout(r, 150));
    const passes = h.watcher.stats.passes;
    writeFileSync(join(m, 'README.md'), 'x');
    writeFileSync(join(m, '.f.yaml.swp'), 'x');
    await new Promise((r) => setTimeout(r, 200));
    expect(h.watcher.stats.passes).toBe(passes);
  });

  test('a root created after start is picked up from its parent directory watch', async () => {
    const m = join(dir, 'later');
    h = new Harness([m]);
    await h.watcher.start();
    expect(h.snapshots[0].roots[0].ok).toBe(false);
    expect(h.watcher.watchedDirectories()).toEqual([dirname(m)]);
    const wait = h.next((s) => s.roots[0].ok && names(s).includes('a'));
    mkdirSync(m);
    writeFileSync(join(m, 'a.yaml'), manifest('a'));
    await wait;
  });
});
