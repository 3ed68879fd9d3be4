/** `acictl delete job NAME...` / `acictl delete -f PATH`: remove desired state (the controller cleans up groups). */
import { Command } from 'commander';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../context';
import type { GlobalOptions } from '../client/discovery';
import { ApiError } from '../client/http';
import { JOB_KINDS, action, addGlobalOptions, connect, examples } from '../common';
import { collect, loadInputs } from './apply';

interface DeleteOptions extends GlobalOptions {
  filename?: string[];
  recursive?: boolean;
  dryRun?: boolean;
  ignoreNotFound?: boolean;
}

async function del(resource: string | undefined, names: string[], opts: DeleteOptions, ctx: CliContext): Promise<void> {
  let targets: string[];
  if (opts.filename?.length) {
    if (resource) throw new CliError('pass either -f PATH or "job NAME", not both', EXIT.USAGE);
    const input = await loadInputs(opts.filename ?? [], Boolean(opts.recursive), ctx, EXIT.NEGATIVE);
    targets = input.jobs.map((j) => j.job.metadata.name);
  } else {
    if (!resource) throw new CliError('nothing to delete: pass "job NAME" or -f PATH', EXIT.USAGE);
    if (!JOB_KINDS.includes(resource.toLowerCase())) {
      throw new CliError(`cannot delete "${resource}": only jobs (job, cj) can be deleted; runs are removed with their job's history limits`, EXIT.USAGE);
    }
    if (!names.length) throw new CliError('which job? pass "job NAME"', EXIT.USAGE);
    targets = names;
  }
  const api = connect(opts, ctx);
  const suffix = opts.dryRun ? ' (server dry run)' : '';
  let failures = 0;
  for (const name of targets) {
    try {
      await api.deleteJob(name, Boolean(opts.dryRun));
      ctx.stdout(`containerjob/${name} deleted${suffix}\n`);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.status === 404) {
        if (opts.ignoreNotFound) continue;
        ctx.stderr(`acictl: containerjob "${name}" not found\n`);
      } else {
        ctx.stderr(`acictl: containerjob/${name} not deleted: ${err.detail()}\n`);
      }
      failures++;
      if (err.status >= 500) ctx.exitCode = EXIT.UNREACHABLE;
    }
  }
  if (failures && ctx.exitCode === EXIT.OK) ctx.exitCode = EXIT.NEGATIVE;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('delete')
    .description('delete jobs by name or by manifest (their container groups are cleaned up by the controller)')
    .argument('[resource]', 'job (job, cj)')
    .argument('[names...]', 'job names')
    .option('-f, --filename <path>', 'delete the jobs named in these manifests (repeatable; - for stdin)', collect)
    .option('-R, --recursive', 'read directories recursively')
    .option('--dry-run', 'check on the server without deleting')
    .option('--ignore-not-found', 'treat a missing job as deleted (exit 0)')
    .addHelpText(
      'after',
      examples([
        'acictl delete job nightly-report',
        'acictl delete job a b c --ignore-not-found',
        'acictl delete -f manifests/nightly.yaml',
        '',
        'Jobs from a manifests directory cannot be deleted through the API: remove the file instead.',
      ]),
    )
    .action(action(async (resource: string | undefined, names: string[], opts: DeleteOptions) => del(resource, names, opts, ctx)));
  addGlobalOptions(cmd);
}
