/** Table rows and object printers for jobs and runs (`-o wide|yaml|json|name` and the default table). */
import type * as Yaml from 'yaml';
import type { JobObject, RunObject } from '../client/resources';
import { toMs } from '../client/resources';
import { age, humanDuration, isoSeconds, until } from './time';

export type OutputFormat = 'table' | 'wide' | 'yaml' | 'json' | 'name';
export const OUTPUT_FORMATS = ['wide', 'yaml', 'json', 'name'];

export const JOB_HEADERS = ['NAME', 'SCHEDULE', 'SUSPEND', 'ACTIVE', 'LAST SCHEDULE', 'LAST RESULT', 'NEXT RUN', 'AGE'];
export const JOB_WIDE_HEADERS = [...JOB_HEADERS, 'TIMEZONE', 'CONCURRENCY', 'GROUP POLICY', 'READY', 'IMAGES'];
export const RUN_HEADERS = ['NAME', 'JOB', 'SLOT', 'ATTEMPT', 'STATE', 'EXIT CODE', 'DURATION', 'GROUP'];
export const RUN_WIDE_HEADERS = [...RUN_HEADERS, 'STARTED', 'FINISHED', 'REASON'];

function bool(b: boolean | undefined): string {
  return b ? 'True' : 'False';
}

export function isSuspended(job: JobObject): boolean {
  return job.status?.suspended ?? job.spec.suspend ?? false;
}

export function jobRow(job: JobObject, now: number, wide: boolean): string[] {
  const st = job.status ?? {};
  const row = [
    job.metadata.name,
    job.spec.schedule ?? '<manual>',
    bool(isSuspended(job)),
    String(st.active?.length ?? 0),
    age(toMs(st.lastScheduleTime), now),
    st.lastRunResult ?? '<none>',
    isSuspended(job) ? '<suspended>' : until(toMs(st.nextScheduleTime), now),
    age(toMs(job.metadata.creationTimestamp), now),
  ];
  if (!wide) return row;
  const ready = st.conditions?.find((c) => c.type === 'Ready');
  return [
    ...row,
    job.spec.timeZone ?? 'UTC',
    job.spec.concurrencyPolicy ?? 'Forbid',
    job.spec.groupPolicy ?? 'PerRun',
    ready ? ready.status : 'Unknown',
    (job.spec.template?.containers ?? []).map((c) => c.image).join(','),
  ];
}

/** The last attempt of a run (the one that decides its state). */
export function lastAttempt(run: RunObject) {
  const attempts = run.status?.attempts ?? [];
  return attempts.length ? attempts.reduce((a, b) => (b.attempt > a.attempt ? b : a)) : undefined;
}

export function runStart(run: RunObject): number | undefined {
  const starts = (run.status?.attempts ?? []).map((a) => toMs(a.startedAt)).filter((x): x is number => x !== undefined);
  return starts.length ? Math.min(...starts) : toMs(run.status?.startedAt);
}

export function runFinish(run: RunObject): number | undefined {
  const last = lastAttempt(run);
  return toMs(run.status?.finishedAt) ?? (isFinished(run) ? toMs(last?.finishedAt) : undefined);
}

export function isFinished(run: RunObject): boolean {
  return run.status?.phase === 'Succeeded' || run.status?.phase === 'Failed';
}

export function runSlot(run: RunObject): string {
  const slot = toMs(run.spec.slot ?? undefined);
  if (run.spec.manual || slot === undefined) return 'manual';
  return isoSeconds(slot);
}

/** When the run was scheduled or requested (for ordering). */
export function runTime(run: RunObject): number {
  return toMs(run.spec.scheduledTime) ?? toMs(run.spec.slot ?? undefined) ?? toMs(run.metadata.creationTimestamp) ?? 0;
}

export function sortRuns(runs: RunObject[]): RunObject[] {
  return [...runs].sort((a, b) => runTime(a) - runTime(b) || a.metadata.name.localeCompare(b.metadata.name));
}

export function runRow(run: RunObject, now: number, wide: boolean): string[] {
  const last = lastAttempt(run);
  const start = runStart(run);
  const finish = runFinish(run);
  const exit = last?.exitCode;
  const row = [
    run.metadata.name,
    run.spec.job,
    runSlot(run),
    last ? String(last.attempt) : '0',
    run.status?.phase ?? 'Pending',
    exit === undefined || exit === null ? '<none>' : String(exit),
    start === undefined ? '<none>' : humanDuration((finish ?? now) - start),
    last?.groupName ?? '<none>',
  ];
  if (!wide) return row;
  return [...row, age(start, now), finish === undefined ? '<none>' : age(finish, now), last?.reason ?? '<none>'];
}

export function toYaml(value: unknown): string {
  // `yaml` is loaded on first use: `get` without -o yaml does not pay for it
  return (require('yaml') as typeof Yaml).stringify(value, { lineWidth: 0 });
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}
