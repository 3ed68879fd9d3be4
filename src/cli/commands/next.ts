/**
 * `acictl next -f FILE [--count N] [--from TIME]` (DESIGN §4): offline, the upcoming slots of each
 * job in a manifest file, one `JOB SLOT` line each, SLOT in ISO 8601 with the offset of the job's
 * time zone. A job without a schedule prints `JOB manual`; a job whose schedule has no slot left
 * (endTime passed) prints `JOB none`. Slots come from src/schedule, the same function the
 * controller uses, and honour startTime and endTime.
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../context';
import type * as Schedule from '../../schedule';

const DEFAULT_COUNT = 5;
const MAX_COUNT = 10_000;

/** What `next` needs of a job (a subset of ResolvedJob), and where it is written. */
export interface SlotJob {
  name: string;
  schedule: string | null;
  timeZone: string;
  startTime: number | null;
  endTime: number | null;
  /** FILE:LINE:COL of the job's document, for a schedule the library rejects. */
  where?: string;
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

/** The `JOB SLOT` lines for jobs, `count` slots each, strictly after `from`, and the errors of
 *  jobs whose schedule the library rejects. */
export function slotLines(jobs: SlotJob[], from: number, count: number): { lines: string[]; errors: string[] } {
  const { ScheduleError, compileSchedule, formatSlot } = require('../../schedule') as typeof Schedule; // loaded on use (croner)
  const lines: string[] = [];
  const errors: string[] = [];
  for (const job of jobs) {
    if (!job.schedule) {
      lines.push(`${job.name} manual`);
      continue;
    }
    let slots: number[];
    try {
      const schedule = compileSchedule(job.schedule, { timeZone: job.timeZone, startTime: job.startTime, endTime: job.endTime });
      slots = schedule.between(from, Number.POSITIVE_INFINITY, count);
    } catch (err) {
      if (!(err instanceof ScheduleError)) throw err;
      errors.push(`${job.where ?? job.name}: error: ${err.message} (at /spec/schedule)`);
      continue;
    }
    if (slots.length === 0) lines.push(`${job.name} none`);
    for (const s of slots) lines.push(`${job.name} ${formatSlot(s, job.timeZone)}`);
  }
  return { lines, errors };
}

/** A path as the user would recognise it: relative to the working directory when inside it. */
function shown(file: string, cwd: string): string {
  if (!path.isAbsolute(file)) return file;
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
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
    .requiredOption('-f, --file <FILE>', 'manifest file (YAML or JSON, multi-document), a directory, or - for stdin')
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
      const file = opts.file === '-' ? '-' : path.resolve(ctx.cwd, opts.file);
      const { formatDiagnostic, stdinReader, validatePaths } = await import('../../manifest/validate');
      const report = await validatePaths([file], { stdin: stdinReader(ctx.stdin) });
      for (const d of report.diagnostics) ctx.stderr(`${formatDiagnostic({ ...d, file: shown(d.file, ctx.cwd) })}\n`);
      const jobs: SlotJob[] = report.jobs.map((j) => ({ ...j.resolved, where: `${shown(j.file, ctx.cwd)}:${j.line}:${j.column}` }));
      const { lines, errors } = slotLines(jobs, from, count);
      for (const e of errors) ctx.stderr(`${e}\n`);
      if (lines.length) ctx.stdout(`${lines.join('\n')}\n`);
      if (errors.length || report.diagnostics.some((d) => d.severity === 'error')) ctx.exitCode = EXIT.NEGATIVE;
    });
}
