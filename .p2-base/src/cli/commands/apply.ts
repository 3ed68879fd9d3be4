/**
 * `acictl apply -f PATH|- [-R] [--dry-run] [--prune [--applyset NAME]]`: validate locally, then
 * create or replace each job (GET, then POST or PUT with the live resourceVersion), and with
 * `--prune` delete the jobs of the same apply set that are no longer in the input.
 */
import { Command } from 'commander';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../context';
import type { GlobalOptions } from '../client/discovery';
import { ApiError } from '../client/http';
import type { AcictlApi, JobObject } from '../client/resources';
import { LABEL_APPLYSET, directorySource } from '../client/resources';
import { action, addGlobalOptions, connect, examples } from '../common';
import { desiredObject, isUnchanged } from '../desired';
import type { InputJob, InputResult } from '../manifest-input';

interface ApplyOptions extends GlobalOptions {
  filename?: string[];
  recursive?: boolean;
  dryRun?: boolean;
  prune?: boolean;
  applyset?: string;
}

export const DEFAULT_APPLYSET = 'default';
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const MAX_CONFLICT_RETRIES = 3;

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Reads and validates `-f` inputs; prints diagnostics; throws (exit `invalidExit`) when any is invalid. */
export async function loadInputs(files: string[], recursive: boolean, ctx: CliContext, invalidExit: number): Promise<InputResult> {
  if (!files.length) throw new CliError('no input: pass -f FILE, -f DIR or -f - (stdin)', EXIT.USAGE);
  // Loaded on use: the validator (ajv, schema) is the heaviest import and only -f needs it.
  const { readManifests } = await import('../manifest-input');
  const input = await readManifests(files, { recursive }, ctx);
  for (const w of input.warnings) ctx.stderr(`${w}\n`);
  if (input.errors.length) {
    for (const e of input.errors) ctx.stderr(`${e}\n`);
    throw new CliError(`${input.errors.length} error(s) in the input; nothing was sent to the controller`, invalidExit);
  }
  return input;
}

type Outcome = 'created' | 'configured' | 'unchanged';

async function applyOne(api: AcictlApi, item: InputJob, applySet: string | undefined, dryRun: boolean): Promise<Outcome> {
  const name = item.job.metadata.name;
  for (let attempt = 1; ; attempt++) {
    const live = await api.getJob(name);
    if (live?.metadata.deletionTimestamp) {
      throw new CliError(`containerjob/${name} is being deleted (the controller is cleaning up its container groups); apply again when it is gone`, EXIT.NEGATIVE);
    }
    const dirFile = directorySource(live);
    if (dirFile) {
      throw new CliError(`containerjob/${name} comes from the manifests directory file ${dirFile} and cannot be changed through the API; edit that file instead`, EXIT.NEGATIVE);
    }
    const desired = desiredObject(item.job, live, applySet);
    try {
      if (!live) {
        await api.createJob(desired, dryRun);
        return 'created';
      }
      if (isUnchanged(desired, live)) return 'unchanged';
      await api.replaceJob(desired, dryRun);
      return 'configured';
    } catch (err) {
      // A 409 is a lost race (the controller updated status, or someone created the job meanwhile):
      // re-read and try again. A job from a manifests directory refuses every time and ends here.
      if (err instanceof ApiError && err.status === 409 && attempt < MAX_CONFLICT_RETRIES && !/director|read-only|manifest/i.test(err.message)) continue;
      throw err;
    }
  }
}

async function prune(api: AcictlApi, ctx: CliContext, applySet: string, keep: Set<string>, dryRun: boolean, suffix: string): Promise<number> {
  const members = await api.listJobs(`${LABEL_APPLYSET}=${applySet}`);
  let failures = 0;
  const gone = members.items
    // Jobs of a manifests directory are never pruned, even when their manifest carries the set label.
    .filter((j: JobObject) => j.metadata.labels?.[LABEL_APPLYSET] === applySet && !keep.has(j.metadata.name) && !j.metadata.deletionTimestamp && !directorySource(j))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  for (const job of gone) {
    try {
      await api.deleteJob(job.metadata.name, dryRun);
      ctx.stdout(`containerjob/${job.metadata.name} pruned${suffix}\n`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) continue;
      if (err instanceof ApiError && (err.status === 403 || err.status === 409)) {
        // Jobs from a manifests directory are never pruned through the API.
        ctx.stderr(`acictl: containerjob/${job.metadata.name} not pruned: ${err.detail()}\n`);
        continue;
      }
      failures++;
      ctx.stderr(`acictl: containerjob/${job.metadata.name}: prune failed: ${err instanceof ApiError ? err.detail() : (err as Error).message}\n`);
      if (!(err instanceof ApiError)) throw err;
    }
  }
  return failures;
}

async function apply(opts: ApplyOptions, ctx: CliContext): Promise<void> {
  const applySet = opts.applyset ?? (opts.prune ? DEFAULT_APPLYSET : undefined);
  if (applySet !== undefined && !LABEL_VALUE.test(applySet)) {
    throw new CliError(`--applyset "${applySet}" is not a valid label value (letters, digits, - _ . ; at most 63)`, EXIT.USAGE);
  }
  const input = await loadInputs(opts.filename ?? [], Boolean(opts.recursive), ctx, EXIT.NEGATIVE);
  if (opts.prune && input.jobs.length === 0) {
    throw new CliError(`refusing to prune: the input has no jobs, which would delete every job of apply set "${applySet}"; use "acictl delete" to remove them`, EXIT.NEGATIVE);
  }
  const api = connect(opts, ctx);
  const dryRun = Boolean(opts.dryRun);
  const suffix = dryRun ? ' (server dry run)' : '';
  let failures = 0;
  for (const item of input.jobs) {
    const name = item.job.metadata.name;
    try {
      const outcome = await applyOne(api, item, applySet, dryRun);
      ctx.stdout(`containerjob/${name} ${outcome}${suffix}\n`);
    } catch (err) {
      if (!(err instanceof ApiError) && !(err instanceof CliError && err.exitCode === EXIT.NEGATIVE)) throw err;
      failures++;
      const why = err instanceof ApiError ? err.detail() : err.message;
      ctx.stderr(`${item.file}:${item.line}:${item.column}: error: containerjob/${name} was not applied: ${why}\n`);
      if (err instanceof ApiError && err.status >= 500) ctx.exitCode = EXIT.UNREACHABLE;
    }
  }
  if (opts.prune && applySet) {
    if (failures) {
      ctx.stderr(`acictl: not pruning apply set "${applySet}" because ${failures} job(s) failed to apply\n`);
    } else {
      failures += await prune(api, ctx, applySet, new Set(input.jobs.map((j) => j.job.metadata.name)), dryRun, suffix);
    }
  }
  if (failures && ctx.exitCode === EXIT.OK) ctx.exitCode = EXIT.NEGATIVE;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('apply')
    .description('create or update jobs from manifests (files, directories, or - for stdin)')
    .option('-f, --filename <path>', 'a manifest file, a directory, or - for stdin (repeatable)', collect)
    .option('-R, --recursive', 'read directories recursively')
    .option('--dry-run', 'validate and plan on the server without storing anything')
    .option('--prune', 'delete jobs of the apply set that are no longer in the input')
    .option('--applyset <name>', `name of the apply set (the acictl.dev/applyset label; default with --prune: "${DEFAULT_APPLYSET}")`)
    .addHelpText(
      'after',
      examples([
        'acictl apply -f manifests/nightly.yaml',
        'acictl apply -f manifests/ -R                       # every .yaml/.yml/.json below the directory',
        'cat job.yaml | acictl apply -f -',
        'acictl apply -f jobs/ --dry-run                     # validated by the server, nothing stored',
        'acictl apply -f team-a/ --prune --applyset team-a   # also delete team-a jobs no longer in team-a/',
        '',
        'Output: one line per job, "containerjob/NAME created|configured|unchanged|pruned".',
        'Exit: 0 all applied, 1 invalid input or a job was refused, 3 controller unreachable.',
      ]),
    )
    .action(action(async (opts: ApplyOptions) => apply(opts, ctx)));
  addGlobalOptions(cmd);
}
