/** Builders for planner inputs, and a one-line rendering of actions for readable expectations. */
import { resolveJob } from '../../src/api/defaults';
import { TAG_ATTEMPT, TAG_JOB, TAG_MANAGED_BY, TAG_RUN, TAG_SPEC_HASH } from '../../src/api/names';
import type { ObservedContainer, ObservedGroup } from '../../src/api/observed';
import { newSchedulerState, type AttemptRecord, type RunRecord, type SchedulerState } from '../../src/api/runs';
import type { ContainerJobSpec, ResolvedJob } from '../../src/api/types';
import { scheduleKey, type Action, type PlanInput } from '../../src/plan';
import { compileSchedule } from '../../src/schedule';

export const SUB = 'sub-0';
export const HASH = 'h1';

/** An instant on 2026-01-10 (UTC) from `HH:MM[:SS[.mmm]]`, or a full ISO string. */
export function T(hms: string): number {
  return hms.includes('T') ? Date.parse(hms) : Date.parse(`2026-01-10T${hms.length === 5 ? `${hms}:00` : hms}Z`);
}

export function fmt(ms: number): string {
  const iso = new Date(ms).toISOString();
  const day = iso.slice(0, 10);
  const time = iso.slice(11, 23).replace(/\.000$/, '');
  return day === '2026-01-10' ? time : iso.replace('.000Z', 'Z');
}

export function job(over: Partial<ContainerJobSpec> = {}, name = 'j'): ResolvedJob {
  return resolveJob({
    apiVersion: 'acictl.dev/v1',
    kind: 'ContainerJob',
    metadata: { name },
    spec: {
      schedule: '0 * * * *',
      template: {
        resourceGroup: 'rg1',
        location: 'eastus',
        containers: [{ name: 'main', image: 'img:1', resources: { requests: { cpu: 1, memoryInGB: 1 } } }],
      },
      ...over,
    },
  });
}

export function state(j: ResolvedJob, over: Partial<SchedulerState> = {}): SchedulerState {
  return { ...newSchedulerState(T('09:00'), scheduleKey(j)), ...over };
}

export function attempt(runId: string, n: number, over: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    attempt: n,
    groupName: n <= 1 ? runId : `${runId}-a${n}`,
    phase: 'Running',
    createdAt: T('09:00'),
    startedAt: T('09:00'),
    logsArchived: false,
    groupDeleted: false,
    specHash: HASH,
    subscriptionId: SUB,
    resourceGroup: 'rg1',
    ...over,
  };
}

export function run(id: string, scheduled: string, over: Partial<RunRecord> = {}): RunRecord {
  const t = T(scheduled);
  return {
    id,
    job: 'j',
    slot: over.manual ? null : t,
    manual: false,
    scheduledTime: t,
    dataIntervalStart: t - 3_600_000,
    dataIntervalEnd: t,
    phase: 'Running',
    attempts: [],
    createdAt: t,
    ...over,
  };
}

export interface GroupOpts {
  run?: string;
  attempt?: number;
  hash?: string;
  state?: ObservedGroup['state'];
  provisioningState?: string;
  containers?: Partial<ObservedContainer>[];
  events?: ObservedGroup['events'];
  job?: string;
}

export function group(name: string, o: GroupOpts = {}): ObservedGroup {
  const g: ObservedGroup = {
    subscriptionId: SUB,
    resourceGroup: 'rg1',
    name,
    location: 'eastus',
    tags: {
      [TAG_MANAGED_BY]: 'ctl',
      [TAG_JOB]: o.job ?? 'j',
      [TAG_RUN]: o.run ?? name,
      [TAG_ATTEMPT]: String(o.attempt ?? 1),
      [TAG_SPEC_HASH]: o.hash ?? HASH,
    },
    provisioningState: o.provisioningState ?? 'Succeeded',
  };
  if (o.state !== undefined) {
    g.state = o.state;
    g.containers = (o.containers ?? [{}]).map((c) => ({ name: 'main', state: 'Running', restartCount: 0, ...c }));
    g.events = o.events ?? [];
  } else if (o.events) {
    g.events = o.events;
  }
  return g;
}

export interface Scenario {
  name: string;
  /** Spec overrides; null = the job is gone. */
  job?: Partial<ContainerJobSpec> | null;
  /** State overrides; null = never seen. */
  state?: Partial<SchedulerState> | null;
  runs?: RunRecord[];
  observed?: ObservedGroup[];
  reuseChange?: 'inPlace' | 'recreate';
  now: string;
  expect: string[];
  /** Expected wakeAt (fmt) or null; omitted = not checked. */
  wake?: string | null;
  upstream?: PlanInput['upstream'];
  retainRunsAfter?: number;
}

export function inputOf(s: Scenario): PlanInput {
  const j = s.job === null ? null : job(s.job ?? {});
  const st = s.state === null ? null : state(j ?? job(), s.state ?? {});
  return {
    jobName: 'j',
    job: j,
    schedule: j?.schedule ? compileSchedule(j.schedule, { timeZone: j.timeZone, startTime: j.startTime, endTime: j.endTime }) : null,
    state: st,
    runs: s.runs ?? [],
    observed: s.observed ?? [],
    desiredSpecHash: j ? HASH : null,
    reuseChange: s.reuseChange,
    defaultSubscriptionId: SUB,
    now: T(s.now),
    ...(s.upstream ? { upstream: s.upstream } : {}),
    ...(s.retainRunsAfter !== undefined ? { retainRunsAfter: s.retainRunsAfter } : {}),
  };
}

/** One line per action: the golden format of the planner tables. */
export function render(a: Action): string {
  switch (a.type) {
    case 'initState':
      return `initState ${fmt(a.anchor)}`;
    case 'reanchor':
      return `reanchor ${a.reason} ${fmt(a.anchor)} missed=${a.missed}`;
    case 'setSuspended':
      return `setSuspended ${fmt(a.since)}`;
    case 'advanceAnchor':
      return `advanceAnchor ${fmt(a.anchor)}`;
    case 'recordMissed':
      return `missed ${fmt(a.slot)} x${a.count} ${a.reason}`;
    case 'startRun':
      return `startRun ${a.runId}${a.manual ? ' manual' : ''}${a.backfill ? ` backfill=${a.backfill}` : ''}${a.hold ? ` ${a.hold.phase} ${a.hold.reason}` : ''}`;
    case 'holdRun':
      return `hold ${a.runId} ${a.phase} ${a.reason}`;
    case 'releaseRun':
      return `release ${a.runId}`;
    case 'clearRun':
      return `clear ${a.runId} base=${a.attemptBase}${a.backfill ? ` backfill=${a.backfill}` : ''}`;
    case 'consumeRequest':
      return `consume ${a.kind} ${a.runId}${a.note ? ` (${a.note})` : ''}`;
    case 'advanceBackfill':
      return `advanceBackfill ${a.id} cursor=${a.cursor}`;
    case 'endBackfill':
      return `endBackfill ${a.id}`;
    case 'launchAttempt':
      return `launch ${a.runId}#${a.attempt} ${a.mode} ${a.ref.name}${a.recover ? ' recover' : ''}`;
    case 'observe':
      return `observe ${a.runId}#${a.attempt}`;
    case 'stopGroup':
      return `stop ${a.ref.name} ${a.reason}`;
    case 'archiveLogs':
      return `archive ${a.runId}#${a.attempt}`;
    case 'finishAttempt':
      return `finishAttempt ${a.runId}#${a.attempt} ${a.phase}${a.reason ? ` ${a.reason}` : ''}`;
    case 'scheduleRetry':
      return `retry ${a.runId} at ${fmt(a.nextAttemptAt)}`;
    case 'finishRun':
      return `finishRun ${a.runId} ${a.phase}${a.reason ? ` ${a.reason}` : ''}`;
    case 'deleteGroup':
      return `delete ${a.ref.name} ${a.reason}`;
    case 'pruneRun':
      return `prune ${a.runId}`;
    case 'finalize':
      return 'finalize';
  }
}
