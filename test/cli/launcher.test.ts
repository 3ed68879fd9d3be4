/** The launchers pass acictl's V8 flags (src/cli/v8-flags.ts) to node, and node really gets them. */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { V8_FLAGS } from '../../src/cli/v8-flags';

const ROOT = path.join(__dirname, '../..');

test('bin/acictl.js passes the flags on its first line; npm start passes them too', () => {
  const first = readFileSync(path.join(ROOT, 'bin/acictl.js'), 'utf8').split('\n')[0];
  expect(first).toBe(`#!/usr/bin/env -S node ${V8_FLAGS.join(' ')}`);
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  expect(pkg.scripts.start).toMatch(new RegExp(`^exec node ${V8_FLAGS.join(' ')} bin/acictl\\.js controller `));
});

test('executed through its shebang, the launcher runs node with the flags', () => {
  // node_modules/.bin first on PATH, as npm scripts and npx have it
  const env = { ...process.env, PATH: `${path.join(ROOT, 'node_modules/.bin')}${path.delimiter}${process.env.PATH ?? ''}` };
  const out = execFileSync(path.join(ROOT, 'bin/acictl.js'), ['--version'], { env, encoding: 'utf8' });
  expect(out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  // the same first line on a script that reports what node was started with
  const dir = mkdtempSync(path.join(tmpdir(), 'acictl-launcher-'));
  try {
    const probe = path.join(dir, 'probe.js');
    const first = readFileSync(path.join(ROOT, 'bin/acictl.js'), 'utf8').split('\n')[0];
    writeFileSync(probe, `${first}\nprocess.stdout.write(JSON.stringify(process.execArgv));\n`);
    chmodSync(probe, 0o755);
    expect(JSON.parse(execFileSync(probe, [], { env, encoding: 'utf8' }))).toEqual(V8_FLAGS);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
