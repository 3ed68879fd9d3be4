/**
 * The operator's verbs: `acictl backfill JOB --from T1 --to T2 [--max-active N] [--dry-run] [--rerun]`,
 * `acictl clear RUN...` / `acictl clear JOB --failed --from T1 --to T2`, and `acictl runs cancel RUN...`.
 * Thin clients of the API verbs in src/apiserver/operator.ts.
 */
import { Command } from 'commander';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../context';
import type { GlobalOptions } from '../client/discovery';
import { ApiError } from '../client/http';
import { action, addGlobalOptions, connect, examples, intOption } from '../common';

const ISO = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** ISO 8601; a time without an offset, and a bare date, are read as UTC. */
export function parseTime(flag: string, text: string): string {
  const m = ISO.exec(text.trim());
  const ms = m ? Date.parse(`${m[1]}T${m[2] ?? '00:00'}${m[3] ? m[3].toUpperCase() : 'Z'}`) : NaN;
  if (Number.isNaN(ms)) throw new CliError(`${flag} must be an ISO 8601 time such as 2026-03-01 or 2026-03-29T00:00:00Z, got "${text}"`, EXIT.USAGE);
  return new Date(ms).toISOString();
}

function notFound(err: unknown, what: string): unknown {
  if (err instanceof ApiError && err.status === 404) return new CliError(`${what} not found`, EXIT.NEGATIVE);
  return err;
}

function registerBackfill(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('backfill')
    .description('run every slot of a job between two instants (inclusive); slots already run are skipped unless --rerun')
    .argument('<job>', 'job name')
    .requiredOption('--from <TIME>', 'first instant (ISO 8601; no offset = UTC)')
    .requiredOption('--to <TIME>', 'last instant, inclusive (clipped at now)')
    .option('--max-active <N>', 'most runs of the backfill at once (concurrencyPolicy Allow; Forbid/Replace run one at a time)', intOption('--max-active', 1), 1)
    .option('--dry-run', 'print the slots and what would happen to each; change nothing')
    .option('--rerun', 're-run slots that already ran (as a new attempt of the same run)')
    .addHelpText('after', examples(['acictl backfill nightly-etl --from 2026-03-01 --to 2026-03-30 --max-active 3', 'acictl backfill nightly-etl --from 2026-03-01 --to 2026-03-30 --dry-run']))
    .action(
      action(async (job: string, opts: GlobalOptions & { from: string; to: string; maxActive: number; dryRun?: boolean; rerun?: boolean }) => {
        const from = parseTime('--from', opts.from);
        const to = parseTime('--to', opts.to);
        const api = connect(opts, ctx);
        let res;
        try {
          res = await api.backfill(job, { from, to, maxActive: opts.maxActive, rerun: Boolean(opts.rerun), dryRun: Boolean(opts.dryRun) });
        } catch (err) {
          throw notFound(err, `containerjob "${job}"`);
        }
        for (const s of res.slots) ctx.stdout(`${s.run}\t${s.slot}\t${s.action}${s.phase ? ` (${s.phase})` : ''}\n`);
        const count = (a: string) => res.slots.filter((s) => s.action === a).length;
        const summary = `${res.slots.length} slot(s): ${count('run')} to run, ${count('rerun')} to re-run, ${count('skip')} skipped; at most ${res.maxActive} active`;
        ctx.stdout(res.dryRun ? `backfill of containerjob/${job} (dry run): ${summary}\n` : `backfill/${res.id} of containerjob/${job} accepted: ${summary}\n`);
      }),
    );
  addGlobalOptions(cmd);
}

function registerClear(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('clear')
    .description('re-run finished runs as a new attempt under the same run name (with --failed: the failed runs of a job in a range)')
    .argument('<names...>', 'run names (or, with --failed, one job name)')
    .option('--failed', 'clear every Failed run of the job whose slot is in [--from, --to]')
    .option('--from <TIME>', 'with --failed: first slot (ISO 8601; default: any)')
    .option('--to <TIME>', 'with --failed: last slot, inclusive (default: any)')
    .addHelpText('after', examples(['acictl clear nightly-etl-202603050200', 'acictl clear nightly-etl --failed --from 2026-03-01 --to 2026-03-30']))
    .action(
      action(async (names: string[], opts: GlobalOptions & { failed?: boolean; from?: string; to?: string }) => {
        const api = connect(opts, ctx);
        let runs = names;
        if (opts.failed) {
          if (names.length !== 1) throw new CliError('with --failed, name exactly one job', EXIT.USAGE);
          const from = opts.from ? Date.parse(parseTime('--from', opts.from)) : -Infinity;
          const to = opts.to ? Date.parse(parseTime('--to', opts.to)) : Infinity;
          if ((await api.getJob(names[0])) === undefined) throw new CliError(`containerjob "${names[0]}" not found`, EXIT.NEGATIVE);
          const list = await api.listRuns(names[0]);
          runs = list.items
            .filter((r) => r.status?.phase === 'Failed')
            .filter((r) => {
              const t = typeof r.spec.scheduledTime === 'number' ? r.spec.scheduledTime : Date.parse(String(r.spec.scheduledTime));
              return t >= from && t <= to;
            })
            .map((r) => r.metadata.name)
            .sort();
          if (runs.length === 0) ctx.stdout(`no failed runs of containerjob/${names[0]} in the range\n`);
        } else if (opts.from || opts.to) {
          throw new CliError('--from/--to go with --failed', EXIT.USAGE);
        }
        for (const run of runs) {
          try {
            await api.runVerb(run, 'clear');
          } catch (err) {
            throw notFound(err, `containerjobrun "${run}"`);
          }
          ctx.stdout(`containerjobrun/${run} cleared\n`);
        }
      }),
    );
  addGlobalOptions(cmd);
}

function registerRuns(program: Command, ctx: CliContext): void {
  const runs = program.command('runs').description('act on runs (see also: acictl get runs)');
  const cmd = runs
    .command('cancel')
    .description('stop a run\'s running attempt, delete its container group and mark the run Failed (Cancelled)')
    .argument('<runs...>', 'run names')
    .addHelpText('after', examples(['acictl runs cancel nightly-etl-202603050200']))
    .action(
      action(async (names: string[], opts: GlobalOptions) => {
        const api = connect(opts, ctx);
        for (const run of names) {
          try {
            await api.runVerb(run, 'cancel');
          } catch (err) {
            throw notFound(err, `containerjobrun "${run}"`);
          }
          ctx.stdout(`containerjobrun/${run} cancelled\n`);
        }
      }),
    );
  addGlobalOptions(cmd);
}

export function register(program: Command, ctx: CliContext): void {
  registerBackfill(program, ctx);
  registerClear(program, ctx);
  registerRuns(program, ctx);
}
