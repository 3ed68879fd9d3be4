/** One snapshot pass (readSnapshot): consistency under a mid-read flip, revisions, per-file isolation. */
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitCommit, readSnapshot, suspectNames } from '../../src/controller/watcher';
import { fakeValidate, manifest } from './watcher-helpers';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'acictl-read-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function rev(name: string, jobs: string[], tag = name): void {
  mkdirSync(join(dir, name), { recursive: true });
  for (const j of jobs) writeFileSync(join(dir, name, `${j}.yaml`), manifest(j, `img:${tag}`));
}

function flip(link: string, target: string): void {
  symlinkSync(target, join(dir, `${link}.tmp`));
  renameSync(join(dir, `${link}.tmp`), join(dir, link));
}

test('the link flips and the old revision is deleted between listing and reading: the pass is redone on the new target', async () => {
  rev('rev-1', ['a', 'b', 'c']);
  rev('rev-2', ['a', 'd']);
  symlinkSync('rev-1', join(dir, 'current'));
  const attempts: string[] = [];
  const s = await readSnapshot([dir], {
    validate: fakeValidate,
    hooks: {
      afterList: (_root, d, attempt) => {
        attempts.push(d);
        if (attempt === 0) {
          flip('current', 'rev-2');
          rmSync(join(dir, 'rev-1'), { recursive: true });
        }
      },
    },
  });
  expect(attempts).toEqual([join(dir, 'rev-1'), join(dir, 'rev-2')]);
  const r = s.roots[0];
  expect(r.ok).toBe(true);
  expect(r.revision).toBe('rev-2');
  expect(r.link).toBe(join(dir, 'current'));
  expect(r.jobs.map((j) => `${j.job.metadata.name}=${j.job.spec.template.containers[0].image}`)).toEqual(['a=img:rev-2', 'd=img:rev-2']);
  expect(r.files.map((f) => f.file)).toEqual([join(dir, 'current', 'a.yaml'), join(dir, 'current', 'd.yaml')]);
  expect(r.diagnostics).toEqual([]);
});

test('the link flips after the files were read (old revision kept): the re-check catches it', async () => {
  rev('rev-1', ['a']);
  rev('rev-2', ['b']);
  symlinkSync('rev-1', join(dir, 'current'));
  let n = 0;
  const s = await readSnapshot([dir], {
    validate: fakeValidate,
    hooks: { afterList: () => void (n++ === 0 && flip('current', 'rev-2')) },
  });
  expect(n).toBe(2);
  expect(s.roots[0].revision).toBe('rev-2');
  expect(s.roots[0].jobs.map((j) => j.job.metadata.name)).toEqual(['b']);
});

test('a root that keeps vanishing fails (ok: false) instead of looking empty', async () => {
  rev('rev-1', ['a']);
  symlinkSync('rev-1', join(dir, 'current'));
  let k = 1;
  const s = await readSnapshot([dir], {
    validate: fakeValidate,
    delay: async () => {},
    hooks: {
      afterList: () => {
        rev(`rev-${k + 1}`, ['a']);
        flip('current', `rev-${k + 1}`);
        rmSync(join(dir, `rev-${k}`), { recursive: true });
        k++;
      },
    },
  });
  expect(s.roots[0].ok).toBe(false);
  expect(s.roots[0].error).toMatch(/consistent/);
  expect(s.roots[0].jobs).toEqual([]);
});

test('a missing root is a failed root, not an empty one', async () => {
  const s = await readSnapshot([join(dir, 'nope')], { validate: fakeValidate, delay: async () => {} });
  expect(s.roots[0]).toMatchObject({ ok: false, dir: null, files: [], error: `${join(dir, 'nope')} does not exist` });
});

test('per-file isolation: an invalid file and a dangling link affect only themselves; dot-dirs and other extensions are skipped', async () => {
  mkdirSync(join(dir, 'm', 'sub'), { recursive: true });
  mkdirSync(join(dir, 'm', '.git'));
  writeFileSync(join(dir, 'm', 'a.yaml'), manifest('a'));
  writeFileSync(join(dir, 'm', 'sub', 'b.yml'), manifest('b'));
  writeFileSync(join(dir, 'm', 'c.json'), JSON.stringify({ apiVersion: 'acictl.dev/v1', kind: 'ContainerJob', metadata: { name: 'c' }, spec: { template: {} } }));
  writeFileSync(join(dir, 'm', 'bad.yaml'), manifest('bad').replace('kind:', 'kindd:'));
  writeFileSync(join(dir, 'm', '.git', 'x.yaml'), manifest('hidden'));
  writeFileSync(join(dir, 'm', 'notes.txt'), 'x');
  symlinkSync(join(dir, 'nowhere.yaml'), join(dir, 'm', 'dangling.yaml'));
  const s = await readSnapshot([join(dir, 'm')], { validate: fakeValidate });
  const r = s.roots[0];
  expect(r.ok).toBe(true);
  expect(r.revision).toBeNull();
  expect(r.jobs.map((j) => j.job.metadata.name).sort()).toEqual(['a', 'b', 'c']);
  const byName = Object.fromEntries(r.files.map((f) => [f.file.slice(dir.length + 3), f]));
  expect(Object.keys(byName).sort()).toEqual(['a.yaml', 'bad.yaml', 'c.json', 'dangling.yaml', 'sub/b.yml']);
  expect(byName['bad.yaml']).toMatchObject({ ok: false, suspectNames: ['bad', 'main'] });
  expect(byName['dangling.yaml']).toMatchObject({ ok: false, readError: 'ENOENT' });
  expect(r.diagnostics.map((d) => `${d.file.slice(dir.length + 3)}:${d.line}`).sort()).toEqual(['bad.yaml:2', 'dangling.yaml:0']);
});

test('revision of a git checkout: HEAD ref, detached HEAD, packed refs, worktree gitdir file', async () => {
  const sha1 = 'a'.repeat(40);
  const sha2 = 'b'.repeat(40);
  const sha3 = 'c'.repeat(40);
  // a clone: .git/HEAD → refs/heads/main
  mkdirSync(join(dir, 'clone', '.git', 'refs', 'heads'), { recursive: true });
  writeFileSync(join(dir, 'clone', '.git', 'HEAD'), 'ref: refs/heads/main\n');
  writeFileSync(join(dir, 'clone', '.git', 'refs', 'heads', 'main'), `${sha1}\n`);
  writeFileSync(join(dir, 'clone', 'a.yaml'), manifest('a'));
  expect(await gitCommit(join(dir, 'clone'))).toBe(sha1);
  const s = await readSnapshot([join(dir, 'clone')], { validate: fakeValidate });
  expect(s.roots[0].revision).toBe(sha1);
  expect(s.roots[0].jobs).toHaveLength(1);
  // packed refs
  rmSync(join(dir, 'clone', '.git', 'refs', 'heads', 'main'));
  writeFileSync(join(dir, 'clone', '.git', 'packed-refs'), `# pack-refs with: peeled\n${sha2} refs/heads/main\n`);
  expect(await gitCommit(join(dir, 'clone'))).toBe(sha2);
  // a git-sync worktree: .git is a file pointing at the worktree's git dir, HEAD detached
  mkdirSync(join(dir, 'repo', '.git', 'worktrees', 'w1'), { recursive: true });
  writeFileSync(join(dir, 'repo', '.git', 'worktrees', 'w1', 'HEAD'), `${sha3}\n`);
  mkdirSync(join(dir, 'repo', '.worktrees', sha3), { recursive: true });
  writeFileSync(join(dir, 'repo', '.worktrees', sha3, '.git'), `gitdir: ../../.git/worktrees/w1\n`);
  writeFileSync(join(dir, 'repo', '.worktrees', sha3, 'a.yaml'), manifest('a'));
  symlinkSync(`.worktrees/${sha3}`, join(dir, 'repo', 'current'));
  expect(await gitCommit(join(dir, 'repo', '.worktrees', sha3))).toBe(sha3);
  // the root is the git-sync root: the link inside it (to a non-sibling dir) is followed by realpath of the root itself
  const s2 = await readSnapshot([join(dir, 'repo', 'current')], { validate: fakeValidate });
  expect(s2.roots[0].revision).toBe(sha3);
  expect(s2.roots[0].jobs.map((j) => j.file)).toEqual([join(dir, 'repo', 'current', 'a.yaml')]);
  // pointed at the git-sync root itself: the `current` link inside it is followed
  const s3 = await readSnapshot([join(dir, 'repo')], { validate: fakeValidate });
  expect(s3.roots[0]).toMatchObject({ ok: true, revision: sha3, link: join(dir, 'repo', 'current') });
  expect(s3.roots[0].jobs.map((j) => j.file)).toEqual([join(dir, 'repo', 'current', 'a.yaml')]);
  // not a checkout
  expect(await gitCommit(dir)).toBeNull();
});

test('a directory with manifests of its own is read as it is, even if it holds a link to a subdirectory', async () => {
  mkdirSync(join(dir, 'm', 'common'), { recursive: true });
  writeFileSync(join(dir, 'm', 'a.yaml'), manifest('a'));
  writeFileSync(join(dir, 'm', 'common', 'b.yaml'), manifest('b'));
  symlinkSync('common', join(dir, 'm', 'shared'));
  const s = await readSnapshot([join(dir, 'm')], { validate: fakeValidate });
  expect(s.roots[0]).toMatchObject({ ok: true, link: null, revision: null });
  expect(s.roots[0].jobs.map((j) => j.job.metadata.name)).toEqual(['a', 'b']);
});

test('suspectNames finds name keys in YAML and JSON text', () => {
  expect(suspectNames('metadata:\n  name: job-a\nspec:\n  containers:\n    - name: "main"\n')).toEqual(['job-a', 'main']);
  expect(suspectNames('{"metadata": {"name": "job-b"}}')).toEqual(['job-b']);
});
