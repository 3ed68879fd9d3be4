/**
 * The real `npm ci` on a clean copy of the repository (`git archive HEAD`: no node_modules, no
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
    // what a fresh clone holds: the committed tree of HEAD
    execFileSync('git', ['archive', '--format=tar', '-o', path.join(dir, 'src.tar'), 'HEAD'], { cwd: ROOT });
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
