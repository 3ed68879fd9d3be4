/**
 * `acictl emulator` as a user runs it: a child process (Node 24, built CLI) that prints only
 * `export NAME=value` lines; another process configured only from those lines lists groups with the
 * SDK (managed identity + CA file); SIGTERM stops it cleanly.
 */
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { clientFor, FAST, shGroup } from './helpers';
import type { RunningEmulator } from '../../src/emulator';

const ROOT = join(__dirname, '..', '..');
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const BUILT = join(ROOT, 'dist', 'src', 'cli', 'commands', 'emulator.js');

function newestSource(): number {
  let newest = 0;
  for (const dir of ['src/emulator', 'src/cli', 'src/cli/commands']) {
    for (const f of readdirSync(join(ROOT, dir))) {
      if (f.endsWith('.ts')) newest = Math.max(newest, statSync(join(ROOT, dir, f)).mtimeMs);
    }
  }
  return newest;
}

beforeAll(() => {
  if (!existsSync(BUILT) || statSync(BUILT).mtimeMs < newestSource()) {
    // Emits even when another area has type errors; only our output matters here.
    spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
  }
  expect(existsSync(BUILT)).toBe(true);
}, 120_000);

function parseExports(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n').filter(Boolean)) {
    const m = /^export ([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new Error(`unexpected stdout line: ${line}`);
    env[m[1]] = m[2].startsWith("'") ? m[2].slice(1, -1).replace(/'\\''/g, "'") : m[2];
  }
  return env;
}

test('acictl emulator prints export lines; another process lists with the SDK from them alone', async () => {
  const child: ChildProcess = spawn(NODE, ['bin/acictl.js', 'emulator', '--listen', '127.0.0.1:0', '--page-size', '2', '--lro-delay', '10'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    const deadline = Date.now() + 15_000;
    while ((stdout.match(/\n/g) ?? []).length < 5) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`emulator did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const env = parseExports(stdout);
    expect(Object.keys(env).sort()).toEqual(['ACICTL_ARM_CA', 'ACICTL_ARM_ENDPOINT', 'AZURE_SUBSCRIPTION_ID', 'IDENTITY_ENDPOINT', 'IDENTITY_HEADER']);
    expect(env.ACICTL_ARM_ENDPOINT).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);

    // Seed three groups (two pages) from this process, then list from a clean child process.
    const seed = { endpoint: env.ACICTL_ARM_ENDPOINT, subscriptionId: env.AZURE_SUBSCRIPTION_ID, ca: require('node:fs').readFileSync(env.ACICTL_ARM_CA, 'utf8') } as RunningEmulator;
    const client = clientFor(seed);
    for (const n of ['cli-a', 'cli-b', 'cli-c']) await client.containerGroups.beginCreateOrUpdateAndWait('cli-rg', n, shGroup('exit 0'), FAST);

    const lister = spawnSync(NODE, [join(__dirname, 'fixtures', 'list-client.js')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(lister.stderr).toBe('');
    expect(JSON.parse(lister.stdout)).toEqual({ names: ['cli-a', 'cli-b', 'cli-c'] });
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  // Nothing but export lines on stdout, even at shutdown.
  expect(() => parseExports(stdout)).not.toThrow();
  expect(stderr).toContain('emulator stopping');
});

test('acictl emulator rejects bad flags with exit code 2', () => {
  for (const args of [['--listen', '0.0.0.0:0'], ['--runtime', 'docker'], ['--faults', '429=7'], ['--throttling', 'maybe'], ['--auth', 'maybe']]) {
    const r = spawnSync(NODE, ['bin/acictl.js', 'emulator', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 15_000 });
    expect([args.join(' '), r.status, r.stdout]).toEqual([args.join(' '), 2, '']);
  }
});

test('acictl emulator --auth issued: a managed-identity client works, a fixed-token client gets 401', async () => {
  const child: ChildProcess = spawn(NODE, ['bin/acictl.js', 'emulator', '--listen', '127.0.0.1:0', '--auth', 'issued', '--runtime', 'simulate'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    const deadline = Date.now() + 15_000;
    while ((stdout.match(/\n/g) ?? []).length < 5) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`emulator did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const env = parseExports(stdout);
    const target = { endpoint: env.ACICTL_ARM_ENDPOINT, subscriptionId: env.AZURE_SUBSCRIPTION_ID, ca: require('node:fs').readFileSync(env.ACICTL_ARM_CA, 'utf8') } as RunningEmulator;
    await expect(clientFor(target, { maxRetries: 0 }).containerGroups.beginCreateOrUpdateAndWait('cli-rg', 'fixed', shGroup('exit 0'), FAST)).rejects.toMatchObject({ statusCode: 401 });
    const lister = spawnSync(NODE, [join(__dirname, 'fixtures', 'list-client.js')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(lister.stderr).toBe('');
    expect(JSON.parse(lister.stdout)).toEqual({ names: [] });
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
});
