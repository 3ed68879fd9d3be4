/**
 * CLI latency: a warm `acictl get jobs` beside `kubectl get cj` on the same API, in one run.
 *
 * A real controller (`acictl controller --manifests manifests --emulator`, a process of its own, a
 * temporary state dir, a free port) serves both. Each command runs `runs` times (default 15)
 * after one warm-up, the commands interleaved so that machine load hits them alike; the figure is
 * the median wall time from spawn to exit. Where the time goes is measured too:
 *   - nodeStartMs: `node -e 0` with the package's Node 24 (process start alone),
 *   - versionMs: `acictl --version` (start + loading the CLI's modules, no request),
 *   - getJobsMs: `acictl get jobs` run the direct way (node_modules/.bin/node bin/acictl.js),
 *   - kubectlGetMs: `kubectl get cj` with the controller's kubeconfig (n/a when kubectl is absent),
 *   - npxGetJobsMs: `npx acictl get jobs` (npm's start-up and bin resolution on top; `npxRuns` runs).
 * Each figure also has a CPU time (…CpuMs: user + sys, median): on a loaded machine wall time grows
 * with the queue for the cores, CPU time does not.
 * getJobsStderrBytes is what `acictl get jobs` wrote on stderr over all runs (the target is 0).
 *
 *   npx node dist/bench/cli-latency.js [runs=15] [npxRuns=3]
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { main, percentile, progress, round, sleep, tempDir, waitFor, type BenchResult } from './lib/common';
import { V8_FLAGS } from '../src/cli/v8-flags';

const ROOT = join(__dirname, '../..');
const NODE = join(ROOT, 'node_modules/.bin/node');
const BIN = join(ROOT, 'bin/acictl.js');

interface Timed {
  ms: number;
  cpuMs?: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const CPU_MARK = 'ACICTL_BENCH_CPU';

/** Wall time of one run, and its CPU time (user + sys, through /usr/bin/time when present: load on a shared machine inflates wall time, not CPU time). */
function timed(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Timed {
  const t0 = performance.now();
  const r = TIME ? spawnSync(TIME, ['-f', `${CPU_MARK} %U %S`, cmd, ...args], { cwd, env, encoding: 'utf8' }) : spawnSync(cmd, args, { cwd, env, encoding: 'utf8' });
  const ms = performance.now() - t0;
  let stderr = r.stderr ?? '';
  let cpuMs: number | undefined;
  const m = new RegExp(`(?:^|\\n)${CPU_MARK} ([\\d.]+) ([\\d.]+)\\n?$`).exec(stderr);
  if (m) {
    cpuMs = (Number(m[1]) + Number(m[2])) * 1000;
    stderr = stderr.slice(0, m.index);
  }
  return { ms, cpuMs, code: r.status, stdout: r.stdout ?? '', stderr };
}

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

export async function run(opts: { runs?: number; npxRuns?: number } = {}): Promise<BenchResult> {
  const runs = opts.runs ?? 15;
  const npxRuns = opts.npxRuns ?? 3;
  const tmp = tempDir('cli-latency');
  const stateDir = join(tmp.path, '.acictl');
  const controller = spawn(NODE, [...V8_FLAGS, BIN, 'controller', '--manifests', join(ROOT, 'manifests'), '--emulator', '--state-dir', stateDir, '--listen', '127.0.0.1:0', '--log-format', 'json'], {
    cwd: tmp.path,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  controller.stdout.setEncoding('utf8').on('data', (d: string) => (log += d));
  controller.stderr.setEncoding('utf8').on('data', (d: string) => (log += d));
  const exited = new Promise<void>((r) => controller.on('close', () => r()));
  try {
    await waitFor('the controller to listen', () => log.includes('controller listening on') && existsSync(join(stateDir, 'kubeconfig')), 60_000, 50);
    const kubeconfig = join(stateDir, 'kubeconfig');
    const kubectl = which('kubectl');
    progress(`cli-latency: controller up; ${runs} runs of each command${kubectl ? '' : ' (kubectl not found: its figure is n/a)'}`);

    const commands: { key: string; run: () => Timed }[] = [
      { key: 'nodeStartMs', run: () => timed(NODE, ['-e', '0'], tmp.path) },
      { key: 'versionMs', run: () => timed(NODE, [...V8_FLAGS, BIN, '--version'], tmp.path) },
      { key: 'getJobsMs', run: () => timed(NODE, [...V8_FLAGS, BIN, 'get', 'jobs'], tmp.path) },
    ];
    if (kubectl) commands.push({ key: 'kubectlGetMs', run: () => timed(kubectl, ['--kubeconfig', kubeconfig, 'get', 'cj'], tmp.path) });

    // The answer must be the real table, from this controller, before any figure counts.
    const probe = commands[2].run();
    if (probe.code !== 0 || !/^NAME\s+SCHEDULE/.test(probe.stdout) || !probe.stdout.includes('heartbeat')) {
      throw new Error(`acictl get jobs did not answer (exit ${probe.code}): ${probe.stdout}${probe.stderr}`);
    }
    for (const c of commands) c.run(); // warm-up: file cache, kubectl's discovery cache
    const samples = new Map<string, number[]>(commands.map((c) => [c.key, []]));
    const cpu = new Map<string, number[]>(commands.map((c) => [c.key, []]));
    let stderrBytes = 0;
    for (let i = 0; i < runs; i++) {
      for (const c of commands) {
        const t = c.run();
        if (t.code !== 0) throw new Error(`${c.key}: exit ${t.code}: ${t.stderr}`);
        if (c.key === 'getJobsMs') stderrBytes += Buffer.byteLength(t.stderr);
        samples.get(c.key)!.push(t.ms);
        if (t.cpuMs !== undefined) cpu.get(c.key)!.push(t.cpuMs);
      }
      await sleep(20);
    }
    const npx: number[] = [];
    for (let i = 0; i < npxRuns; i++) npx.push(timed('npx', ['acictl', 'get', 'jobs'], ROOT, { ...process.env, ACICTL_STATE_DIR: stateDir }).ms);

    const result: BenchResult = { runs };
    for (const [key, xs] of samples) {
      result[key] = round(percentile(xs, 50));
      result[key.replace(/Ms$/, 'P90Ms')] = round(percentile(xs, 90));
      const c = cpu.get(key)!;
      result[key.replace(/Ms$/, 'CpuMs')] = c.length ? round(percentile(c, 50)) : 'n/a';
    }
    if (!kubectl) result.kubectlGetMs = 'n/a';
    result.npxGetJobsMs = npx.length ? round(percentile(npx, 50)) : 'n/a';
    result.getJobsStderrBytes = stderrBytes;
    return result;
  } finally {
    controller.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (controller.exitCode === null) controller.kill('SIGKILL');
    tmp.remove();
  }
}

if (require.main === module) main(run);
