/**
 * ValidatorPool: many files go to worker threads (the compiled worker in dist/, built by
 * `npm test`'s pretest), few are validated in place, results are identical either way, and a
 * failing worker loses nothing.
 */
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ValidatorPool, validateForWatcher } from '../../src/manifest/validate-pool';
import { jobYaml } from '../fixtures/job-yaml';

const WORKER = path.join(__dirname, '../../dist/src/manifest/validate-worker.js');

function job(i: number): string {
  return jobYaml(`job-${i}`, { image: `registry.example.com/app:${i}` });
}

/** A mix: valid jobs, schema errors, YAML errors, multi-document files, binary content. */
function corpus(n: number): { file: string; bytes: Buffer }[] {
  return Array.from({ length: n }, (_, i) => {
    const file = `/m/f${i}.yaml`;
    switch (i % 5) {
      case 1:
        return { file, bytes: Buffer.from(job(i).replace('location:', 'locashun:')) };
      case 2:
        return { file, bytes: Buffer.from(`${job(i)}  bad: [unclosed\n`) };
      case 3:
        return { file, bytes: Buffer.from(`${job(i)}---\n${job(i + 100000)}`) };
      case 4:
        return { file, bytes: Buffer.from([0, 1, 2, 255, 0, 7]) };
      default:
        return { file, bytes: Buffer.from(job(i)) };
    }
  });
}

const pools: ValidatorPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});
function pool(opts: ConstructorParameters<typeof ValidatorPool>[0]): ValidatorPool {
  const p = new ValidatorPool(opts);
  pools.push(p);
  return p;
}

test('the compiled worker exists (npm test builds first)', () => {
  expect(existsSync(WORKER)).toBe(true);
});

test('a burst goes to the workers; every result equals in-place validation; release stops them', async () => {
  const p = pool({ workerFile: WORKER, workers: 2, spawnAfter: 0, chunk: 8 });
  expect(p.canUseWorkers).toBe(true);
  const files = corpus(200);
  const results = await Promise.all(files.map((f) => p.validate(f.bytes, f.file)));
  expect(p.stats.inWorkers).toBe(200);
  expect(p.stats.inPlace).toBe(0);
  expect(p.stats.workersStarted).toBe(2);
  results.forEach((r, i) => expect(r).toEqual(validateForWatcher(files[i]!.bytes, files[i]!.file)));
  // the mix really is mixed
  expect(results.filter((r) => r.jobs.length > 0 && r.diagnostics.length === 0).length).toBeGreaterThan(50);
  expect(results.filter((r) => r.diagnostics.some((d) => d.severity !== 'warning')).length).toBeGreaterThan(100);
  p.release();
  expect(p.workers).toBe(0);
});

test('a few files are validated in place, without starting a worker', async () => {
  const p = pool({ workerFile: WORKER, spawnAfter: 64 });
  const files = corpus(5);
  const results = await Promise.all(files.map((f) => p.validate(f.bytes, f.file)));
  expect(p.stats).toEqual({ inWorkers: 0, inPlace: 5, workersStarted: 0 });
  results.forEach((r, i) => expect(r).toEqual(validateForWatcher(files[i]!.bytes, files[i]!.file)));
});

test('workers exit after a quiet spell and start again for the next burst', async () => {
  const p = pool({ workerFile: WORKER, workers: 1, spawnAfter: 0, idleMs: 100 });
  const files = corpus(20);
  await Promise.all(files.map((f) => p.validate(f.bytes, f.file)));
  expect(p.workers).toBe(1);
  await new Promise((r) => setTimeout(r, 400));
  expect(p.workers).toBe(0);
  await Promise.all(files.map((f) => p.validate(f.bytes, f.file)));
  expect(p.stats.workersStarted).toBe(2);
  expect(p.stats.inWorkers).toBe(40);
});

test('a worker that dies loses nothing: its files are validated in place and the pool stops using workers', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'acictl-pool-'));
  try {
    const bad = path.join(dir, 'dies.js');
    writeFileSync(bad, "require('node:worker_threads').parentPort.once('message', () => process.exit(7));\n");
    const failures: string[] = [];
    const p = pool({ workerFile: bad, workers: 2, spawnAfter: 0, onWorkerFailure: (e) => failures.push(e.message) });
    const files = corpus(60);
    const results = await Promise.all(files.map((f) => p.validate(f.bytes, f.file)));
    results.forEach((r, i) => expect(r).toEqual(validateForWatcher(files[i]!.bytes, files[i]!.file)));
    expect(p.stats.inPlace).toBe(60);
    expect(failures).toEqual(['validator worker exited with code 7']);
    expect(p.canUseWorkers).toBe(false);
    // later files go straight to in-place validation
    await p.validate(files[0]!.bytes, files[0]!.file);
    expect(p.stats.inPlace).toBe(61);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without a compiled worker script (running from source) the pool validates in place', async () => {
  const p = pool({ workerFile: path.join(__dirname, '../../src/manifest/validate-worker.ts'), spawnAfter: 0 });
  expect(p.canUseWorkers).toBe(false);
  const f = corpus(1)[0]!;
  expect(await p.validate(f.bytes, f.file)).toEqual(validateForWatcher(f.bytes, f.file));
});
