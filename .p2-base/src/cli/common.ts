/** Glue shared by the client commands: global options, connecting, and the ApiError → exit code edge. */
import { Command, Option } from 'commander';
import { CliContext, CliError } from './context';
import { GlobalOptions, resolveTarget } from './client/discovery';
import { ApiClient, ApiError } from './client/http';
import { AcictlApi } from './client/resources';

/** Adds `--server`, `--token` and `--state-dir` (DESIGN §4) to a client command. */
export function addGlobalOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--server <url>', 'controller API address (env ACICTL_SERVER; default: the local controller of --state-dir)'))
    .addOption(new Option('--token <token>', 'bearer token (env ACICTL_TOKEN; default: from the state dir kubeconfig)'))
    .addOption(new Option('--state-dir <dir>', 'state dir of the local controller (env ACICTL_STATE_DIR)').default(undefined, '.acictl'));
}

export function connect(opts: GlobalOptions, ctx: CliContext): AcictlApi {
  return new AcictlApi(new ApiClient(resolveTarget(opts, ctx.env, ctx.cwd)));
}

/** Turns an API failure into the CLI's one-line message and exit code. */
export function apiFailure(err: unknown, prefix?: string): unknown {
  if (err instanceof ApiError) return new CliError(prefix ? `${prefix}: ${err.detail()}` : err.detail(), err.exitCode());
  return err;
}

/** Wraps a command action so that an ApiError reaching the top becomes a CliError. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      throw apiFailure(err);
    }
  };
}

/** Parses a non-negative integer option (commander calls this with the raw text). */
export function intOption(name: string, min = 0): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) throw new CliError(`${name} must be an integer ≥ ${min}, got "${value}"`, 2);
    return n;
  };
}

/** Kinds and aliases the CLI accepts for jobs and runs (kubectl style). */
export const JOB_KINDS = ['job', 'jobs', 'cj', 'containerjob', 'containerjobs'];
export const RUN_KINDS = ['run', 'runs', 'cjr', 'containerjobrun', 'containerjobruns'];

export function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => (l ? `  ${l}` : '')).join('\n')}\n`;
}
