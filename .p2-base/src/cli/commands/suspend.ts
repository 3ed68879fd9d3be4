/** `acictl suspend JOB` / `acictl resume JOB`: the runtime override of spec.suspend. */
import { Command } from 'commander';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../context';
import type { GlobalOptions } from '../client/discovery';
import { ApiError } from '../client/http';
import { action, addGlobalOptions, connect, examples } from '../common';

function registerOne(program: Command, ctx: CliContext, verb: 'suspend' | 'resume'): void {
  const suspended = verb === 'suspend';
  const cmd = program
    .command(verb)
    .description(suspended ? 'stop scheduling new runs of a job (runtime override; running runs continue)' : 'resume scheduling of a suspended job (slots missed while suspended are not run)')
    .argument('<job>', 'job name')
    .addHelpText('after', examples([`acictl ${verb} nightly-report`, `acictl get job nightly-report   # SUSPEND column shows ${suspended ? 'True' : 'False'}`]))
    .action(
      action(async (job: string, opts: GlobalOptions) => {
        const api = connect(opts, ctx);
        try {
          await api.setSuspended(job, suspended);
        } catch (err) {
          if (err instanceof ApiError && err.status === 404) throw new CliError(`containerjob "${job}" not found`, EXIT.NEGATIVE);
          throw err;
        }
        ctx.stdout(`containerjob/${job} ${suspended ? 'suspended' : 'resumed'}\n`);
      }),
    );
  addGlobalOptions(cmd);
}

export function register(program: Command, ctx: CliContext): void {
  registerOne(program, ctx, 'suspend');
  registerOne(program, ctx, 'resume');
}
