/**
 * Benchmark: validation throughput. Generates N job documents of 20 lines (default 10,000, one per
 * file) into a temporary directory, then measures documents per second of
 *   - baseline: read every file + `yaml.parseAllDocuments` (nothing else),
 *   - validatePaths, cold cache: read + parse + schema + semantic checks + defaults,
 *   - validatePaths, warm cache: the same files again (what the controller pays on a re-scan),
 * plus the same comparison in memory (validateText vs parseAllDocuments on the same texts, no I/O),
 * and prints the ratio cold / baseline (target ≥ 0.8), on CPU time (wall-clock figures are reported too).
 *
 *   npm run build && npx node dist/bench/validate.js [documents] [documentsPerFile]
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ValidationCache, validatePaths, validateText } from '../src/manifest/validate';
import { expandPaths } from '../src/manifest/read-files';

export interface ValidateBenchOptions {
  documents?: number;
  documentsPerFile?: number;
  /** Timed repetitions of each measurement; the median is reported. */
  repeat?: number;
  log?: (line: string) => void;
}

const SCHEDULES = ['@daily', '0 2 * * *', '*/15 * * * *', '30 4 * * 1-5', '0 */6 * * *', '0 0 1 * *'];
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo'];

/** One 20-line ContainerJob document. */
export function documentText(i: number): string {
  return [
    'apiVersion: acictl.dev/v1',
    'kind: ContainerJob',
    'metadata:',
    `  name: bench-job-${i}`,
    `  labels: {team: team-${i % 17}}`,
    'spec:',
    `  schedule: "${SCHEDULES[i % SCHEDULES.length]}"`,
    `  timeZone: ${ZONES[i % ZONES.length]}`,
    `  retries: ${i % 3}`,
    '  retryDelay: 1m',
    `  timeout: ${1 + (i % 5)}h`,
    '  template:',
    '    resourceGroup: bench-rg',
    '    location: East US',
    '    containers:',
    `      - name: main`,
    `        image: registry.example.com/bench/app:${i % 100}`,
    `        command: ["/bin/sh", "-c", "echo job ${i}"]`,
    `        environmentVariables: [{name: RUN_INDEX, value: "${i}"}]`,
    `        resources: {requests: {cpu: 0.5, memoryInGB: 1}}`,
  ].join('\n') + '\n';
}

function generate(dir: string, documents: number, perFile: number): void {
  mkdirSync(dir, { recursive: true });
  for (let f = 0, i = 0; i < documents; f++) {
    const parts: string[] = [];
    for (let k = 0; k < perFile && i < documents; k++, i++) parts.push(documentText(i));
    // 100 files per sub-directory, like a real tree.
    const sub = join(dir, `d${Math.floor(f / 100)}`);
    if (f % 100 === 0) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `job-${f}.yaml`), parts.join('---\n'));
  }
}

async function baseline(dir: string): Promise<number> {
  const { files } = await expandPaths([dir]);
  let docs = 0;
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const text = await readFile(files[next++], 'utf8');
      docs += parseAllDocuments(text).length;
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  return docs;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Wall time and CPU time (user + system, all threads) of one run. The ratio is computed on CPU
 * time: on a shared machine wall time mostly measures the neighbours.
 */
async function timed(fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const c = process.cpuUsage();
  const t = performance.now();
  await fn();
  const used = process.cpuUsage(c);
  return { wall: performance.now() - t, cpu: (used.user + used.system) / 1000 };
}

export async function run(opts: ValidateBenchOptions = {}): Promise<Record<string, number | string>> {
  const documents = opts.documents ?? 10_000;
  const perFile = opts.documentsPerFile ?? 1;
  const repeat = opts.repeat ?? 5;
  const log = opts.log ?? (() => undefined);
  const root = mkdtempSync(join(tmpdir(), 'acictl-bench-validate-'));
  try {
    const dir = join(root, 'manifests');
    generate(dir, documents, perFile);
    // Warm up the JIT, ajv's compiled validator and the file system cache on a small set.
    const warm = join(root, 'warm');
    generate(warm, Math.min(500, documents), perFile);
    await baseline(warm);
    await validatePaths([warm], { cache: false });
    await baseline(dir);

    const base: Array<{ wall: number; cpu: number }> = [];
    const cold: Array<{ wall: number; cpu: number }> = [];
    const warmRuns: Array<{ wall: number; cpu: number }> = [];
    let validJobs = 0;
    let errors = 0;
    for (let r = 0; r < repeat; r++) {
      base.push(await timed(() => baseline(dir)));
      const cache = new ValidationCache();
      cold.push(
        await timed(async () => {
          const report = await validatePaths([dir], { cache });
          validJobs = report.jobs.length;
          errors = report.diagnostics.filter((d) => d.severity === 'error').length;
        }),
      );
      warmRuns.push(await timed(() => validatePaths([dir], { cache })));
    }
    // In memory, without any file I/O: what validation adds to parsing alone.
    const texts: string[] = [];
    for (let i = 0; i < documents; i += perFile) {
      const parts: string[] = [];
      for (let k = 0; k < perFile && i + k < documents; k++) parts.push(documentText(i + k));
      texts.push(parts.join('---\n'));
    }
    const memParse: Array<{ wall: number; cpu: number }> = [];
    const memValidate: Array<{ wall: number; cpu: number }> = [];
    for (let r = 0; r < repeat; r++) {
      memParse.push(await timed(async () => texts.forEach((t) => parseAllDocuments(t))));
      memValidate.push(await timed(async () => texts.forEach((t, i) => validateText(t, `m${i}.yaml`, { cache: false }))));
    }
    if (validJobs !== documents || errors !== 0) throw new Error(`expected ${documents} valid jobs, got ${validJobs} and ${errors} errors`);
    const rate = (ms: number) => Math.round((documents / ms) * 1000);
    const cpu = (xs: Array<{ cpu: number }>) => median(xs.map((x) => x.cpu));
    const wall = (xs: Array<{ wall: number }>) => median(xs.map((x) => x.wall));
    const result = {
      documents,
      documentsPerFile: perFile,
      files: Math.ceil(documents / perFile),
      yamlParseDocsPerSec: rate(cpu(base)),
      validateColdDocsPerSec: rate(cpu(cold)),
      validateWarmDocsPerSec: rate(cpu(warmRuns)),
      ratioColdToYamlParse: Math.round((cpu(base) / cpu(cold)) * 100) / 100,
      wallYamlParseDocsPerSec: rate(wall(base)),
      wallValidateColdDocsPerSec: rate(wall(cold)),
      wallRatioColdToYamlParse: Math.round((wall(base) / wall(cold)) * 100) / 100,
      inMemoryYamlParseDocsPerSec: rate(cpu(memParse)),
      inMemoryValidateTextDocsPerSec: rate(cpu(memValidate)),
      inMemoryRatio: Math.round((cpu(memParse) / cpu(memValidate)) * 100) / 100,
      target: '>= 0.8',
    };
    log(
      `validate: ${documents} documents in ${result.files} files: yaml parse ${result.yamlParseDocsPerSec}/s, ` +
        `validatePaths ${result.validateColdDocsPerSec}/s cold, ${result.validateWarmDocsPerSec}/s warm (CPU time); ratio ${result.ratioColdToYamlParse} (target >= 0.8); in memory without I/O ${result.inMemoryRatio}`,
    );
    return result;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const [documents, perFile] = process.argv.slice(2).map(Number);
  run({ documents: documents || undefined, documentsPerFile: perFile || undefined, log: (l) => console.log(l) }).then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
