/**
 * What the web UI's pages show, built from the store: job rows (filtered, sorted, one page of
 * them), a job with its run grid, a run with its attempts. The UI's JSON endpoints answer these.
 */
import { isAbsolute, relative } from 'node:path';
import type { RunPhase, RunRecord } from '../api/runs';
import type { Store, StoredEvent, StoredJob } from '../store/types';
import { scheduleInWords } from './schedule-words';

export type JobState = 'Ready' | 'Invalid' | 'NotReady' | 'Deleting';

export interface GridCell {
  /** The run id; absent for a missed slot (no run was made). */
  run?: string;
  /** Missed: no run was made for the slot; Skipped: missed because concurrencyPolicy Forbid held it behind an active run. */
  outcome: RunPhase | 'Missed' | 'Skipped';
  /** Epoch ms of the slot (or of the manual trigger). */
  time: number;
  attempts: number;
  manual?: boolean;
  message?: string;
}

export interface JobRow {
  name: string;
  labels: Record<string, string>;
  schedule: string | null;
  words: string;
  timeZone: string;
  suspended: boolean;
  state: JobState;
  /** Why the job is not Ready (the Invalid condition's FILE:LINE:COL message, or Ready's). */
  reason?: string;
  lastScheduleTime?: string;
  lastRunResult?: string;
  nextScheduleTime?: string;
  source: { kind: 'directory'; file: string; revision?: string } | { kind: 'api'; fieldManager?: string };
  /** Page rows only: the latest run, and the last slots as grid cells (oldest first). */
  lastRun?: { id: string; phase: RunPhase; time: number; startedAt?: number; finishedAt?: number };
  recent?: GridCell[];
}

export interface JobQuery {
  /** Space-separated terms: `key=value` matches a label, anything else a part of the name. */
  q?: string;
  sort?: 'name' | 'next' | 'last' | 'state';
  dir?: 'asc' | 'desc';
  offset?: number;
  limit?: number;
  /** Grid cells per row (default 10). */
  cells?: number;
}

export interface JobPage {
  total: number;
  matched: number;
  offset: number;
  items: JobRow[];
  resourceVersion: number;
}

/** A directory job's file relative to its manifests directory (as the Invalid messages name it). */
function shortFile(root: string, file: string): string {
  if (!isAbsolute(file) || !root) return file;
  const rel = relative(root, file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

function rowOf(job: StoredJob): JobRow {
  const s = job.status ?? {};
  const conditions = s.conditions ?? [];
  const invalid = conditions.find((c) => c.type === 'Invalid' && c.status === 'True');
  const ready = conditions.find((c) => c.type === 'Ready');
  let state: JobState;
  let reason: string | undefined;
  if (job.deletionTimestamp) state = 'Deleting';
  else if (invalid) {
    state = 'Invalid';
    reason = invalid.message;
  } else if (ready?.status === 'True') state = 'Ready';
  else {
    state = 'NotReady';
    reason = ready?.message;
  }
  const spec = job.spec ?? ({} as StoredJob['spec']);
  const row: JobRow = {
    name: job.name,
    labels: job.labels ?? {},
    schedule: spec.schedule ?? null,
    words: scheduleInWords(spec.schedule ?? undefined, spec.timeZone ?? 'UTC'),
    timeZone: spec.timeZone ?? 'UTC',
    suspended: s.suspended ?? spec.suspend ?? false,
    state,
    source:
      job.source.kind === 'directory'
        ? { kind: 'directory', file: shortFile(job.source.root, job.source.file), ...(job.source.revision ?? s.sourceRevision ? { revision: job.source.revision ?? s.sourceRevision } : {}) }
        : { kind: 'api', ...(job.source.fieldManager ? { fieldManager: job.source.fieldManager } : {}) },
  };
  if (reason) row.reason = reason;
  if (s.lastScheduleTime) row.lastScheduleTime = s.lastScheduleTime;
  if (s.lastRunResult) row.lastRunResult = s.lastRunResult;
  if (s.nextScheduleTime && !row.suspended) row.nextScheduleTime = s.nextScheduleTime;
  return row;
}

function matcher(q: string | undefined): (row: JobRow) => boolean {
  const terms = (q ?? '').trim().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return () => true;
  const tests = terms.map((t): ((r: JobRow) => boolean) => {
    const eq = t.indexOf('=');
    if (eq > 0) {
      const k = t.slice(0, eq);
      const v = t.slice(eq + 1);
      return (r) => r.labels[k] === v;
    }
    const part = t.toLowerCase();
    return (r) => r.name.toLowerCase().includes(part);
  });
  return (r) => tests.every((f) => f(r));
}

const STATE_ORDER: Record<JobState, number> = { Invalid: 0, NotReady: 1, Deleting: 2, Ready: 3 };

function comparator(sort: JobQuery['sort'], dir: JobQuery['dir']): (a: JobRow, b: JobRow) => number {
  const sign = dir === 'desc' ? -1 : 1;
  const byName = (a: JobRow, b: JobRow): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  // a missing time sorts last in either direction
  const byTime = (key: 'nextScheduleTime' | 'lastScheduleTime') => (a: JobRow, b: JobRow): number => {
    const x = a[key] ? Date.parse(a[key]!) : NaN;
    const y = b[key] ? Date.parse(b[key]!) : NaN;
    if (Number.isNaN(x) !== Number.isNaN(y)) return Number.isNaN(x) ? 1 : -1;
    return (Number.isNaN(x) ? 0 : sign * (x - y)) || byName(a, b);
  };
  switch (sort) {
    case 'next':
      return byTime('nextScheduleTime');
    case 'last':
      return byTime('lastScheduleTime');
    case 'state':
      return (a, b) => sign * (STATE_ORDER[a.state] - STATE_ORDER[b.state]) || byName(a, b);
    default:
      return (a, b) => sign * byName(a, b);
  }
}

/** Missed slots, from the reconciler's MissedSchedule events ("N slot(s) up to ISO missed (reason)"). */
function missedCells(events: StoredEvent[]): GridCell[] {
  const out: GridCell[] = [];
  for (const e of events) {
    if (e.reason !== 'MissedSchedule') continue;
    const m = /up to (\S+) missed/.exec(e.message);
    const time = m ? Date.parse(m[1]!) : Date.parse(e.time);
    if (Number.isNaN(time)) continue;
    out.push({ outcome: e.message.endsWith('(ConcurrencyForbid)') ? 'Skipped' : 'Missed', time, attempts: 0, message: e.message });
  }
  return out;
}

function cellOf(run: RunRecord): GridCell {
  return { run: run.id, outcome: run.phase, time: run.scheduledTime, attempts: run.attempts.length, ...(run.manual ? { manual: true } : {}) };
}

/** The last `n` slots of a job, oldest first: its runs and its missed slots. */
export async function gridOf(store: Store, job: string, n: number): Promise<GridCell[]> {
  const runs = await store.listRuns(job);
  const events = await store.listEvents(job, 200);
  const cells = [...runs.map(cellOf), ...missedCells(events)];
  cells.sort((a, b) => a.time - b.time || (a.run ?? '').localeCompare(b.run ?? ''));
  return cells.slice(-n);
}

function lastRunOf(runs: RunRecord[]): JobRow['lastRun'] {
  let last: RunRecord | undefined;
  for (const r of runs) if (!last || r.scheduledTime > last.scheduledTime || (r.scheduledTime === last.scheduledTime && r.createdAt > last.createdAt)) last = r;
  if (!last) return undefined;
  const first = last.attempts[0];
  const final = last.attempts[last.attempts.length - 1];
  return {
    id: last.id,
    phase: last.phase,
    time: last.scheduledTime,
    ...(first?.startedAt !== undefined ? { startedAt: first.startedAt } : {}),
    ...(last.finishedAt !== undefined ? { finishedAt: last.finishedAt } : final?.finishedAt !== undefined ? { finishedAt: final.finishedAt } : {}),
  };
}

/**
 * The light rows of every job, kept up to date from the store's change feed: a job that changed is
 * read again on the next request, the others are not (a page of 10,000 jobs costs a filter and a
 * sort, not 10,000 decodes). The first request reads every job once.
 */
export class JobRowIndex {
  private rows: Map<string, JobRow> | undefined;
  private readonly dirty = new Set<string>();
  private readonly unsubscribe: () => void;

  constructor(private readonly store: Store) {
    const offChange = store.onChange((c) => {
      if (c.resource !== 'containerjobs' || !this.rows) return;
      if (c.kind === 'DELETED') {
        this.rows.delete(c.name);
        this.dirty.delete(c.name);
      } else this.dirty.add(c.name);
    });
    // changes were lost (a shared store's pruned change log): the next request reads every job again
    const offResync = store.onResync?.(() => {
      this.rows = undefined;
      this.dirty.clear();
    });
    this.unsubscribe = () => {
      offChange();
      offResync?.();
    };
  }

  close(): void {
    this.unsubscribe();
  }

  /** Every job's row, in no particular order (fresh copies: callers may add to them). */
  async all(): Promise<JobRow[]> {
    if (!this.rows) {
      const rows = new Map<string, JobRow>();
      this.dirty.clear();
      await this.store.forEachJob((job) => {
        rows.set(job.name, rowOf(job));
      });
      this.rows = rows;
    }
    for (const name of [...this.dirty]) {
      this.dirty.delete(name);
      const job = await this.store.getJob(name);
      if (job) this.rows.set(name, rowOf(job));
      else this.rows.delete(name);
    }
    return [...this.rows.values()].map((r) => ({ ...r }));
  }
}

/** One page of job rows; the page's rows carry their latest run and grid cells. */
export async function listJobRows(store: Store, query: JobQuery, index?: JobRowIndex): Promise<JobPage> {
  const resourceVersion = await store.currentResourceVersion();
  const matches = matcher(query.q);
  let all: JobRow[];
  if (index) all = await index.all();
  else {
    all = [];
    await store.forEachJob((job) => {
      all.push(rowOf(job));
    });
  }
  const total = all.length;
  const rows = all.filter(matches);
  rows.sort(comparator(query.sort, query.dir));
  const offset = Math.max(0, Math.min(query.offset ?? 0, rows.length));
  const limit = Math.max(1, Math.min(query.limit ?? 50, 500));
  const items = rows.slice(offset, offset + limit);
  const cells = Math.max(1, Math.min(query.cells ?? 10, 100));
  for (const row of items) {
    const runs = await store.listRuns(row.name);
    const last = lastRunOf(runs);
    if (last) row.lastRun = last;
    const events = await store.listEvents(row.name, 50);
    const allCells = [...runs.map(cellOf), ...missedCells(events)].sort((a, b) => a.time - b.time);
    row.recent = allCells.slice(-cells);
  }
  return { total, matched: rows.length, offset, items, resourceVersion };
}

export interface JobDetail extends JobRow {
  resourceVersion: number;
  readOnly?: string;
  grid: GridCell[];
  events: { time: string; type: string; reason: string; message: string; run?: string }[];
  spec: StoredJob['spec'];
}

export async function jobDetail(store: Store, name: string, cells: number): Promise<JobDetail | undefined> {
  const job = await store.getJob(name);
  if (!job) return undefined;
  const row = rowOf(job);
  const state = await store.getSchedulerState(name);
  // the runtime override shows at once, before the reconciler has written status
  if (state && state.suspendOverride !== null && state.suspendOverride !== undefined) row.suspended = state.suspendOverride;
  if (row.suspended) delete row.nextScheduleTime;
  const runs = await store.listRuns(name);
  const last = lastRunOf(runs);
  if (last) row.lastRun = last;
  const events = (await store.listEvents(name, 20)).map((e) => ({ time: e.time, type: e.type, reason: e.reason, message: e.message, ...(e.run ? { run: e.run } : {}) }));
  const detail: JobDetail = {
    ...row,
    resourceVersion: job.resourceVersion,
    grid: await gridOf(store, name, cells),
    events,
    spec: job.spec,
  };
  if (job.source.kind === 'directory') {
    detail.readOnly = `defined in the manifests directory by ${job.source.file}: change that file to edit it (run now, suspend and resume still work)`;
  }
  return detail;
}

export interface RunDetail {
  id: string;
  job: string;
  phase: RunPhase;
  manual: boolean;
  scheduledTime: number;
  dataIntervalStart: number;
  dataIntervalEnd: number;
  createdAt: number;
  finishedAt?: number;
  nextAttemptAt?: number;
  attempts: { attempt: number; groupName: string; phase: string; createdAt: number; startedAt?: number; finishedAt?: number; exitCode?: number | null; reason?: string; message?: string; logsArchived: boolean }[];
}

export async function runDetail(store: Store, id: string): Promise<RunDetail | undefined> {
  const run = await store.getRun(id);
  if (!run) return undefined;
  return {
    id: run.id,
    job: run.job,
    phase: run.phase,
    manual: run.manual,
    scheduledTime: run.scheduledTime,
    dataIntervalStart: run.dataIntervalStart,
    dataIntervalEnd: run.dataIntervalEnd,
    createdAt: run.createdAt,
    ...(run.finishedAt !== undefined ? { finishedAt: run.finishedAt } : {}),
    ...(run.nextAttemptAt !== undefined ? { nextAttemptAt: run.nextAttemptAt } : {}),
    attempts: run.attempts.map((a) => ({
      attempt: a.attempt,
      groupName: a.groupName,
      phase: a.phase,
      createdAt: a.createdAt,
      ...(a.startedAt !== undefined ? { startedAt: a.startedAt } : {}),
      ...(a.finishedAt !== undefined ? { finishedAt: a.finishedAt } : {}),
      ...(a.exitCode !== undefined ? { exitCode: a.exitCode } : {}),
      ...(a.reason ? { reason: a.reason } : {}),
      ...(a.message ? { message: a.message } : {}),
      logsArchived: a.logsArchived,
    })),
  };
}
