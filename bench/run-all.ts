/**
 * Runs every benchmark in sequence, each in a process of its own (so one bench's memory, timers
 * and budget settings never leak into the next), and prints one table: figure, value, target,
 * met?. Each bench's full result follows the table. `npm run bench` builds first and runs this.
 *
 *   npx node dist/bench/run-all.js [--only=scale,arm-calls] [--quick]
 *
 * `--quick` shrinks every bench (for a smoke run of the harness; the figures are then not the
 * ones the targets are about).
 *
 * The store-dependent figures (10,000 jobs Ready, schedule lag) are measured on both stores in the
 * same run: `scale-postgres` and `schedule-lag-postgres` are the same benches with
 * `store=postgres` (a local PostgreSQL server they start; "skipped: …" in the table without the
 * binaries), and their rows sit right under the SQLite ones.
 */
import { spawn } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { BenchResult } from './lib/common';
import { V8_FLAGS } from '../src/cli/v8-flags';

interface Figure {
  bench: string;
  key: string;
  label: string;
  target: string;
  /** undefined: informational, no target. */
  met?: (v: number, r: BenchResult) => boolean;
}

/** `script`: the bench file (default: `name`), for a bench run twice with different options. */
const BENCHES: { name: string; script?: string; args: string[]; quick: string[] }[] = [
  { name: 'scale', args: [], quick: ['sizes=200,1000'] },
  { name: 'scale-postgres', script: 'scale', args: ['store=postgres', 'sizes=10000', 'restart=0', 'timeoutSeconds=400'], quick: ['store=postgres', 'sizes=1000', 'restart=0'] },
  { name: 'steady-state', args: [], quick: ['jobs=1000', 'resyncIntervalMs=2000', 'resyncs=2'] },
  { name: 'arm-calls', args: [], quick: ['jobs=20', 'runSeconds=15'] },
  { name: 'schedule-lag', args: [], quick: ['jobs=200', 'repeats=1'] },
  { name: 'schedule-lag-postgres', script: 'schedule-lag', args: ['store=postgres', 'parts=A', 'sharedCore=0', 'leadSeconds=30'], quick: ['store=postgres', 'parts=A', 'sharedCore=0', 'jobs=200', 'repeats=1'] },
  { name: 'watch-latency', args: [], quick: ['edits=30', 'baseJobs=200'] },
  { name: 'validation', args: [], quick: ['documents=2000'] },
  { name: 'aci-throttle', args: [], quick: ['creates=150'] },
  { name: 'cli-latency', args: [], quick: ['runs=5', 'npxRuns=1'] },
  { name: 'git-source', args: [], quick: ['jobs=1000', 'pushes=5'] },
  // HA on PostgreSQL (3 replicas, emulator out of process): 10 kills here to keep `npm run bench` short;
  // the figures in BENCHMARKS.md are from kills=30 (node dist/bench/failover.js kills=30 …).
  { name: 'failover', args: ['kills=10'], quick: ['kills=2'] },
  { name: 'failover-5s', script: 'failover', args: ['kills=10', 'lease=5000,3300,700'], quick: ['kills=2', 'lease=5000,3300,700'] },
  { name: 'ha-torture', args: ['kills=10', 'jobs=200'], quick: ['kills=3', 'jobs=50'] },
  { name: 'ui-render', args: [], quick: ['jobs=1000', 'logLines=1000', 'repeats=2'] },
];

const FIGURES: Figure[] = [
  { bench: 'scale', key: 'readySeconds_10000', label: '10,000 jobs: start → all Ready (s)', target: '≤ 10', met: (v) => v <= 10 },
  { bench: 'scale-postgres', key: 'readySeconds_10000', label: '… the same on the PostgreSQL store (s, same run)', target: '≤ 10', met: (v) => v <= 10 },
  { bench: 'scale', key: 'peakRssMb_10000', label: '10,000 jobs: controller peak RSS (MB)', target: '≤ 300', met: (v) => v <= 300 },
  { bench: 'scale-postgres', key: 'peakRssMb_10000', label: '… the same on the PostgreSQL store (MB, same run)', target: '≤ 300', met: (v) => v <= 300 },
  { bench: 'scale', key: 'restartReadySeconds_10000', label: '10,000 jobs: restart → all Ready (s)', target: '—' },
  { bench: 'scale', key: 'restartValidatedFiles_10000', label: '… files parsed again on restart', target: '0 (cache by content)', met: (v) => v === 0 },
  { bench: 'git-source', key: 'gitFirstSyncSeconds', label: '10,000 jobs from a git repository: first sync → all Ready (s)', target: '—' },
  { bench: 'git-source', key: 'dirFirstSyncSeconds', label: '… the same as a directory, same in-process setup (s)', target: '—' },
  { bench: 'git-source', key: 'gitOneFileCommitMs', label: '10,000 jobs in git: one-file commit → applied (ms, webhook)', target: '—' },
  { bench: 'git-source', key: 'dirOneFileEditMs', label: '… the same as a directory: one-file edit → applied (ms)', target: '—' },
  { bench: 'git-source', key: 'webhookP99Ms', label: 'git: push → applied with the webhook, p99 of 20 (ms)', target: '≤ 2000', met: (v) => v <= 2000 },
  { bench: 'scale', key: 'readySeconds_1000', label: '1,000 jobs: start → all Ready (s)', target: '—' },
  { bench: 'scale', key: 'peakRssMb_1000', label: '1,000 jobs: controller peak RSS (MB)', target: '—' },
  { bench: 'scale', key: 'readyTimeGrowth', label: 'ready-time growth for ×10 jobs', target: '≤ 10 (linear)', met: (v, r) => v <= Number(r.sizeFactor) },
  { bench: 'scale', key: 'rssGrowth', label: 'RSS growth for ×10 jobs', target: '≤ 10 (linear)', met: (v, r) => v <= Number(r.sizeFactor) },
  { bench: 'steady-state', key: 'armWritesPerResync', label: 'steady state: ARM writes per resync', target: '0', met: (v) => v === 0 },
  { bench: 'steady-state', key: 'armReadsPerResync', label: 'steady state: ARM reads per resync', target: '≤ list pages', met: (v, r) => v <= Number(r.listPagesPerResync) },
  { bench: 'steady-state', key: 'resyncWallSeconds', label: 'steady state: resync of all jobs (s, worst)', target: '≤ 1', met: (v) => v <= 1 },
  { bench: 'arm-calls', key: 'controllerRequestsPerRun', label: 'ARM requests per run: controller', target: '—' },
  { bench: 'arm-calls', key: 'seedOperatorRequestsPerRun', label: 'ARM requests per run: seed operator', target: '—' },
  { bench: 'arm-calls', key: 'ratio', label: 'ARM requests per run: ratio', target: '≤ 0.1', met: (v) => v <= 0.1 },
  { bench: 'arm-calls', key: 'controllerRequestsPerRunListViews', label: '… controller, list items with instance views (observed from lists)', target: '—' },
  { bench: 'schedule-lag', key: 'offLagP50Ms', label: '1,000 due at once, no throttling: lag p50 (ms)', target: '—' },
  { bench: 'schedule-lag-postgres', key: 'offLagP50Ms', label: '… lag p50 on the PostgreSQL store (ms, same run)', target: '—' },
  { bench: 'schedule-lag', key: 'offLagP99Ms', label: '1,000 due at once, no throttling: lag p99 (ms; median of 3 bursts)', target: '≤ 1000', met: (v) => v <= 1000 },
  { bench: 'schedule-lag-postgres', key: 'offLagP99Ms', label: '… lag p99 on the PostgreSQL store (ms; median of 3 bursts, same run)', target: '≤ 1000', met: (v) => v <= 1000 },
  { bench: 'schedule-lag', key: 'offLagP99MsFirstBurst', label: '… p99 of the first burst (launch path not yet compiled)', target: '—' },
  { bench: 'schedule-lag', key: 'offLagMaxMs', label: '1,000 due at once, no throttling: lag max (ms)', target: '—' },
  { bench: 'schedule-lag', key: 'azure429s', label: '1,000 due at once, Azure preset: 429s', target: '0', met: (v) => v === 0 },
  { bench: 'schedule-lag', key: 'azureDrainEmulatedMinutes', label: '… time to drain (emulated min; ideal in details)', target: '—' },
  { bench: 'watch-latency', key: 'writeToStoreP50Ms', label: 'watch: file write → desired state p50 (ms)', target: '—' },
  { bench: 'watch-latency', key: 'writeToStoreP99Ms', label: 'watch: file write → desired state p99 (ms)', target: '≤ 500', met: (v) => v <= 500 },
  { bench: 'watch-latency', key: 'slotToCreateP99Ms', label: 'watch: slot → first ARM request p99 (ms)', target: '≤ 500', met: (v) => v <= 500 },
  { bench: 'validation', key: 'yamlParseDocsPerSec', label: 'validation: yaml parse alone (docs/s)', target: '—' },
  { bench: 'validation', key: 'validateColdDocsPerSec', label: 'validation: validate path (docs/s)', target: '—' },
  { bench: 'validation', key: 'ratioColdToYamlParse', label: 'validation: ratio to yaml alone', target: '≥ 0.8', met: (v) => v >= 0.8 },
  { bench: 'aci-throttle', key: 'throttled429', label: 'adapter: 500 creates, Azure preset: 429s', target: '0', met: (v) => v === 0 },
  { bench: 'aci-throttle', key: 'maxCreatesIn5Min', label: '… most creates in any 5 min (budget 100)', target: '≤ 100', met: (v) => v <= 100 },
  { bench: 'aci-throttle', key: 'maxCreatesIn1h', label: '… most creates in any hour (budget 300)', target: '≤ 300', met: (v) => v <= 300 },
  { bench: 'cli-latency', key: 'getJobsMs', label: 'CLI: warm `acictl get jobs` (ms, median)', target: '≤ 300', met: (v) => v <= 300 },
  { bench: 'cli-latency', key: 'kubectlGetMs', label: '… `kubectl get cj`, same API, same run (ms, median)', target: '—' },
  { bench: 'cli-latency', key: 'getJobsCpuMs', label: '… CPU time (user + sys) of `acictl get jobs` (ms)', target: '—' },
  { bench: 'cli-latency', key: 'kubectlGetCpuMs', label: '… CPU time of `kubectl get cj` (ms)', target: '—' },
  { bench: 'cli-latency', key: 'versionMs', label: '… `acictl --version`: Node + CLI modules, no request (ms)', target: '—' },
  { bench: 'cli-latency', key: 'nodeStartMs', label: '… `node -e 0` alone (ms)', target: '—' },
  { bench: 'cli-latency', key: 'npxGetJobsMs', label: '… `npx acictl get jobs` (ms, median)', target: '—' },
  { bench: 'failover', key: 'firstActionP50Ms', label: 'HA failover, lease 15/10/2 s: SIGKILL of the leader → first ARM write of the new one, p50 (ms)', target: '—' },
  { bench: 'failover', key: 'firstActionMaxMs', label: '… max over the kills (ms)', target: '≤ 15000', met: (v) => v <= 15_000 },
  { bench: 'failover', key: 'takeoverP50Ms', label: '… SIGKILL → the new holder logs "became leader", p50 (ms)', target: '—' },
  { bench: 'failover', key: 'kills', label: '… kills measured', target: '—' },
  { bench: 'failover-5s', key: 'firstActionP50Ms', label: 'HA failover, lease 5/3.3/0.7 s: SIGKILL → first ARM write of the new leader, p50 (ms)', target: '—' },
  { bench: 'failover-5s', key: 'firstActionMaxMs', label: '… max over the kills (ms)', target: '≤ 15000', met: (v) => v <= 15_000 },
  { bench: 'ha-torture', key: 'kills', label: 'HA crash torture (3 replicas, 3 s lease): SIGKILLs of the leader', target: '—' },
  { bench: 'ha-torture', key: 'jobs', label: '… jobs firing (each once a minute at its own second, + a 1 s pulse)', target: '—' },
  { bench: 'ha-torture', key: 'duplicates', label: '… duplicate (run, attempt) creations in the emulator log', target: '0', met: (v) => v === 0 },
  { bench: 'ha-torture', key: 'lostSlots', label: '… lost slots (neither Succeeded nor Missed with a reason)', target: '0', met: (v) => v === 0 },
  { bench: 'ha-torture', key: 'logProblems', label: '… attempts whose log was not archived exactly once', target: '0', met: (v) => v === 0 },
  { bench: 'ha-torture', key: 'samplesTwoLeaders', label: '… 100 ms samples with two replicas leading', target: '0', met: (v) => v === 0 },
  { bench: 'ui-render', key: 'jobsFirstRenderMs', label: 'web UI: jobs page first render, 10,000 jobs (ms, median)', target: '≤ 1000', met: (v) => v <= 1000 },
  { bench: 'ui-render', key: 'jobsFirstRenderMaxMs', label: '… worst of the loads (ms)', target: '—' },
  { bench: 'ui-render', key: 'jobsApiMs', label: '… /ui/api/jobs answer alone (ms, median)', target: '—' },
  { bench: 'ui-render', key: 'jobsApiColdMs', label: '… its first answer after start (reads every job; ms)', target: '—' },
  { bench: 'ui-render', key: 'runLogRenderMs', label: 'web UI: run page with a 5,000-line log (ms, median)', target: '≤ 1000', met: (v) => v <= 1000 },
  { bench: 'ui-render', key: 'runLogRenderMaxMs', label: '… worst of the loads (ms)', target: '—' },
  { bench: 'cli-latency', key: 'getJobsStderrBytes', label: '… bytes on stderr from `acictl get jobs`', target: '0', met: (v) => v === 0 },
];

function runBench(name: string, args: string[]): Promise<{ result?: BenchResult; error?: string; seconds: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...V8_FLAGS, join(__dirname, `${name}.js`), '--json', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('close', (code) => {
      const seconds = Math.round((performance.now() - t0) / 100) / 10;
      const m = /^BENCH_RESULT (.*)$/m.exec(out);
      if (m) resolve({ result: JSON.parse(m[1]) as BenchResult, seconds });
      else resolve({ error: `exited ${code} without a result${out ? `: ${out.slice(-500)}` : ''}`, seconds });
    });
  });
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const only = argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
  const results = new Map<string, BenchResult>();
  const errors = new Map<string, string>();
  const t0 = performance.now();
  const mem = Math.round(totalmem() / 1024 ** 3);
  console.log(`acictl benchmarks — ${new Date().toISOString()} — ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${mem} GB, Node ${process.version}${quick ? ' — QUICK (reduced sizes)' : ''}`);
  for (const b of BENCHES) {
    if (only && !only.includes(b.name)) continue;
    process.stderr.write(`[${b.name}] running…\n`);
    const r = await runBench(b.script ?? b.name, quick ? b.quick : b.args);
    process.stderr.write(`[${b.name}] ${r.error ? `FAILED: ${r.error}` : 'done'} in ${r.seconds} s\n`);
    if (r.result) results.set(b.name, r.result);
    if (r.error) errors.set(b.name, r.error);
  }
  const rows = [['figure', 'value', 'target', 'met?']];
  for (const f of FIGURES) {
    if (only && !only.includes(f.bench)) continue;
    const r = results.get(f.bench);
    const v = r?.[f.key];
    if (typeof r?.skipped === 'string') {
      rows.push([f.label, r.skipped, f.target, '']);
      continue;
    }
    if (v === undefined) {
      rows.push([f.label, errors.has(f.bench) ? 'error' : 'n/a', f.target, f.met ? 'NO' : '']);
      continue;
    }
    const met = f.met && typeof v === 'number' && r ? (f.met(v, r) ? 'yes' : 'NO') : '';
    rows.push([f.label, String(v), f.target, met]);
  }
  console.log('');
  console.log(table(rows));
  console.log('');
  for (const [name, r] of results) {
    console.log(`${name}:`);
    for (const [k, v] of Object.entries(r)) console.log(`  ${k}: ${v}`);
  }
  for (const [name, e] of errors) console.log(`${name}: ERROR ${e}`);
  console.log(`\ntotal ${Math.round((performance.now() - t0) / 1000)} s`);
  if (errors.size) process.exitCode = 1;
}

void main();
