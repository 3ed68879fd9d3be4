/**
 * `acictl diff -f PATH`: a unified YAML diff of live vs desired per job, plus a preview of what the
 * controller would do in ACI. Exit 0 no differences, 1 differences, 2 invalid input, 3 unreachable.
 * Manifests and the API hold secret references only, so no secret value can appear here.
 */
import { Command } from 'commander';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../context';
import type { GlobalOptions } from '../client/discovery';
import { action, addGlobalOptions, apiFailure, connect, examples } from '../common';
import { desiredObject, diffView, planPreview } from '../desired';
import { toYaml } from '../output/printers';
import { unifiedDiff } from '../output/unified-diff';
import { collect, loadInputs } from './apply';

interface DiffOptions extends GlobalOptions {
  filename?: string[];
  recursive?: boolean;
}

/** Exit code of diff for an error (DESIGN §4: >1). */
const DIFF_ERROR = 2;

async function diff(opts: DiffOptions, ctx: CliContext): Promise<void> {
  const input = await loadInputs(opts.filename ?? [], Boolean(opts.recursive), ctx, DIFF_ERROR);
  const api = connect(opts, ctx);
  const plans: string[] = [];
  let differences = 0;
  for (const item of input.jobs) {
    const name = item.job.metadata.name;
    const live = await api.getJob(name);
    const desired = desiredObject(item.job, live, undefined);
    const before = live ? toYaml(diffView(live)) : '';
    const after = toYaml(diffView(desired));
    const text = unifiedDiff(before, after, live ? `live/containerjob/${name}` : '/dev/null', `desired/containerjob/${name}`);
    if (text) {
      differences++;
      ctx.stdout(text);
    }
    const plan = planPreview(name, live?.spec, item.job.spec);
    if (plan) plans.push(plan);
  }
  if (plans.length) {
    ctx.stdout('\nPlanned actions (preview; the controller decides at the next reconcile):\n');
    for (const p of plans) ctx.stdout(`  ${p}\n`);
  }
  ctx.exitCode = differences ? EXIT.NEGATIVE : EXIT.OK;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('diff')
    .description('show what apply would change: a unified YAML diff per job and the planned ACI actions')
    .option('-f, --filename <path>', 'a manifest file, a directory, or - for stdin (repeatable)', collect)
    .option('-R, --recursive', 'read directories recursively')
    .addHelpText(
      'after',
      examples([
        'acictl diff -f manifests/nightly.yaml',
        'acictl diff -f manifests/ -R || echo "changes pending"',
        '',
        'Exit: 0 no differences, 1 differences, 2 invalid input, 3 controller unreachable',
        '(so a CI job on a pull request can tell "would change" from "broken").',
      ]),
    )
    .action(
      action(async (opts: DiffOptions) => {
        try {
          await diff(opts, ctx);
        } catch (err) {
          // Any failure of diff is >1; a negative answer (1) is reserved for "differences".
          const e = apiFailure(err);
          if (e instanceof CliError && e.exitCode === EXIT.NEGATIVE) throw new CliError(e.message, DIFF_ERROR);
          throw e;
        }
      }),
    );
  addGlobalOptions(cmd);
}
