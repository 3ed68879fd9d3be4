/**
 * The real `npm ci` on a clean copy of the repository (git's tracked files, no node_modules, no
 * dist) prints no `npm warn` line: no EBADENGINE for the machine's Node, no install-scripts notice
 * (issue 21). Slow (a full install and build from the registry), hence in the reliability suite.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '../..');

test('a clean npm ci prints no warning', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'acictl-npm-ci-'));
  try {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
    execFileSync('tar', ['-cf', path.join(dir, 'src.tar'), '--null', '-T', '-'], { cwd: ROOT, input: files.join('\0') });
    execFileSync('tar', ['-xf', 'src.tar'], { cwd: dir });
    rmSync(path.join(dir, 'src.tar'));
    // the machine's npm and Node, as a newcomer runs it (not node_modules/.bin first on PATH)
    const PATH = (process.env.PATH ?? '').split(path.delimiter).filter((p) => !p.includes('node_modules')).join(path.delimiter);
    const r = spawnSync('npm', ['ci'], { cwd: dir, env: { ...process.env, PATH, NO_COLOR: '1' }, encoding: 'utf8', timeout: 900_000 });
    const out = `${r.stdout}\n${r.stderr}`;
    expect({ status: r.status, tail: r.status === 0 ? '' : out.slice(-2000) }).toEqual({ status: 0, tail: '' });
    expect(out.split('\n').filter((l) => /^npm warn/i.test(l))).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
