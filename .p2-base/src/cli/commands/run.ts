/** `acictl run JOB`: trigger a manual run now; prints the run name (for `RUN=$(acictl run JOB)`). */
import { Command } from 'commander';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../context';
import type { GlobalOptions } from '../client/discovery';
import { ApiError } from '../client/http';
import { action, addGlobalOptions, connect, examples } from '../common';

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('run')
    .description('start a manual run of a job now and print its run name')
    .argument('<job>', 'job name')
    .addHelpText(
      'after',
      examples([
        'acictl run nightly-report',
        'RUN=$(acictl run nightly-report) && acictl logs nightly-report --run "$RUN" -f',
      ]),
    )
    .action(
      action(async (job: string, opts: GlobalOptions) => {
        const api = connect(opts, ctx);
        try {
          const res = await api.trigger(job);
          ctx.stdout(`${res.run}\n`);
        } catch (err) {
          if (err instanceof ApiError && err.status === 404) throw new CliError(`containerjob "${job}" not found`, EXIT.NEGATIVE);
          throw err;
        }
      }),
    );
  addGlobalOptions(cmd);
}
