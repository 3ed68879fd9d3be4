/** `as=Table` responses (meta.k8s.io/v1 Table) with CronJob-like printer columns for `kubectl get`. */
import type { RunRecord } from '../api/runs';
import type { StoredJob } from '../store/types';

export interface ColumnDefinition {
  name: string;
  type: 'string' | 'integer' | 'date' | 'number' | 'boolean';
  format: string;
  description: string;
  priority: number;
}

export interface TableRow {
  cells: unknown[];
  object?: unknown;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  columnDefinitions: ColumnDefinition[];
  rows: TableRow[];
}

const col = (name: string, type: ColumnDefinition['type'], description: string, format = '', priority = 0): ColumnDefinition => ({ name, type, format, description, priority });

export const JOB_COLUMNS: ColumnDefinition[] = [
  col('Name', 'string', 'Name of the job.', 'name'),
  col('Schedule', 'string', 'Cron schedule (manual runs only when empty).'),
  col('Suspend', 'boolean', 'Whether new runs are suspended (spec or runtime override).'),
  col('Active', 'integer', 'Runs in progress.'),
  col('Last Schedule', 'string', 'How long ago the last run was scheduled.'),
  col('Next', 'string', 'Time until the next slot.'),
  col('Last Result', 'string', 'Outcome of the last finished run.'),
  col('Age', 'string', 'Time since creation.'),
];

export const RUN_COLUMNS: ColumnDefinition[] = [
  col('Name', 'string', 'Run id.', 'name'),
  col('Job', 'string', 'The ContainerJob.'),
  col('Slot', 'string', 'Scheduled slot (UTC), or "manual".'),
  col('Attempt', 'integer', 'Current attempt number.'),
  col('State', 'string', 'Phase of the run.'),
  col('Exit Code', 'string', 'Exit code of the last attempt.'),
  col('Duration', 'string', 'Time from the first start to the end (or now).'),
];

const NONE = '<none>';

/** Kubernetes' HumanDuration: 45s, 5m10s, 7m, 3h20m, 2d5h, 40d, 2y30d. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    return days === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

function ago(iso: string | undefined, now: number): string {
  if (!iso) return NONE;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? NONE : humanDuration(now - t);
}

function until(iso: string | undefined, now: number): string {
  if (!iso) return NONE;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return NONE;
  return t <= now ? 'due' : humanDuration(t - now);
}

export function jobCells(job: StoredJob, now: number): unknown[] {
  const s = job.status ?? {};
  const suspended = s.suspended ?? job.spec?.suspend ?? false;
  return [
    job.name,
    job.spec?.schedule ?? NONE,
    suspended,
    s.active?.length ?? 0,
    ago(s.lastScheduleTime, now),
    suspended ? NONE : until(s.nextScheduleTime, now),
    s.lastRunResult ?? NONE,
    ago(job.creationTimestamp, now),
  ];
}

export function runCells(run: RunRecord, now: number): unknown[] {
  const last = run.attempts[run.attempts.length - 1];
  const started = run.attempts.map((a) => a.startedAt).find((t): t is number => t !== undefined);
  const end = run.finishedAt ?? (run.phase === 'Succeeded' || run.phase === 'Failed' ? last?.finishedAt : undefined);
  return [
    run.id,
    run.job,
    run.manual || run.slot === null ? 'manual' : new Date(run.slot).toISOString().replace(/\.000Z$/, 'Z'),
    last?.attempt ?? 0,
    run.phase,
    last?.exitCode === undefined || last.exitCode === null ? NONE : String(last.exitCode),
    started === undefined ? NONE : humanDuration((end ?? now) - started),
  ];
}

export function table(columns: ColumnDefinition[], rows: TableRow[], metadata: Table['metadata']): Table {
  return { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata, columnDefinitions: columns, rows };
}

/** The row's embedded object for `includeObject=None|Metadata|Object` (Metadata is the default). */
export function rowObject(obj: { apiVersion: string; kind: string; metadata: Record<string, unknown> } & Record<string, unknown>, include: string | null): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}
