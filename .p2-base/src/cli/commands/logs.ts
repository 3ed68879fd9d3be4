/** `acictl logs JOB [--run RUN] [--attempt N] [-f] [--tail N]`: archived or live logs of a run. */
import { Command } from 'commander';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../context';
import type { GlobalOptions } from '../client/discovery';
import { ApiError } from '../client/http';
import { action, addGlobalOptions, connect, examples, intOption } from '../common';
import { sortRuns } from '../output/printers';

interface LogsOptions extends GlobalOptions {
  run?: string;
  attempt?: number;
  follow?: boolean;
  tail?: number;
}

/** The last `n` lines of a text (a trailing newline kept). */
export function tailLines(text: string, n: number): string {
  if (n <= 0) return '';
  const lines = text.split('\n');
  const trailing = lines[lines.length - 1] === '';
  if (trailing) lines.pop();
  return lines.slice(-n).join('\n') + (trailing ? '\n' : '');
}

async function logs(job: string, opts: LogsOptions, ctx: CliContext): Promise<void> {
  const api = connect(opts, ctx);
  let run = opts.run;
  if (!run) {
    const runs = sortRuns((await api.listRuns(job)).items.filter((r) => r.spec.job === job));
    if (!runs.length) {
      const exists = await api.getJob(job);
      throw new CliError(exists ? `containerjob "${job}" has no runs yet (start one with "acictl run ${job}")` : `containerjob "${job}" not found`, EXIT.NEGATIVE);
    }
    run = runs[runs.length - 1].metadata.name;
  }
  const abort = new AbortController();
  void ctx.shutdown.then(() => abort.abort());
  let chunks: AsyncIterable<string>;
  try {
    chunks = await api.logs(run, { attempt: opts.attempt, follow: Boolean(opts.follow), tail: opts.tail, signal: abort.signal });
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      throw new CliError(`no logs for ${opts.attempt ? `attempt ${opts.attempt} of ` : ''}containerjobrun "${run}"${err.message ? ` (${err.message})` : ''}`, EXIT.NEGATIVE);
    }
    throw err;
  }
  try {
    if (opts.follow || opts.tail === undefined) {
      for await (const chunk of chunks) ctx.stdout(chunk);
    } else {
      // The server applies tail too; cutting again here keeps the promise for an older server.
      let text = '';
      for await (const chunk of chunks) text += chunk;
      ctx.stdout(tailLines(text, opts.tail));
    }
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  } finally {
    abort.abort();
  }
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('logs')
    .description('print the logs of a run (default: the latest run of the job); -f follows a running attempt until it ends')
    .argument('<job>', 'job name')
    .option('--run <run>', 'run name (default: the latest run of the job)')
    .option('--attempt <n>', 'only this attempt (default: every attempt of the run, in order)', intOption('--attempt', 1))
    .option('-f, --follow', 'stream new lines as they are written; ends when the attempt ends')
    .option('--tail <n>', 'only the last N lines', intOption('--tail', 0))
    .addHelpText(
      'after',
      examples([
        'acictl logs nightly-report                 # the latest run (all its attempts)',
        'acictl logs nightly-report -f              # follow it live',
        'acictl logs nightly-report --run nightly-report-202611240200 --attempt 1',
        'acictl logs nightly-report --tail 20',
      ]),
    )
    .action(action(async (job: string, opts: LogsOptions) => logs(job, opts, ctx)));
  addGlobalOptions(cmd);
}
