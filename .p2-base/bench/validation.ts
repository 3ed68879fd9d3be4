/**
 * Benchmark 6 — validation throughput: documents per second through `acictl validate`'s path
 * (validatePaths: read + parse + schema + positions + semantic checks + defaults) against the `yaml`
 * parser alone on the same files. The measurement itself is bench/validate.ts; this module only
 * gives it the common entry point (`--json`, key=value options) used by run-all.
 *
 *   npx node dist/bench/validation.js [documents=10000] [documentsPerFile=1]
 */
import { main, type BenchResult } from './lib/common';
import { run as runValidate } from './validate';

export async function run(opts: { documents?: number; documentsPerFile?: number; repeat?: number } = {}): Promise<BenchResult> {
  return runValidate({ documents: opts.documents, documentsPerFile: opts.documentsPerFile, repeat: opts.repeat, log: (l) => process.stderr.write(`  ${l}\n`) });
}

if (require.main === module) main(run);
