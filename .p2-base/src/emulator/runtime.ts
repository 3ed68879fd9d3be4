/**
 * Runtimes execute a container of a group. `process` spawns the container's command as a local child
 * process (in its own process group, with only the container's environment plus a minimal PATH/HOME);
 * `simulate` spawns nothing and exits after a configured time with a configured code.
 */
import { spawn, ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';

export interface ContainerLaunch {
  group: string;
  container: string;
  image: string;
  command?: string[];
  /** The container's own variables (values and secure values). */
  env: Record<string, string>;
  /** Working directory / HOME for process runs. */
  workDir: string;
}

export interface RuntimeCallbacks {
  /** A chunk of output; `stream` tells stdout from stderr. */
  output(stream: 'stdout' | 'stderr', text: string): void;
  /** Called once, after all output was delivered. */
  exit(exitCode: number, detailStatus: string): void;
}

export interface RunHandle {
  /** Kill the container (the whole process group); no exit callback follows a kill. */
  kill(): void;
}

export interface Runtime {
  start(launch: ContainerLaunch, cb: RuntimeCallbacks): RunHandle;
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function detailFor(code: number): string {
  return code === 0 ? 'Completed' : 'Error';
}

export class ProcessRuntime implements Runtime {
  private readonly live = new Set<ChildProcess>();

  start(launch: ContainerLaunch, cb: RuntimeCallbacks): RunHandle {
    let finished = false;
    let killed = false;
    const finish = (code: number, detail: string) => {
      if (finished || killed) return;
      finished = true;
      cb.exit(code, detail);
    };
    if (!launch.command || launch.command.length === 0) {
      const timer = setTimeout(() => {
        cb.output('stdout', `[emulator] image '${launch.image}' was not run: the container has no command; exiting with code 0\n`);
        finish(0, 'Completed');
      }, 10);
      return { kill: () => { killed = true; clearTimeout(timer); } };
    }
    const env: Record<string, string> = { PATH: DEFAULT_PATH, HOME: launch.workDir, ...launch.env };
    let child: ChildProcess;
    try {
      child = spawn(launch.command[0], launch.command.slice(1), {
        env,
        cwd: launch.workDir,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      const timer = setTimeout(() => {
        cb.output('stderr', `[emulator] failed to start '${launch.command![0]}': ${(err as Error).message}\n`);
        finish(127, 'Error');
      }, 0);
      return { kill: () => { killed = true; clearTimeout(timer); } };
    }
    this.live.add(child);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => { if (!killed) cb.output('stdout', d); });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { if (!killed) cb.output('stderr', d); });
    child.on('error', (err: NodeJS.ErrnoException) => {
      this.live.delete(child);
      if (!killed) cb.output('stderr', `[emulator] failed to start '${launch.command![0]}': ${err.code ?? err.message}\n`);
      finish(err.code === 'ENOENT' ? 127 : 126, 'Error');
    });
    child.on('close', (code, signal) => {
      this.live.delete(child);
      const exitCode = code ?? 128 + ((signal && osConstants.signals[signal]) || 9);
      finish(exitCode, detailFor(exitCode));
    });
    return {
      kill: () => {
        if (killed) return;
        killed = true;
        killGroup(child);
      },
    };
  }

  /** Kills every process this runtime started and has not seen exit. */
  killAll(): void {
    for (const child of this.live) killGroup(child);
    this.live.clear();
  }
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

export interface SimulateOptions {
  durationMs?: number;
  exitCode?: number;
}

/** Overrides per container: EMULATOR_SIMULATE_MS and EMULATOR_SIMULATE_EXIT_CODE. */
export class SimulateRuntime implements Runtime {
  constructor(private readonly opts: SimulateOptions = {}) {}

  start(launch: ContainerLaunch, cb: RuntimeCallbacks): RunHandle {
    const ms = numberOr(launch.env.EMULATOR_SIMULATE_MS, this.opts.durationMs ?? 1000);
    const code = numberOr(launch.env.EMULATOR_SIMULATE_EXIT_CODE, this.opts.exitCode ?? 0);
    let killed = false;
    cb.output('stdout', `[emulator] simulating container '${launch.container}' (image '${launch.image}') for ${ms} ms\n`);
    const timer = setTimeout(() => {
      if (killed) return;
      cb.output('stdout', `[emulator] simulated run finished with exit code ${code}\n`);
      cb.exit(code, detailFor(code));
    }, ms);
    return { kill: () => { killed = true; clearTimeout(timer); } };
  }
}

function numberOr(raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  return Number.isFinite(n) ? n : fallback;
}
