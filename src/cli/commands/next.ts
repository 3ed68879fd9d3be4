/**
 * `acictl next -f FILE [--count N] [--from TIME]` (DESIGN §4): offline, the upcoming slots of each
 * job in a manifest file, one `JOB SLOT` line each, SLOT in ISO 8601 with the offset of the job's
 * time zone. A job without a schedule prints `JOB manual`; a job whose schedule has no slot left
 * (endTime passed) prints `JOB none`. Slots come from src/schedule, the same function the
 * controller uses, and honour startTime and endTime.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { LineCounter, parseAllDocuments } from 'yaml';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../context';
import { ScheduleError, compileSchedule, formatSlot } from '../../schedule';

const DEFAULT_COUNT = 5;
const MAX_COUNT = 10_000;

/** What `next` needs of a job. */
export interface SlotJob {
  name: string;
  schedule: string | null;
  timeZone: string;
  startTime: number | null;
  endTime: number | null;
}

interface Diagnostic {
  file: string;
  line: number;
  column: number;
  pointer?: string;
  message: string;
  severity?: string;
}

interface LoadResult {
  jobs: SlotJob[];
  /** Formatted diagnostic lines, and whether any of them is an error. */
  messages: string[];
  failed: boolean;
}

interface ValidatorModule {
  validatePaths(paths: string[]): Promise<{ jobs: { resolved: SlotJob }[]; diagnostics: Diagnostic[] }>;
  formatDiagnostic?: (d: Diagnostic) => string;
}

function format(d: Diagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
  return `${where}: ${d.severity ?? 'error'}: ${d.message}${d.pointer ? ` (at ${d.pointer})` : ''}`;
}

/** The manifest validator (src/manifest/validate.ts), when it is there. */
function loadValidator(): ValidatorModule | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require('../../manifest/validate') as Partial<ValidatorModule>;
    return typeof mod.validatePaths === 'function' ? (mod as ValidatorModule) : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && /manifest\/validate/.test((err as Error).message)) return null;
    throw err;
  }
}

async function loadWithValidator(v: ValidatorModule, file: string, shown: string): Promise<LoadResult> {
  const report = await v.validatePaths([file]);
  const fmt = v.formatDiagnostic ?? format;
  const messages = report.diagnostics.map((d) => fmt({ ...d, file: d.file === file ? shown : d.file }));
  const failed = report.diagnostics.some((d) => (d.severity ?? 'error') === 'error');
  return { jobs: report.jobs.map((j) => j.resolved), messages, failed };
}

/** Minimal reader for when the manifest validator is not available: YAML/JSON documents of kind
 *  ContainerJob, with the schedule fields checked by the schedule library. */
async function loadWithYaml(file: string, shown: string): Promise<LoadResult> {
  const messages: string[] = [];
  const err = (line: number, column: number, message: string, pointer?: string) => messages.push(format({ file: shown, line, column, message, pointer }));
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    err(0, 0, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `cannot read: ${(e as Error).message}`);
    return { jobs: [], messages, failed: true };
  }
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, uniqueKeys: true });
  const jobs: SlotJob[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    const pos = lc.linePos(doc.contents?.range?.[0] ?? 0);
    if (doc.errors.length) {
      for (const e of doc.errors) {
        const p = lc.linePos(e.pos[0]);
        err(p.line, p.col, e.message.split('\n')[0]);
      }
      continue;
    }
    const obj = doc.toJS() as unknown;
    if (obj === null || obj === undefined) continue;
    const o = obj as { kind?: unknown; metadata?: { name?: unknown }; spec?: Record<string, unknown> };
    if (o.kind !== 'ContainerJob') {
      err(pos.line, pos.col, `not a ContainerJob (kind: ${JSON.stringify(o.kind)})`, '/kind');
      continue;
    }
    const name = o.metadata?.name;
    if (typeof name !== 'string' || name === '') {
      err(pos.line, pos.col, 'metadata.name is required', '/metadata/name');
      continue;
    }
    const spec = o.spec ?? {};
    const schedule = spec.schedule ?? null;
    const timeZone = spec.timeZone ?? 'UTC';
    const instant = (key: string): number | null | undefined => {
      const v = spec[key];
      if (v === undefined || v === null) return null;
      const ms = v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : NaN;
      if (Number.isNaN(ms)) {
        err(pos.line, pos.col, `spec.${key} is not an ISO 8601 time`, `/spec/${key}`);
        return undefined;
      }
      return ms;
    };
    const startTime = instant('startTime');
    const endTime = instant('endTime');
    if (startTime === undefined || endTime === undefined) continue;
    if (schedule !== null && typeof schedule !== 'string') {
      err(pos.line, pos.col, 'spec.schedule must be a string', '/spec/schedule');
      continue;
    }
    if (typeof timeZone !== 'string') {
      err(pos.line, pos.col, 'spec.timeZone must be a string', '/spec/timeZone');
      continue;
    }
    if (schedule !== null) {
      try {
        compileSchedule(schedule, { timeZone, startTime, endTime });
      } catch (e) {
        if (!(e instanceof ScheduleError)) throw e;
        err(pos.line, pos.col, e.message, '/spec/schedule');
        continue;
      }
    }
    jobs.push({ name, schedule, timeZone, startTime, endTime });
  }
  return { jobs, messages, failed: messages.length > 0 };
}

const ISO = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** `--from`: ISO 8601; a time without an offset, and a bare date, are read as UTC. */
export function parseFrom(text: string): number {
  const m = ISO.exec(text.trim());
  const ms = m ? Date.parse(`${m[1]}T${m[2] ?? '00:00'}${m[3] ? m[3].toUpperCase() : 'Z'}`) : NaN;
  if (Number.isNaN(ms)) throw new CliError(`--from must be an ISO 8601 time such as 2026-03-29T00:00:00Z, got "${text}"`, EXIT.USAGE);
  return ms;
}

export function parseCount(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_COUNT) throw new CliError(`--count must be an integer from 1 to ${MAX_COUNT}, got "${text}"`, EXIT.USAGE);
  return n;
}

/** The `JOB SLOT` lines for jobs, `count` slots each, strictly after `from`. */
export function slotLines(jobs: SlotJob[], from: number, count: number): string[] {
  const lines: string[] = [];
  for (const job of jobs) {
    if (!job.schedule) {
      lines.push(`${job.name} manual`);
      continue;
    }
    const schedule = compileSchedule(job.schedule, { timeZone: job.timeZone, startTime: job.startTime, endTime: job.endTime });
    const slots = schedule.between(from, Number.POSITIVE_INFINITY, count);
    if (slots.length === 0) lines.push(`${job.name} none`);
    for (const s of slots) lines.push(`${job.name} ${formatSlot(s, job.timeZone)}`);
  }
  return lines;
}

interface NextOptions {
  file: string;
  count: string;
  from?: string;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('next')
    .description('offline: the next scheduled slots of each job in a manifest file (JOB SLOT per line)')
    .requiredOption('-f, --file <FILE>', 'manifest file (YAML or JSON, multi-document)')
    .option('--count <N>', 'slots per job', String(DEFAULT_COUNT))
    .option('--from <TIME>', 'list slots after this ISO 8601 time (default: now; no offset = UTC)')
    .addHelpText(
      'after',
      '\nA job without a schedule prints "JOB manual"; a job with no slot left (after its endTime) prints "JOB none".\n' +
        'Slots honour timeZone, startTime and endTime, with the daylight saving rules of classic cron.\n' +
        '\nExamples:\n  acictl next -f manifests/hello.yaml\n  acictl next -f jobs.yaml --count 3 --from 2026-03-28T00:00:00Z\n',
    )
    .action(async (opts: NextOptions) => {
      const count = parseCount(opts.count);
      // The CLI is the edge: the wall clock is read here, never in src/schedule.
      const from = opts.from !== undefined ? parseFrom(opts.from) : Date.now();
      const file = path.resolve(ctx.cwd, opts.file);
      const validator = loadValidator();
      const result = validator ? await loadWithValidator(validator, file, opts.file) : await loadWithYaml(file, opts.file);
      for (const m of result.messages) ctx.stderr(`${m}\n`);
      const lines = slotLines(result.jobs, from, count);
      if (lines.length) ctx.stdout(`${lines.join('\n')}\n`);
      if (result.failed) ctx.exitCode = EXIT.NEGATIVE;
    });
}
