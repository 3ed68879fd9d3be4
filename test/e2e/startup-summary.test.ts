/**
 * The first seconds of `acictl controller --manifests manifests --emulator` (what `npm start` runs,
 * on a free port and a temporary state dir): once every source is loaded, a summary names each of
 * the four example jobs with its state and its next run, the API URL and kubeconfig, and the two
 * commands to try next — one JSON line per job without a terminal, one block with pretty logs
 * (what a terminal gets).
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { ControllerProcess, ensureBuilt, ROOT, cleanupDirs, tmp, waitUntil } from './harness';

const NODE = path.join(ROOT, 'node_modules/.bin/node');
const EXAMPLES = ['azure-tutorial-container', 'extract-orders', 'heartbeat', 'nightly-etl', 'orders-report', 'weekly-gpu-training'];

function start(format: 'json' | 'pretty'): ControllerProcess {
  ensureBuilt();
  const stateDir = tmp('acictl-summary-');
  const child = spawn(NODE, ['bin/acictl.js', 'controller', '--manifests', 'manifests', '--emulator', '--runtime', 'simulate', '--state-dir', stateDir, '--listen', '127.0.0.1:0', '--log-format', format], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new ControllerProcess(child, stateDir);
}

let ctl: ControllerProcess | undefined;
afterEach(async () => {
  await ctl?.stop();
  if (ctl) cleanupDirs(ctl.stateDir);
  ctl = undefined;
});

test('without a terminal: one JSON line per example job with its state and next run, then the API line', async () => {
  const started = Date.now();
  ctl = start('json');
  const c = ctl;
  const api = await waitUntil('the summary', () => {
    if (c.child.exitCode !== null) throw new Error(`controller exited: ${c.stderr}`);
    return c.lines().find((l) => l.summary === 'api');
  }, 10_000, 50);
  expect(Date.now() - started).toBeLessThan(10_000);
  const jobs = c.lines().filter((l) => l.summary === 'job');
  expect(jobs.map((j) => j.job)).toEqual(EXAMPLES);
  const now = Date.now();
  const by = new Map(jobs.map((j) => [j.job as string, j]));
  for (const name of ['azure-tutorial-container', 'heartbeat', 'weekly-gpu-training']) {
    const j = by.get(name)!;
    expect(j.state).toBe('Ready');
    const next = Date.parse(j.nextRun as string);
    expect(next).toBeGreaterThan(now - 30_000);
    expect(j.msg).toMatch(new RegExp(`^${name}: Ready; next run \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d(:\\d\\d)? UTC \\((in \\w+|due now)\\)$`));
    expect(j.msg).toContain(new Date(next).toISOString().slice(0, 10));
  }
  // heartbeat fires every 30 s; the daily job at the next midnight UTC; the weekly one on a Sunday 03:00
  expect(Date.parse(by.get('heartbeat')!.nextRun as string) - now).toBeLessThanOrEqual(31_000);
  expect(new Date(by.get('azure-tutorial-container')!.nextRun as string).toISOString()).toMatch(/T00:00:00\.000Z$/);
  expect(new Date(by.get('weekly-gpu-training')!.nextRun as string).getUTCDay()).toBe(0);
  const etl = by.get('nightly-etl')!;
  expect(etl.state).toBe('Suspended');
  expect(etl.reason).toMatch(/spec\.suspend is true in .*nightly-etl\.yaml/);
  expect(etl.nextRun).toBeNull();
  expect(etl.msg).toMatch(/none while suspended \(would be \d{4}-\d\d-\d\d \d\d:\d\d UTC\)/);
  expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(api.kubeconfig).toBe(path.join(c.stateDir, 'kubeconfig'));
  expect(api.tryNext).toEqual(['npx acictl run azure-tutorial-container', 'npx acictl logs azure-tutorial-container']);
  expect(api.ui).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/login\?token=[\w-]+$/);
  // printed once
  await new Promise((r) => setTimeout(r, 500));
  expect(c.lines().filter((l) => l.summary === 'api')).toHaveLength(1);
});

test('on a terminal (pretty logs): one block with every example job, its next run, the API and two commands', async () => {
  ctl = start('pretty');
  const c = ctl;
  const block = await waitUntil('the summary block', () => {
    if (c.child.exitCode !== null) throw new Error(`controller exited: ${c.stderr}`);
    const plain = c.stdout.replace(/\x1b\[[0-9;]*m/g, '');
    const m = /acictl controller is up:[^\n]*\n(?:.*\n)*?\s+try next.*\n.*\n/.exec(plain);
    return m?.[0];
  }, 10_000, 50);
  expect(block).toMatch(/^acictl controller is up: 6 jobs \(5 Ready, 1 Suspended\)/);
  for (const name of ['azure-tutorial-container', 'heartbeat', 'weekly-gpu-training']) {
    expect(block).toMatch(new RegExp(`\\n  ${name} +Ready +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d(:\\d\\d)? UTC \\((in \\w+|due now)\\)\\n`));
  }
  expect(block).toMatch(/\n  nightly-etl +Suspended +none while suspended \(would be [^)]+\)\n +↳ spec\.suspend is true in manifests\/nightly-etl\.yaml\n/);
  expect(block).toMatch(/\n  API +http:\/\/127\.0\.0\.1:\d+ +\(kubectl: https:\/\/127\.0\.0\.1:\d+\)\n/);
  expect(block).toContain(`kubeconfig  ${path.join(c.stateDir, 'kubeconfig')}`);
  expect(block).toMatch(/\n  web UI +https:\/\/127\.0\.0\.1:\d+\/login\?token=[\w-]+\n/);
  expect(block).toMatch(/try next +npx acictl run azure-tutorial-container\n +npx acictl logs azure-tutorial-container\n/);
});
