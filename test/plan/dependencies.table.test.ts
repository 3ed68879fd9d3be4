/**
 * Planner scenarios for spec.dependsOn and dependsOnPast (golden action lists), the pure gate,
 * and property tests: a downstream slot never starts before its upstream runs succeeded, and no
 * slot is started twice.
 */
import { scheduledRunId } from '../../src/api/names';
import type { RunPhase, RunRecord } from '../../src/api/runs';
import { plan, type PlanInput } from '../../src/plan';
import { gate, neededSlots, type UpstreamView } from '../../src/plan/dependencies';
import { compileSchedule } from '../../src/schedule';
import { attempt, group, inputOf, job, render, run, state, T, type Scenario } from './fixtures';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const hourly = compileSchedule('0 * * * *', { timeZone: 'UTC' });
const daily = compileSchedule('0 0 * * *', { timeZone: 'UTC' });
const D10 = T('2026-01-10T00:00:00Z');
const B = 'j-202601100000'; // the daily downstream run of the 10th: data interval [9th, 10th)

/** Hourly upstream `a` with runs for the 24 slots of the 9th (01:00 … 10th 00:00), all Succeeded unless overridden. */
function upstreamA(over: Partial<Record<number, RunPhase | null>> = {}, view: Partial<UpstreamView> = {}): UpstreamView {
  const runs = new Map<string, RunPhase>();
  for (let i = 1; i <= 24; i++) {
    const slot = D10 - DAY + i * HOUR;
    const p = i in over ? over[i] : 'Succeeded';
    if (p) runs.set(scheduledRunId('a', slot), p);
  }
  return { job: 'a', status: 'Ready', suspended: false, schedule: hourly, anchor: D10, runs, ...view };
}

const dailyOnA = { schedule: '0 0 * * *', dependsOn: [{ job: 'a' }] };
const dayState = { anchor: D10 - DAY };
const waitingB = (over: Partial<RunRecord> = {}) => run(B, '2026-01-10T00:00:00Z', { phase: 'Waiting', dataIntervalStart: D10 - DAY, dataIntervalEnd: D10, waitReason: 'UpstreamRunning', waitMessage: 'x', ...over });

const scenarios: Scenario[] = [
  {
    name: 'daily on hourly: all 24 upstream runs of the interval succeeded → the run starts',
    job: dailyOnA, state: dayState, upstream: [upstreamA()], now: '2026-01-10T00:00:30Z',
    expect: [`startRun ${B}`, `launch ${B}#1 create ${B}`],
  },
  {
    name: 'daily on hourly: the last upstream run still runs → recorded Waiting (UpstreamRunning), woken at its deadline',
    job: dailyOnA, state: dayState, upstream: [upstreamA({ 24: 'Running' })], now: '2026-01-10T00:00:30Z',
    expect: [`startRun ${B} Waiting UpstreamRunning`], wake: '2026-01-10T00:05:00.001Z',
  },
  {
    name: 'daily on hourly: an upstream run failed → UpstreamFailed, not run',
    job: dailyOnA, state: dayState, upstream: [upstreamA({ 7: 'Failed' })], now: '2026-01-10T00:00:30Z',
    expect: [`startRun ${B} UpstreamFailed UpstreamFailed`],
  },
  {
    name: 'an upstream slot with no run at or before its anchor (missed) → UpstreamFailed (UpstreamMissed)',
    job: dailyOnA, state: dayState, upstream: [upstreamA({ 3: null })], now: '2026-01-10T00:00:30Z',
    expect: [`startRun ${B} UpstreamFailed UpstreamMissed`],
  },
  {
    name: 'an upstream slot not run yet (after its anchor) → Waiting (UpstreamPending)',
    job: dailyOnA, state: dayState, upstream: [upstreamA({ 24: null }, { anchor: D10 - HOUR })], now: '2026-01-10T00:00:30Z',
    expect: [`startRun ${B} Waiting UpstreamPending`],
  },
  {
    name: 'upstream suspended with its slot not run → Waiting (UpstreamSuspended)',
    job: dailyOnA, state: dayState, upstream: [upstreamA({ 24: null }, { anchor: D10 - HOUR, suspended: true })], now: '2026-01-10T00:00:30Z',
    expect: [`startRun ${B} Waiting UpstreamSuspended`],
  },
  {
    name: 'upstream deleted → Waiting (UpstreamMissing)',
    job: dailyOnA, state: dayState, upstream: [{ job: 'a', status: 'Missing', suspended: false, schedule: null, anchor: null, runs: new Map() }], now: '2026-01-10T00:00:30Z',
    expect: [`startRun ${B} Waiting UpstreamMissing`],
  },
  {
    name: 'upstream without a usable spec → Waiting (UpstreamInvalid)',
    job: dailyOnA, state: dayState, upstream: [{ job: 'a', status: 'Invalid', suspended: false, schedule: null, anchor: null, runs: new Map() }], now: '2026-01-10T00:00:30Z',
    expect: [`startRun ${B} Waiting UpstreamInvalid`],
  },
  {
    name: 'a Waiting run whose upstream runs all succeeded now → released and launched',
    job: dailyOnA, state: { anchor: D10 }, runs: [waitingB()], upstream: [upstreamA()], now: '2026-01-10T00:03:00Z',
    expect: [`release ${B}`, `launch ${B}#1 create ${B}`],
  },
  {
    name: 'a Waiting run whose reason changed is updated, still waiting',
    job: dailyOnA, state: { anchor: D10 }, runs: [waitingB()], upstream: [upstreamA({ 24: null }, { anchor: D10 - HOUR })], now: '2026-01-10T00:03:00Z',
    expect: [`hold ${B} Waiting UpstreamPending`], wake: '2026-01-10T00:05:00.001Z',
  },
  {
    name: 'a Waiting run past startingDeadlineSeconds fails (DeadlineExceeded)',
    job: dailyOnA, state: { anchor: D10 }, runs: [waitingB()], upstream: [upstreamA({ 24: 'Running' })], now: '2026-01-10T00:05:01Z',
    expect: [`finishRun ${B} Failed DeadlineExceeded`],
  },
  {
    name: 'a Waiting run whose upstream failed meanwhile → UpstreamFailed',
    job: dailyOnA, state: { anchor: D10 }, runs: [waitingB()], upstream: [upstreamA({ 24: 'Failed' })], now: '2026-01-10T00:03:00Z',
    expect: [`hold ${B} UpstreamFailed UpstreamFailed`],
  },
  {
    name: 'UpstreamFailed: the failed upstream run was cleared and succeeded → released and launched (no deadline)',
    job: dailyOnA, state: { anchor: D10 }, runs: [waitingB({ phase: 'UpstreamFailed', waitReason: 'UpstreamFailed' })], upstream: [upstreamA()], now: '2026-01-10T09:30:00Z',
    expect: [`release ${B}`, `launch ${B}#1 create ${B}`],
  },
  {
    name: 'UpstreamFailed: the cleared upstream run is running again → stays UpstreamFailed, untouched',
    job: dailyOnA, state: { anchor: D10 }, runs: [waitingB({ phase: 'UpstreamFailed', waitReason: 'UpstreamFailed' })], upstream: [upstreamA({ 7: 'Retrying' })], now: '2026-01-10T09:30:00Z',
    expect: [],
  },
  {
    name: 'Forbid: a Waiting run is active, so the next slot waits for it',
    job: { ...dailyOnA, startingDeadlineSeconds: null }, state: { anchor: D10 }, runs: [waitingB({ waitReason: 'UpstreamRunning', waitMessage: 'waiting for upstream run a-202601100000 (Running)' })], upstream: [upstreamA({ 24: 'Running' })], now: '2026-01-11T00:00:30Z',
    expect: [],
  },
  {
    name: 'hourly on daily: an hourly slot waits for the run of its day (UpstreamPending)',
    job: { dependsOn: [{ job: 'd' }] }, upstream: [{ job: 'd', status: 'Ready', suspended: false, schedule: daily, anchor: D10, runs: new Map() }], now: '10:00:30',
    expect: ['startRun j-202601101000 Waiting UpstreamPending'],
  },
  {
    name: 'manual runs are not gated',
    job: dailyOnA, state: { ...dayState, anchor: D10, pendingManual: [{ id: 'j-m20260110093000', requestedAt: T('09:30') }] }, upstream: [upstreamA({ 24: 'Failed' })], now: '09:30:01',
    expect: ['startRun j-m20260110093000 manual', 'launch j-m20260110093000#1 create j-m20260110093000'],
  },
  {
    name: 'dependsOnPast: the previous slot failed → UpstreamFailed (PreviousFailed)',
    job: { dependsOnPast: true }, runs: [run('j-202601100900', '09:00', { phase: 'Failed', attempts: [attempt('j-202601100900', 1, { phase: 'Failed', logsArchived: true, groupDeleted: true })] })], now: '10:00:10',
    expect: ['startRun j-202601101000 UpstreamFailed PreviousFailed'],
  },
  {
    name: 'dependsOnPast (Allow): the previous slot still runs → Waiting (PreviousRunning)',
    job: { dependsOnPast: true, concurrencyPolicy: 'Allow' }, runs: [run('j-202601100900', '09:00', { attempts: [attempt('j-202601100900', 1, { lastObservedAt: T('09:59:59') })] })], observed: [group('j-202601100900', { state: 'Running' })], now: '10:00:10',
    expect: ['startRun j-202601101000 Waiting PreviousRunning'],
  },
  {
    name: 'dependsOnPast: the previous slot succeeded → the run starts',
    job: { dependsOnPast: true }, runs: [run('j-202601100900', '09:00', { phase: 'Succeeded', attempts: [attempt('j-202601100900', 1, { phase: 'Succeeded', logsArchived: true, groupDeleted: true })] })], now: '10:00:10',
    expect: ['startRun j-202601101000', 'launch j-202601101000#1 create j-202601101000'],
  },
  {
    name: 'dependsOnPast: no run for the previous slot (first slot, or missed) does not block',
    job: { dependsOnPast: true }, now: '10:00:10',
    expect: ['startRun j-202601101000', 'launch j-202601101000#1 create j-202601101000'],
  },
  {
    name: 'dependsOnPast with catchup (Allow): the second slot of one plan waits for the first one of the same plan',
    job: { dependsOnPast: true, concurrencyPolicy: 'Allow', catchup: true, startingDeadlineSeconds: null }, state: { anchor: T('08:00') }, now: '10:00:10',
    expect: ['startRun j-202601100900', 'startRun j-202601101000 Waiting PreviousRunning', 'launch j-202601100900#1 create j-202601100900'],
  },
  {
    name: 'runs a downstream job still needs are not pruned by the history limit',
    job: { successfulRunsHistoryLimit: 0 },
    runs: [run('j-202601100800', '08:00', { phase: 'Succeeded', attempts: [attempt('j-202601100800', 1, { phase: 'Succeeded', logsArchived: true, groupDeleted: true })] }), run('j-202601100900', '09:00', { phase: 'Succeeded', attempts: [attempt('j-202601100900', 1, { phase: 'Succeeded', logsArchived: true, groupDeleted: true })] })],
    retainRunsAfter: T('08:00'), now: '09:30',
    expect: ['prune j-202601100800'],
  },
];

describe('planner: dependencies', () => {
  it.each(scenarios.map((s) => [s.name, s] as const))('%s', (_n, s) => {
    const out = plan(inputOf(s));
    expect(out.actions.map(render)).toEqual(s.expect);
    if (s.wake !== undefined) expect(out.wakeAt === null ? null : new Date(out.wakeAt).toISOString()).toEqual(s.wake === null ? null : new Date(T(s.wake)).toISOString());
    expect(plan(inputOf(s))).toEqual(out);
  });

  it('neededSlots: equal schedules need the same slot; daily on hourly 24; hourly on daily the day', () => {
    expect(neededSlots(daily, D10 - DAY, D10)).toEqual([D10]);
    expect(neededSlots(hourly, D10 - DAY, D10)).toHaveLength(24);
    expect(neededSlots(hourly, D10 - DAY, D10)[23]).toBe(D10);
    expect(neededSlots(daily, D10 + 9 * HOUR, D10 + 10 * HOUR)).toEqual([D10 + DAY]);
    expect(neededSlots(compileSchedule('0 * * * *', { timeZone: 'UTC', startTime: D10 - 2 * HOUR }), D10 - DAY, D10)).toEqual([D10 - 2 * HOUR, D10 - HOUR, D10]);
  });
});

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Property: simulate an hourly upstream A and a daily downstream B (Allow, no deadline) through
 * the planner alone over 3 days, with A's runs finishing at random (some failing), random
 * planner call times, and clears of failed A runs. A downstream launch happens only when every A
 * run of its interval has Succeeded; no slot of either job gets two runs or two first launches.
 */
describe('property: dependencies', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('seed %i', (seed) => {
    const rand = rng(seed);
    const aJob = job({ schedule: '0 * * * *', concurrencyPolicy: 'Allow', startingDeadlineSeconds: null, successfulRunsHistoryLimit: 1000, failedRunsHistoryLimit: 1000 }, 'a');
    const bJob = job({ schedule: '0 0 * * *', concurrencyPolicy: 'Allow', startingDeadlineSeconds: null, dependsOn: [{ job: 'a' }] }, 'b');
    const runs = { a: new Map<string, RunRecord>(), b: new Map<string, RunRecord>() };
    const states = { a: state(aJob, { anchor: D10 - DAY }), b: state(bJob, { anchor: D10 - DAY }) };
    const launches = new Map<string, number>();
    let now = D10 - DAY + 1;
    const end = D10 + 2 * DAY;
    const view = (): UpstreamView => ({ job: 'a', status: 'Ready', suspended: false, schedule: hourly, anchor: states.a.anchor, runs: new Map([...runs.a.values()].map((r) => [r.id, r.phase])) });
    const step = (name: 'a' | 'b'): void => {
      const j = name === 'a' ? aJob : bJob;
      const input: PlanInput = {
        jobName: name, job: j, schedule: name === 'a' ? hourly : daily, state: states[name], runs: [...runs[name].values()], observed: [], desiredSpecHash: 'h',
        defaultSubscriptionId: 's', now, ...(name === 'b' ? { upstream: [view()] } : {}),
      };
      for (const a of plan(input).actions) {
        if (a.type === 'startRun') {
          expect(runs[name].has(a.runId)).toBe(false); // never a second run for a slot
          runs[name].set(a.runId, { id: a.runId, job: name, slot: a.slot, manual: false, scheduledTime: a.scheduledTime, dataIntervalStart: a.dataIntervalStart, dataIntervalEnd: a.dataIntervalEnd, phase: a.hold?.phase ?? 'Pending', attempts: [], createdAt: now });
          if (a.slot !== null) states[name] = { ...states[name], anchor: Math.max(states[name].anchor, a.slot) };
        } else if (a.type === 'holdRun') {
          runs[name].set(a.runId, { ...runs[name].get(a.runId)!, phase: a.phase });
        } else if (a.type === 'releaseRun') {
          runs[name].set(a.runId, { ...runs[name].get(a.runId)!, phase: 'Pending' });
        } else if (a.type === 'launchAttempt') {
          const k = `${a.runId}#${a.attempt}`;
          expect(launches.has(k)).toBe(false);
          launches.set(k, now);
          const r = runs[name].get(a.runId)!;
          if (name === 'b') {
            // every needed A run has Succeeded at this instant
            for (const t of neededSlots(hourly, r.dataIntervalStart, r.dataIntervalEnd)) expect(runs.a.get(scheduledRunId('a', t))?.phase).toBe('Succeeded');
          }
          // the run goes straight to a finished attempt in this simulation; B always succeeds
          const ok = name === 'b' || rand() > 0.15;
          runs[name].set(a.runId, { ...r, phase: ok ? 'Succeeded' : 'Failed', attempts: [{ attempt: a.attempt, groupName: a.ref.name, phase: ok ? 'Succeeded' : 'Failed', createdAt: now, finishedAt: now, logsArchived: true, groupDeleted: true }] });
        }
      }
    };
    while (now < end) {
      step('a');
      step('b');
      // now and then an operator clears a failed A run (it then runs again and may succeed)
      for (const r of runs.a.values()) {
        if (r.phase === 'Failed' && rand() < 0.3) runs.a.set(r.id, { ...r, phase: 'Succeeded' });
      }
      now += Math.floor(rand() * 40 * 60_000);
    }
    // every B interval whose A runs all succeeded has run exactly once
    for (const [id, r] of runs.b) {
      const allOk = neededSlots(hourly, r.dataIntervalStart, r.dataIntervalEnd).every((t) => runs.a.get(scheduledRunId('a', t))?.phase === 'Succeeded');
      if (allOk && r.dataIntervalEnd < now - HOUR) expect([id, runs.b.get(id)!.phase]).toEqual([id, 'Succeeded']);
    }
    expect(runs.b.size).toBeGreaterThanOrEqual(2);
  });

  it('gate: blocked beats waiting, and an upstream without needed slots is ready', () => {
    const a = upstreamA({ 2: 'Running', 9: 'Failed' });
    expect(gate({ upstream: [a], dependsOnPast: false, schedule: daily, runs: [] }, D10, D10 - DAY, D10).kind).toBe('blocked');
    const late = { ...upstreamA(), schedule: compileSchedule('0 * * * *', { timeZone: 'UTC', startTime: D10 + DAY }) };
    expect(gate({ upstream: [late], dependsOnPast: false, schedule: daily, runs: [] }, D10, D10 - DAY, D10)).toEqual({ kind: 'ready' });
  });
});
