/**
 * The start-up summary of `acictl controller` (issue 20): once every source is loaded and every
 * job reconciled once, what a newcomer needs to see — each job with its state (Ready, Invalid,
 * Suspended, with the reason) and its next run in absolute and relative time, files that define no
 * job because they do not validate, where the API and the kubeconfig are, and two commands to try.
 * Pure: the controller passes the jobs and the clock's time in; the CLI prints the result
 * (`formatSummaryBlock` on a terminal, `summaryRecords` as one JSON log line each otherwise).
 */
import { compileSchedule } from '../schedule';
import type { StoredJob } from '../store/types';

export type SummaryState = 'Ready' | 'Invalid' | 'Suspended' | 'Pending' | 'Deleting';

export interface SummaryJob {
  job: string;
  state: SummaryState;
  /** Why the job is not simply Ready (Invalid, Suspended, Pending, Deleting). */
  reason?: string;
  /** The next scheduled run (ISO 8601, UTC), null when there is none. */
  nextRun: string | null;
  /** `2026-12-03 00:00 UTC (in 2h15m)`, or why there is no next run. */
  next: string;
  /** The manifest file of a directory job. */
  file?: string;
}

export interface SummaryFileError {
  file: string;
  line: number;
  column: number;
  message: string;
}

export interface StartupSummary {
  jobs: SummaryJob[];
  /** Files with errors that define no job at all (a job with an invalid file is listed as Invalid). */
  invalidFiles: SummaryFileError[];
  apiUrl: string;
  httpsUrl?: string;
  kubeconfig: string;
  /** The web UI's login link (a single-use code), when the UI is served. */
  uiLoginUrl?: string;
  /** Two commands to try next. */
  tryNext: string[];
}

export interface SummaryInput {
  jobs: readonly StoredJob[];
  /** Error diagnostics of the latest manifest snapshot. */
  sourceErrors: readonly SummaryFileError[];
  now: number;
  apiUrl: string;
  httpsUrl?: string;
  kubeconfig: string;
  uiLoginUrl?: string;
}

/** `2h15m`, `5m10s`, `45s`, `3d4h`: the two largest units. */
export function relativeTime(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
}

/** `2026-12-03 00:00 UTC`, with seconds when they are not zero (`*\/30 * * * * *` jobs). */
export function absoluteTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  const secs = iso.slice(17, 19);
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}${secs === '00' ? '' : `:${secs}`} UTC`;
}

/** `2026-12-03 00:00 UTC (in 2h15m)`. */
export function whenText(ms: number, now: number): string {
  return `${absoluteTime(ms)} (${ms <= now ? 'due now' : `in ${relativeTime(ms - now)}`})`;
}

function condition(job: StoredJob, type: string): { status: string; reason?: string; message?: string } | undefined {
  return job.status?.conditions?.find((c) => c.type === type);
}

/** The slot a suspended job would run at next if resumed (null without a usable schedule). */
function nextIfResumed(job: StoredJob, now: number): number | null {
  const spec = job.spec;
  if (!spec?.schedule) return null;
  try {
    const at = (v: unknown): number | null => (typeof v === 'string' ? Date.parse(v) : typeof v === 'number' ? v : null);
    return compileSchedule(spec.schedule, { timeZone: spec.timeZone ?? 'UTC', startTime: at(spec.startTime), endTime: at(spec.endTime) }).next(now);
  } catch {
    return null;
  }
}

export function summarizeJob(job: StoredJob, now: number): SummaryJob {
  const file = job.source.kind === 'directory' ? job.source.file : undefined;
  const base = { job: job.name, ...(file ? { file } : {}) };
  const invalid = condition(job, 'Invalid');
  const ready = condition(job, 'Ready');
  const nextIso = job.status?.nextScheduleTime;
  const nextMs = nextIso ? Date.parse(nextIso) : NaN;
  if (job.deletionTimestamp) return { ...base, state: 'Deleting', reason: 'deleted; its container groups are being cleaned up', nextRun: null, next: 'none (being deleted)' };
  if (invalid?.status === 'True') {
    // the last good spec keeps running on its schedule (DESIGN §7.3)
    const reason = `${invalid.reason ?? 'Invalid'}: ${invalid.message ?? ''}`.replace(/: $/, '');
    if (!Number.isNaN(nextMs)) return { ...base, state: 'Invalid', reason, nextRun: new Date(nextMs).toISOString(), next: `${whenText(nextMs, now)}, with the last valid spec` };
    return { ...base, state: 'Invalid', reason, nextRun: null, next: 'none' };
  }
  const suspended = job.status?.suspended ?? job.spec?.suspend ?? false;
  if (suspended) {
    const reason = job.spec?.suspend
      ? `spec.suspend is true${file ? ` in ${file}` : ''}`
      : `suspended at run time (npx acictl resume ${job.name})`;
    const would = nextIfResumed(job, now);
    return { ...base, state: 'Suspended', reason, nextRun: null, next: would === null ? 'none while suspended' : `none while suspended (would be ${absoluteTime(would)})` };
  }
  let next: string;
  let nextRun: string | null = null;
  if (!Number.isNaN(nextMs)) {
    nextRun = new Date(nextMs).toISOString();
    next = whenText(nextMs, now);
  } else if (!job.spec?.schedule) next = `manual runs only (npx acictl run ${job.name})`;
  else next = 'none: the schedule has no further slots';
  if (ready?.status === 'True') return { ...base, state: 'Ready', nextRun, next };
  return { ...base, state: 'Pending', reason: ready?.message ?? 'not reconciled yet', nextRun, next };
}

export function buildStartupSummary(i: SummaryInput): StartupSummary {
  const jobs = [...i.jobs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((j) => summarizeJob(j, i.now));
  const jobFiles = new Set(jobs.map((j) => j.file).filter((f): f is string => f !== undefined));
  const seen = new Set<string>();
  const invalidFiles = i.sourceErrors.filter((e) => {
    if (jobFiles.has(e.file) || seen.has(e.file)) return false; // one line per file: its first error
    seen.add(e.file);
    return true;
  });
  const pick = jobs.find((j) => j.state === 'Ready') ?? jobs.find((j) => j.state !== 'Deleting');
  const tryNext = pick
    ? [`npx acictl run ${pick.job}`, `npx acictl logs ${pick.job}`]
    : ['npx acictl get jobs', 'npx acictl apply -f my-job.yaml'];
  return { jobs, invalidFiles, apiUrl: i.apiUrl, ...(i.httpsUrl ? { httpsUrl: i.httpsUrl } : {}), kubeconfig: i.kubeconfig, ...(i.uiLoginUrl ? { uiLoginUrl: i.uiLoginUrl } : {}), tryNext };
}

/** How many jobs the terminal block lists before "… and N more". */
export const BLOCK_JOB_LIMIT = 30;

/** The summary as one block for a terminal. */
export function formatSummaryBlock(s: StartupSummary, opts: { path?: (file: string) => string } = {}): string {
  const show = opts.path ?? ((f: string) => f);
  const shown = s.jobs.slice(0, BLOCK_JOB_LIMIT).map((j) => (j.file && j.reason ? { ...j, reason: j.reason.split(j.file).join(show(j.file)) } : j));
  const nameW = Math.max(3, ...shown.map((j) => j.job.length));
  const stateW = Math.max(5, ...shown.map((j) => j.state.length));
  const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
  const states = (['Ready', 'Invalid', 'Suspended', 'Pending', 'Deleting'] as const)
    .map((st) => [st, s.jobs.filter((j) => j.state === st).length] as const)
    .filter(([, n]) => n > 0)
    .map(([st, n]) => `${n} ${st}`);
  const lines: string[] = [''];
  lines.push(`acictl controller is up: ${count(s.jobs.length, 'job')}${states.length ? ` (${states.join(', ')})` : ''}`);
  if (shown.length > 0) {
    lines.push(`  ${'JOB'.padEnd(nameW)}  ${'STATE'.padEnd(stateW)}  NEXT RUN`);
    for (const j of shown) {
      lines.push(`  ${j.job.padEnd(nameW)}  ${j.state.padEnd(stateW)}  ${j.next}`);
      if (j.reason) lines.push(`  ${' '.repeat(nameW)}  ${' '.repeat(stateW)}  ↳ ${j.reason}`);
    }
    if (s.jobs.length > shown.length) lines.push(`  … and ${s.jobs.length - shown.length} more: npx acictl get jobs`);
  } else {
    lines.push('  no jobs yet: add manifests to a watched directory, or npx acictl apply -f FILE');
  }
  for (const f of s.invalidFiles) lines.push(`  invalid file, no job: ${show(f.file)}:${f.line}:${f.column}: ${f.message}`);
  lines.push(`  API         ${s.apiUrl}${s.httpsUrl ? `  (kubectl: ${s.httpsUrl})` : ''}`);
  lines.push(`  kubeconfig  ${show(s.kubeconfig)}   (KUBECONFIG=${show(s.kubeconfig)} kubectl get cj)`);
  if (s.uiLoginUrl) lines.push(`  web UI      ${s.uiLoginUrl}`);
  lines.push(`  try next    ${s.tryNext[0]}`);
  for (const c of s.tryNext.slice(1)) lines.push(`              ${c}`);
  lines.push('');
  return lines.join('\n');
}

/** One record per job, then one for the invalid files and one for the API (JSON log lines). */
export function summaryRecords(s: StartupSummary): { fields: Record<string, unknown>; msg: string }[] {
  const out: { fields: Record<string, unknown>; msg: string }[] = s.jobs.map((j) => ({
    fields: { summary: 'job', job: j.job, state: j.state, ...(j.reason ? { reason: j.reason } : {}), nextRun: j.nextRun, ...(j.file ? { file: j.file } : {}) },
    msg: `${j.job}: ${j.state}${j.reason ? ` (${j.reason})` : ''}; next run ${j.next}`,
  }));
  for (const f of s.invalidFiles) out.push({ fields: { summary: 'invalid-file', file: f.file, line: f.line, column: f.column }, msg: `${f.file}:${f.line}:${f.column}: ${f.message} (no job from this file)` });
  out.push({
    fields: { summary: 'api', url: s.apiUrl, ...(s.httpsUrl ? { httpsUrl: s.httpsUrl } : {}), kubeconfig: s.kubeconfig, ...(s.uiLoginUrl ? { ui: s.uiLoginUrl } : {}), tryNext: s.tryNext, jobs: s.jobs.length },
    msg: `ready: ${s.jobs.length} job${s.jobs.length === 1 ? '' : 's'}; API ${s.apiUrl}, KUBECONFIG=${s.kubeconfig}; try: ${s.tryNext.join(' ; ')}`,
  });
  return out;
}
