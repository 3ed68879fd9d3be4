/**
 * `npm start` as a user (or a supervisor, `timeout`, a shell's `kill %1`) runs it: SIGTERM or SIGINT
 * sent to the npm process itself stops the controller — it drains, exits, and port 8642 is free
 * within 10 s — instead of npm exiting and leaving the controller re-parented and running.
 *
 * The real npm script runs in a temporary working directory (a copy of package.json, the built
 * package linked in), so its state dir `.acictl/` is a fresh one. It listens on the documented
 * default 127.0.0.1:8642: when something else holds that port, the test fails and says so.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureBuilt, ROOT } from './harness';

jest.setTimeout(120_000);

const PORT = 8642;

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function workDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'acictl-npm-start-'));
  copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  for (const d of ['bin', 'dist', 'node_modules']) symlinkSync(path.join(ROOT, d), path.join(dir, d));
  cpSync(path.join(ROOT, 'manifests'), path.join(dir, 'manifests'), { recursive: true });
  return dir;
}

async function waitFor(what: string, fn: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (!(await fn())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - start;
}

beforeAll(() => ensureBuilt());

describe.each(['SIGTERM', 'SIGINT'] as const)('%s to the npm process of `npm start`', (signal) => {
  let npm: ChildProcess | undefined;
  let dir = '';
  afterEach(() => {
    // whatever happens, nothing this test started outlives it (npm runs in its own process group)
    // (its group, not its pid: a controller orphaned by a broken launcher is still in that group)
    if (npm?.pid) {
      try {
        process.kill(-npm.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    npm?.stdout?.destroy();
    npm?.stderr?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('stops the controller within 10 s: no controller process, port 8642 free, the drain logged', async () => {
    if (!(await portFree(PORT))) {
      throw new Error(`port ${PORT} on 127.0.0.1 is in use by another process; this test runs the real \`npm start\`, which listens there — stop that process and re-run`);
    }
    dir = workDir();
    let out = '';
    npm = spawn('npm', ['start'], { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    npm.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    npm.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const npmExited = new Promise<void>((r) => npm!.on('exit', () => r()));

    await waitFor('the controller to listen (log line "controller listening")', () => out.includes('controller listening on'), 90_000);
    const m = /"pid":(\d+)[^\n]*controller listening on/.exec(out);
    expect(m).not.toBeNull();
    const controllerPid = Number(m![1]);
    expect(controllerPid).not.toBe(npm.pid);
    expect(alive(controllerPid)).toBe(true);
    expect(await portFree(PORT)).toBe(false);

    process.kill(npm.pid!, signal); // the npm process only, as `kill PID` does
    const tookMs = await waitFor('the controller process to end and port 8642 to be free', async () => !alive(controllerPid) && (await portFree(PORT)), 10_000);
    expect(tookMs).toBeLessThanOrEqual(10_000);
    await npmExited;
    expect(out).toContain(`"signal":"${signal}"`);
    expect(out).toContain('stopping: draining in-flight reconciles');
  });
});
