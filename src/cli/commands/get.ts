/** `acictl get jobs|runs [NAME]`: tables, wide tables, YAML, JSON, names; `--watch` for live updates. */
import { Command, Option } from 'commander';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../context';
import type { GlobalOptions } from '../client/discovery';
import type { AcictlApi, JobObject, ListObject, RunObject, WatchEvent } from '../client/resources';
import { LABEL_JOB } from '../client/resources';
import { SOURCE_KINDS, getSources } from './sources';
import { LEASE_KINDS, getLeases } from './leases';
import { JOB_KINDS, RUN_KINDS, action, addGlobalOptions, connect, examples } from '../common';
import { columnWidths, formatRow, formatTable } from '../output/table';
import { DELETED_MARKER, WatchRows } from '../output/watch-rows';
import { JOB_HEADERS, JOB_WIDE_HEADERS, OUTPUT_FORMATS, RUN_HEADERS, RUN_WIDE_HEADERS, jobRow, runRow, sortRuns, toJson, toYaml } from '../output/printers';

interface GetOptions extends GlobalOptions {
  output?: string;
  selector?: string;
  watch?: boolean;
}

type Kind = 'job' | 'run';

interface Printer<T> {
  headers: string[];
  row(obj: T, now: number): string[];
  listKind: string;
  namePrefix: string;
}

function printerFor(kind: Kind, wide: boolean): Printer<JobObject> | Printer<RunObject> {
  return kind === 'job'
    ? { headers: wide ? JOB_WIDE_HEADERS : JOB_HEADERS, row: (o: JobObject, now: number) => jobRow(o, now, wide), listKind: 'ContainerJobList', namePrefix: 'containerjob' }
    : { headers: wide ? RUN_WIDE_HEADERS : RUN_HEADERS, row: (o: RunObject, now: number) => runRow(o, now, wide), listKind: 'ContainerJobRunList', namePrefix: 'containerjobrun' };
}

function printObjects<T extends JobObject | RunObject>(ctx: CliContext, kind: Kind, format: string, items: T[], single: boolean, resourceVersion?: string): number[] {
  const p = printerFor(kind, format === 'wide') as Printer<T>;
  const now = Date.now();
  switch (format) {
    case 'json':
      ctx.stdout(toJson(single ? items[0] : { apiVersion: 'acictl.dev/v1', kind: p.listKind, metadata: { resourceVersion }, items }));
      return [];
    case 'yaml':
      ctx.stdout(toYaml(single ? items[0] : { apiVersion: 'acictl.dev/v1', kind: p.listKind, metadata: { resourceVersion }, items }));
      return [];
    case 'name':
      for (const o of items) ctx.stdout(`${p.namePrefix}/${o.metadata.name}\n`);
      return [];
    default: {
      const rows = items.map((o) => p.row(o, now));
      if (rows.length === 0) {
        ctx.stderr('No resources found.\n');
        return columnWidths(p.headers, []);
      }
      ctx.stdout(formatTable(p.headers, rows));
      return columnWidths(p.headers, rows);
    }
  }
}

function notFound(kind: Kind, name: string): CliError {
  return new CliError(`${kind === 'job' ? 'containerjob' : 'containerjobrun'} "${name}" not found`, EXIT.NEGATIVE);
}

async function watchAndPrint<T extends JobObject | RunObject>(
  api: AcictlApi,
  ctx: CliContext,
  kind: Kind,
  format: string,
  widths: number[],
  filter: { labelSelector?: string; name?: string; resourceVersion?: string },
  listed: readonly T[],
): Promise<void> {
  const abort = new AbortController();
  void ctx.shutdown.then(() => abort.abort());
  const p = printerFor(kind, format === 'wide') as Printer<T>;
  // rows are compared as shown at one fixed instant, so a running run's growing duration is no change
  const fixedNow = Date.now();
  const rows = new WatchRows<T>((o) => p.row(o, fixedNow).join('\u0000'));
  rows.seed(listed);
  try {
    const events = api.watch<T>(kind === 'job' ? 'containerjobs' : 'containerjobruns', { labelSelector: filter.labelSelector, resourceVersion: filter.resourceVersion, signal: abort.signal });
    for await (const ev of events as AsyncIterable<WatchEvent<T>>) {
      if (ev.type === 'BOOKMARK') continue;
      if (ev.type === 'ERROR') {
        const status = ev.object as unknown as { message?: string; code?: number };
        throw new CliError(`watch ended by the server: ${status.message ?? 'error'}${status.code ? ` (${status.code})` : ''}`, EXIT.UNREACHABLE);
      }
      if (filter.name && ev.object.metadata.name !== filter.name) continue;
      const verdict = rows.next(ev.type, ev.object);
      switch (format) {
        case 'json':
          ctx.stdout(toJson(ev.object));
          break;
        case 'yaml':
          ctx.stdout(`---\n${toYaml(ev.object)}`);
          break;
        case 'name':
          ctx.stdout(`${p.namePrefix}/${ev.object.metadata.name}${verdict === 'deleted' ? ` ${DELETED_MARKER}` : ''}\n`);
          break;
        default: {
          if (verdict === 'unchanged') break;
          const line = formatRow(p.row(ev.object, Date.now()), widths);
          ctx.stdout(verdict === 'deleted' ? `${line.replace(/\n$/, '')}   ${DELETED_MARKER}\n` : line);
        }
      }
    }
  } catch (err) {
    if (abort.signal.aborted) return;
    throw err;
  } finally {
    abort.abort();
  }
}

async function get(resource: string, name: string | undefined, opts: GetOptions, ctx: CliContext): Promise<void> {
  const r = resource.toLowerCase();
  if (SOURCE_KINDS.includes(r)) return getSources(connect(opts, ctx), ctx, name, opts.output ?? 'table');
  if (LEASE_KINDS.includes(r)) return getLeases(connect(opts, ctx), ctx, name, opts.output ?? 'table');
  const kind: Kind | undefined = JOB_KINDS.includes(r) ? 'job' : RUN_KINDS.includes(r) ? 'run' : undefined;
  if (!kind) throw new CliError(`unknown resource type "${resource}"; use jobs (job, cj), runs (run, cjr), sources or leases`, EXIT.USAGE);
  const format = opts.output ?? 'table';
  const api = connect(opts, ctx);

  if (kind === 'job') {
    if (name) {
      const job = await api.getJob(name);
      if (!job) throw notFound('job', name);
      const widths = printObjects(ctx, 'job', format, [job], true);
      if (opts.watch) await watchAndPrint<JobObject>(api, ctx, 'job', format, widths, { name, resourceVersion: job.metadata.resourceVersion }, [job]);
      return;
    }
    const list = await api.listJobs(opts.selector);
    const items = [...list.items].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    const widths = printObjects(ctx, 'job', format, items, false, list.metadata?.resourceVersion);
    if (opts.watch) await watchAndPrint<JobObject>(api, ctx, 'job', format, widths, { labelSelector: opts.selector, resourceVersion: list.metadata?.resourceVersion }, items);
    return;
  }

  // Runs. `get run NAME` is one run; `get runs JOB` lists the runs of a job (and, for kubectl
  // habits, falls back to the run called NAME when there is no such job).
  let jobFilter: string | undefined;
  if (name) {
    const singular = r === 'run' || r === 'containerjobrun';
    const job = singular ? undefined : await api.getJob(name);
    if (!job) {
      const run = await api.getRun(name);
      if (!run) throw singular ? notFound('run', name) : new CliError(`no containerjob or containerjobrun named "${name}"`, EXIT.NEGATIVE);
      const widths = printObjects(ctx, 'run', format, [run], true);
      if (opts.watch) await watchAndPrint<RunObject>(api, ctx, 'run', format, widths, { name, resourceVersion: run.metadata.resourceVersion }, [run]);
      return;
    }
    jobFilter = name;
  }
  const list: ListObject<RunObject> = await api.listRuns(jobFilter, opts.selector);
  // Guard against a server that ignores the selector: filter by the job label client-side too.
  const items = sortRuns(list.items.filter((run) => !jobFilter || run.spec.job === jobFilter || run.metadata.labels?.[LABEL_JOB] === jobFilter));
  const widths = printObjects(ctx, 'run', format, items, false, list.metadata?.resourceVersion);
  if (opts.watch) {
    const labelSelector = [jobFilter ? `${LABEL_JOB}=${jobFilter}` : undefined, opts.selector].filter(Boolean).join(',') || undefined;
    await watchAndPrint<RunObject>(api, ctx, 'run', format, widths, { labelSelector, resourceVersion: list.metadata?.resourceVersion }, items);
  }
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('get')
    .description('list jobs or runs (aligned tables, or -o wide|yaml|json|name)')
    .argument('<resource>', 'jobs (job, cj), runs (run, cjr), sources (src) or leases (lease)')
    .argument('[name]', 'a job name (runs: the job whose runs to list; run: one run)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS))
    .option('-l, --selector <selector>', 'label selector, e.g. team=data,tier!=batch')
    .option('-w, --watch', 'after listing, print a line for every change until interrupted')
    .addHelpText(
      'after',
      examples([
        'acictl get jobs                      # all jobs as a table',
        'acictl get jobs -o wide -l team=data # more columns, only jobs labelled team=data',
        'acictl get job nightly-report -o yaml',
        'acictl get runs nightly-report       # the runs of one job',
        'acictl get run nightly-report-202611240200 -o json',
        'acictl get runs --watch              # follow run state changes',
        'acictl get jobs -o name              # containerjob/NAME per line, for scripts',
        'acictl get sources                   # manifest directories and --git sources: applied revision, last fetch',
        'acictl get leases                    # replicas on PostgreSQL: lease holder, fencing token, renew time',
      ]),
    )
    .action(action(async (resource: string, name: string | undefined, opts: GetOptions) => get(resource, name, opts, ctx)));
  addGlobalOptions(cmd);
}
