/**
 * Crash safety: a child process writes to the store in a loop (multi-row transactions and single
 * writes) and is killed with SIGKILL mid-stream. Reopening the file must work, pass SQLite's
 * integrity check, hold every write the child reported as committed, and no half transaction.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import ts from 'typescript';
import { SqliteStore } from '../../src/store/sqlite';

const ROOT = resolve(__dirname, '../..');
const NODE = join(ROOT, 'node_modules/.bin/node');

/** Compile the store to plain JS in `dir` so a bare Node child can load it. */
function compileStore(dir: string): void {
  mkdirSync(join(dir, 'store'), { recursive: true });
  for (const f of ['types', 'common', 'sqlite']) {
    const src = readFileSync(join(ROOT, 'src/store', `${f}.ts`), 'utf8');
    const out = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } });
    writeFileSync(join(dir, 'store', `${f}.js`), out.outputText);
  }
}

const CHILD = `
const { SqliteStore } = require('./store/sqlite.js');
const store = SqliteStore.open(process.argv[2]);
const spec = { schedule: '@daily', template: { resourceGroup: 'rg', location: 'eastus',
  containers: [{ name: 'main', image: 'busybox', resources: { requests: { cpu: 1, memoryInGB: 1 } } }] } };
(async () => {
for (let i = 0; ; i++) {
  const name = 'job-' + i;
  await store.transaction(async () => {
    await store.putJob({ name, finalizers: [], labels: {}, annotations: {}, spec, source: { kind: 'api' }, status: {} });
    await store.putRun({ id: name + '-r', job: name, slot: i, manual: false, scheduledTime: i, dataIntervalStart: i,
      dataIntervalEnd: i + 1, phase: 'Running', attempts: [], createdAt: i });
    await store.putLog(name + '-r', 1, 'main', 'x'.repeat(5000) + i);
  });
  await store.putJobStatus(name, { observedGeneration: 1, lastRunResult: 'Succeeded' });
  await store.addEvent({ time: String(i), job: name, type: 'Normal', reason: 'Done', message: 'ok ' + i });
  process.stdout.write(i + '\\n');
}
})();
`;

test('SIGKILL while writing leaves a consistent, reopenable store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'acictl-kill-'));
  try {
    compileStore(dir);
    writeFileSync(join(dir, 'child.js'), CHILD);
    const file = join(dir, 'state.db');
    const child = spawn(NODE, [join(dir, 'child.js'), file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let lastCommitted = -1;
    let buf = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, sig) => res(sig)));
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`child made no progress: ${stderr}`)), 15_000);
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        if (lines.length) lastCommitted = Number(lines[lines.length - 1]);
        if (lastCommitted >= 300) {
          clearTimeout(timer);
          res();
        }
      });
    });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const raw = new DatabaseSync(file);
    expect(raw.prepare('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' });
    raw.close();

    const store = SqliteStore.open(file);
    const jobs = await store.listJobs();
    // everything reported committed is there; at most the in-flight iteration beyond it
    expect(jobs.length).toBeGreaterThanOrEqual(lastCommitted + 1);
    for (const job of jobs) {
      const i = Number(job.name.slice(4));
      // the multi-row transaction is all-or-nothing
      expect((await store.getRun(`${job.name}-r`))?.slot).toBe(i);
      expect((await store.getLog(`${job.name}-r`, 1))[0].content.endsWith(String(i))).toBe(true);
      if (i <= lastCommitted) {
        expect(job.status.lastRunResult).toBe('Succeeded');
        expect((await store.listEvents(job.name)).map((e) => e.message)).toEqual([`ok ${i}`]);
      }
    }
    // the counter covers every stored version and keeps growing after the restart
    const runRvs: number[] = [];
    for (const j of jobs) runRvs.push((await store.getRunResourceVersion(`${j.name}-r`))!);
    const maxRv = Math.max(...jobs.map((j) => j.resourceVersion), ...runRvs);
    expect(await store.currentResourceVersion()).toBe(maxRv);
    expect((await store.putJobStatus('job-0', {}))!.resourceVersion).toBe(maxRv + 1);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
