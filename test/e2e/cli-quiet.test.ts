/**
 * The client commands a user types most, run the direct way (`node_modules/.bin/node bin/acictl.js`,
 * what `node_modules/.bin/acictl` or an alias runs) against a real controller found through its
 * kubeconfig: nothing but the command's output, nothing on stderr, and none of the heavy modules
 * the command does not need (the Azure SDK, ajv, pino, the YAML parser, the schedule library) loaded.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { cleanupDirs, ROOT, startControllerProcess, startTestEmulator, tmp, jobYaml, waitUntil } from './harness';

jest.setTimeout(90_000);

const NODE = path.join(ROOT, 'node_modules/.bin/node');
const BIN = path.join(ROOT, 'bin/acictl.js');
const HEAVY = /node_modules\/(@azure|ajv|ajv-formats|pino|pino-pretty|yaml|croner|selfsigned|prom-client)\//;

test('get jobs / get runs / describe: output on stdout only, stderr empty, no heavy module loaded', async () => {
  const emu = await startTestEmulator();
  const manifests = tmp('acictl-quiet-m-');
  writeFileSync(path.join(manifests, 'quiet.yaml'), jobYaml('quiet-job', { schedule: '@daily' }));
  const work = tmp('acictl-quiet-w-');
  const stateDir = path.join(work, '.acictl');
  mkdirSync(stateDir);
  const ctl = startControllerProcess(emu, { manifests: [manifests], stateDir });
  try {
    await ctl.ready();
    // one manual run, so `get runs` has a row to print (with no runs it says "No resources found." on stderr, as kubectl does)
    expect((await ctl.api('POST', '/apis/acictl.dev/v1/containerjobs/quiet-job/trigger')).status).toBeLessThan(300);
    await waitUntil('the manual run to be listed', async () => (await ctl.runs('quiet-job')).length > 0);
    // A probe preloaded into the CLI process writes the list of modules it loaded at exit.
    const probe = path.join(work, 'probe.js');
    const loaded = path.join(work, 'loaded.json');
    writeFileSync(probe, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(loaded)}, JSON.stringify(Object.keys(require.cache))));\n`);
    const env = { PATH: `${path.join(ROOT, 'node_modules/.bin')}${path.delimiter}${process.env.PATH ?? ''}`, HOME: process.env.HOME };
    const cases: { args: string[]; expect: RegExp }[] = [
      { args: ['get', 'jobs'], expect: /^NAME\s+SCHEDULE[^\n]*\nquiet-job\s+@daily/ },
      { args: ['get', 'runs'], expect: /^NAME[^\n]*\nquiet-job-m\d+/ },
      { args: ['describe', 'job', 'quiet-job'], expect: /^Name:\s+quiet-job/m },
    ];
    for (const c of cases) {
      // cwd = the working directory that holds .acictl/: the CLI finds the controller by itself
      const r = spawnSync(NODE, ['--require', probe, BIN, ...c.args], { cwd: work, env, encoding: 'utf8' });
      expect({ args: c.args, code: r.status, stderr: r.stderr }).toEqual({ args: c.args, code: 0, stderr: '' });
      expect(r.stdout).toMatch(c.expect);
      const modules = JSON.parse(readFileSync(loaded, 'utf8')) as string[];
      const heavy = modules.filter((m) => HEAVY.test(m)).map((m) => m.replace(/.*node_modules\//, ''));
      // describe computes the next slots with the schedule library; nothing else may load
      const allowed = c.args[0] === 'describe' ? heavy.filter((m) => !m.startsWith('croner/')) : heavy;
      expect({ args: c.args, heavy: allowed }).toEqual({ args: c.args, heavy: [] });
    }
  } finally {
    await ctl.stop();
    await emu.close();
    cleanupDirs(manifests, work);
  }
});
