/**
 * A clean `npm ci` prints no warning a newcomer must interpret (issue 21):
 *   - no EBADENGINE: package.json's engines admit the Node that runs npm (>= 20; the package brings
 *     its own Node 24 for everything it runs),
 *   - no install-scripts notice: every dependency with an install script is reviewed in
 *     `allowScripts` (npm 11.16+: allowed or denied by name).
 * The real `npm ci` in a temporary copy is test/reliability/npm-ci.long.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  dependencies: Record<string, string>;
  allowScripts?: Record<string, boolean>;
};
const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; hasInstallScript?: boolean; engines?: { node?: string } }>;
};

test('every locked package with an install script has an allowScripts entry', () => {
  const withScripts = Object.entries(lock.packages)
    .filter(([, p]) => p.hasInstallScript)
    .map(([where, p]) => ({ name: where.replace(/^.*node_modules\//, ''), version: p.version }));
  expect(withScripts.length).toBeGreaterThan(0);
  const allow = pkg.allowScripts ?? {};
  const unreviewed = withScripts.filter((p) => !(p.name in allow) && !(`${p.name}@${p.version}` in allow));
  expect(unreviewed).toEqual([]);
  // the Node 24 binary comes from the `node` package's install script: it must be allowed, not denied
  expect(allow.node).toBe(true);
});

test('engines admit Node 20 (the machine Node that runs npm) and the Node the package brings', () => {
  const m = /^>=(\d+)$/.exec(pkg.engines.node);
  expect(m).not.toBeNull();
  expect(Number(m![1])).toBeLessThanOrEqual(20);
  expect(Number(/\d+/.exec(pkg.dependencies.node)![0])).toBeGreaterThanOrEqual(Number(m![1]));
  // npm ci compares the lock with package.json: the root entry says the same
  expect(lock.packages[''].engines?.node).toBe(pkg.engines.node);
});

test('npm itself finds no unreviewed install script in the installed tree', () => {
  const r = spawnSync('npm', ['install-scripts', 'ls'], { cwd: ROOT, encoding: 'utf8' });
  if (r.error || /Unknown command/i.test(r.stderr + r.stdout)) {
    // npm older than 11.16 has no allowScripts and prints no notice
    return;
  }
  expect(r.stdout + r.stderr).toContain('No packages with unreviewed install scripts.');
});
