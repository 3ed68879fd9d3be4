/**
 * Worker-thread side of ValidatorPool (validate-pool.ts): validates batches of manifest files and
 * posts back, per file, what the manifest watcher keeps (jobs with their positions, diagnostics).
 * The defaulted copy of each job (`resolved`) is not sent: the watcher does not keep it.
 */
import { parentPort } from 'node:worker_threads';
import { validateBytes } from './validate';
import type { PoolRequest, PoolResponse, PoolResult } from './validate-pool';

function validateOne(bytes: Uint8Array, file: string): PoolResult {
  try {
    const r = validateBytes(bytes, file, { cache: false });
    return { jobs: r.jobs.map((j) => ({ job: j.job, file: j.file, line: j.line, column: j.column })), diagnostics: r.diagnostics };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

parentPort?.on('message', (req: PoolRequest) => {
  const results = req.items.map((it) => validateOne(it.bytes, it.file));
  const res: PoolResponse = { id: req.id, results };
  parentPort!.postMessage(res);
});
