/**
 * Planner scenarios for the operator's verbs (cancel, clear, backfill): golden action lists, as in
 * plan.table.test.ts. Hourly job `j`, anchor at 09:00, now 09:30 unless stated (no slot due).
 */
import { plan } from '../../src/plan';
import type { BackfillRequest } from '../../src/api/runs';
import { attempt, fmt, group, inputOf, render, run, T, type Scenario } from './fixtures';

const R5 = 'j-202601100500';
const R6 = 'j-202601100600';
const R7 = 'j-202601100700';
const R8 = 'j-202601100800';
const REQ = T('09:20');
const bf = (over: Partial<BackfillRequest> = {}): BackfillRequest => ({
  id: 'bf-1',
  from: T('05:00'),
  to: T('08:00'),
  slots: [T('05:00'), T('06:00'), T('07:00'), T('08:00')],
  cursor: 0,
  maxActive: 2,
  rerun: false,
  requestedAt: REQ,
  ...over,
});
const finished = (id: string, at: string, phase: 'Succeeded' | 'Failed', over = {}) =>
  run(id, at, { phase, finishedAt: T(at) + 600_000, createdAt: T(at), attempts: [attempt(id, 1, { phase, finishedAt: T(at) + 600_000, logsArchived: true, groupDeleted: true, exitCode: phase === 'Failed' ? 1 : 0 })], ...over });
const active = (id: string, at: string, over = {}) =>
  run(id, at, { attempts: [attempt(id, 1, { startedAt: T('09:29'), lastObservedAt: T('09:29:50') })], ...over });
const allow = { concurrencyPolicy: 'Allow' as const, successfulRunsHistoryLimit: 50, failedRunsHistoryLimit: 50 };

const cancel: Scenario[] = [
  {
    name: 'cancel a running attempt: stop, archive, fail Cancelled (no retry), delete its group',
    job: { retries: 3 },
    state: { pendingCancels: [{ run: R8, requestedAt: REQ }] },
    runs: [active(R8, '08:00')],
    observed: [group(R8, { state: 'Running' })],
    now: '09:30',
    expect: [`stop ${R8} Cancelled`, `archive ${R8}#1`, `finishAttempt ${R8}#1 Failed Cancelled`, `finishRun ${R8} Failed Cancelled`, `delete ${R8} Cancelled`, `consume cancel ${R8}`],
  },
  {
    name: 'cancel a run waiting for its retry: the run fails Cancelled, nothing to stop',
    state: { pendingCancels: [{ run: R8, requestedAt: REQ }] },
    runs: [run(R8, '08:00', { phase: 'Retrying', nextAttemptAt: T('10:00'), attempts: [attempt(R8, 1, { phase: 'Failed', finishedAt: T('09:00'), logsArchived: true, groupDeleted: true })] })],
    now: '09:30',
    expect: [`finishRun ${R8} Failed Cancelled`, `consume cancel ${R8}`],
  },
  {
    name: 'cancel of a finished run is dropped with a note',
    state: { pendingCancels: [{ run: R8, requestedAt: REQ }] },
    runs: [finished(R8, '08:00', 'Succeeded')],
    now: '09:30',
    expect: [`consume cancel ${R8} (run ${R8} is not active (Succeeded))`],
  },
  {
    name: 'Forbid: a slot waiting on a run starts once that run is cancelled',
    state: { pendingCancels: [{ run: R8, requestedAt: REQ }] },
    runs: [active(R8, '08:00')],
    observed: [group(R8, { state: 'Running' })],
    now: '10:00',
    expect: [
      `stop ${R8} Cancelled`, `archive ${R8}#1`, `finishAttempt ${R8}#1 Failed Cancelled`, `finishRun ${R8} Failed Cancelled`, `delete ${R8} Cancelled`, `consume cancel ${R8}`,
      'startRun j-202601101000', 'launch j-202601101000#1 create j-202601101000',
    ],
  },
];

const clear: Scenario[] = [
  {
    name: 'clear a failed run: it runs again as the next attempt',
    state: { pendingClears: [{ run: R8, requestedAt: REQ }] },
    runs: [finished(R8, '08:00', 'Failed')],
    now: '09:30',
    expect: [`clear ${R8} base=1`],
  },
  {
    name: 'a cleared run (Retrying, due now) launches attempt base+1 in a new group',
    runs: [run(R8, '08:00', { phase: 'Retrying', nextAttemptAt: T('09:30'), clearedAt: T('09:30'), attemptBase: 1, attempts: [attempt(R8, 1, { phase: 'Failed', finishedAt: T('08:10'), logsArchived: true, groupDeleted: true })] })],
    now: '09:30',
    expect: [`launch ${R8}#2 create ${R8}-a2`],
  },
  {
    name: 'a cleared run gets a fresh retry budget',
    job: { retries: 1, retryDelay: '1m' },
    runs: [run(R8, '08:00', { clearedAt: T('09:00'), attemptBase: 2, attempts: [attempt(R8, 1, { phase: 'Failed', logsArchived: true, groupDeleted: true }), attempt(R8, 2, { phase: 'Failed', logsArchived: true, groupDeleted: true }), attempt(R8, 3, { startedAt: T('09:00') })] })],
    observed: [group(`${R8}-a3`, { run: R8, attempt: 3, state: 'Failed', containers: [{ state: 'Terminated', exitCode: 1 }] })],
    now: '09:30',
    expect: [`archive ${R8}#3`, `finishAttempt ${R8}#3 Failed ExitCode`, `retry ${R8} at 09:31:00`],
  },
  {
    name: 'clear of an active run is dropped with a note',
    state: { pendingClears: [{ run: R8, requestedAt: REQ }] },
    runs: [active(R8, '08:00')],
    observed: [group(R8, { state: 'Running' })],
    now: '09:30',
    expect: [`consume clear ${R8} (run ${R8} is still active (Running); nothing to clear)`],
  },
  {
    name: 'a run being cleared is not pruned by the history limit in the same plan',
    job: { failedRunsHistoryLimit: 0 },
    state: { pendingClears: [{ run: R8, requestedAt: REQ }] },
    runs: [finished(R8, '08:00', 'Failed')],
    now: '09:30',
    expect: [`clear ${R8} base=1`],
  },
];

const backfill: Scenario[] = [
  {
    name: 'backfill (Allow, maxActive 2): the two oldest slots start, the cursor moves',
    job: allow,
    state: { backfill: bf() },
    now: '09:30',
    expect: [`startRun ${R5} backfill=bf-1`, `startRun ${R6} backfill=bf-1`, 'advanceBackfill bf-1 cursor=2', `launch ${R5}#1 create ${R5}`, `launch ${R6}#1 create ${R6}`],
  },
  {
    name: 'backfill at its limit: nothing more starts',
    job: allow,
    state: { backfill: bf({ cursor: 2 }) },
    runs: [active(R5, '05:00', { backfill: 'bf-1', createdAt: REQ }), active(R6, '06:00', { backfill: 'bf-1', createdAt: REQ })],
    observed: [group(R5, { state: 'Running' }), group(R6, { state: 'Running' })],
    now: '09:30',
    expect: [],
  },
  {
    name: 'backfill: one run finished, the next slot takes its place',
    job: allow,
    state: { backfill: bf({ cursor: 2 }) },
    runs: [finished(R5, '05:00', 'Succeeded', { backfill: 'bf-1', createdAt: REQ }), active(R6, '06:00', { backfill: 'bf-1', createdAt: REQ })],
    observed: [group(R6, { state: 'Running' })],
    now: '09:30',
    expect: [`startRun ${R7} backfill=bf-1`, 'advanceBackfill bf-1 cursor=3', `launch ${R7}#1 create ${R7}`],
  },
  {
    name: 'backfill skips slots whose run exists (no rerun), without using a place',
    job: allow,
    state: { backfill: bf() },
    runs: [finished(R5, '05:00', 'Succeeded'), finished(R6, '06:00', 'Failed')],
    now: '09:30',
    expect: [`startRun ${R7} backfill=bf-1`, `startRun ${R8} backfill=bf-1`, 'advanceBackfill bf-1 cursor=4', `launch ${R7}#1 create ${R7}`, `launch ${R8}#1 create ${R8}`],
  },
  {
    name: 'backfill --rerun clears finished runs from before the request',
    job: allow,
    state: { backfill: bf({ rerun: true }) },
    runs: [finished(R5, '05:00', 'Succeeded'), finished(R6, '06:00', 'Failed')],
    now: '09:30',
    expect: [`clear ${R5} base=1 backfill=bf-1`, `clear ${R6} base=1 backfill=bf-1`, 'advanceBackfill bf-1 cursor=2'],
  },
  {
    name: 'backfill --rerun does not clear a run it already re-ran',
    job: allow,
    state: { backfill: bf({ rerun: true, slots: [T('05:00')] }) },
    runs: [finished(R5, '05:00', 'Succeeded', { clearedAt: REQ + 1 })],
    now: '09:30',
    expect: ['advanceBackfill bf-1 cursor=1', 'endBackfill bf-1'],
  },
  {
    name: 'backfill done: every slot handled and none active ends it',
    job: allow,
    state: { backfill: bf({ cursor: 4 }) },
    runs: [R5, R6, R7, R8].map((id, i) => finished(id, `0${5 + i}:00`, 'Succeeded', { backfill: 'bf-1', createdAt: REQ })),
    now: '09:30',
    expect: ['endBackfill bf-1'],
  },
  {
    name: 'backfill under Forbid: one at a time, and never beside another active run',
    state: { backfill: bf() },
    now: '09:30',
    expect: [`startRun ${R5} backfill=bf-1`, 'advanceBackfill bf-1 cursor=1', `launch ${R5}#1 create ${R5}`],
  },
  {
    name: 'backfill under Forbid waits while a scheduled run is active',
    state: { backfill: bf() },
    runs: [active('j-202601100900', '09:00')],
    observed: [group('j-202601100900', { state: 'Running' })],
    now: '09:30',
    expect: [],
  },
  {
    name: 'backfill under Forbid waits when this plan starts a scheduled slot',
    state: { backfill: bf() },
    now: '10:00',
    expect: ['startRun j-202601101000', 'launch j-202601101000#1 create j-202601101000'],
  },
  {
    name: 'backfill is paused while the job is suspended',
    job: { ...allow, suspend: true },
    state: { backfill: bf(), suspendedSince: T('09:00') },
    now: '09:30',
    expect: [],
  },
];

const all = [...cancel, ...clear, ...backfill];

describe('planner: operator verbs', () => {
  it.each(all.map((s) => [s.name, s] as const))('%s', (_name, s) => {
    const out = plan(inputOf(s));
    expect(out.actions.map(render)).toEqual(s.expect);
    expect(plan(inputOf(s))).toEqual(out);
  });

  it('names are distinct', () => expect(new Set(all.map((s) => s.name)).size).toBe(all.length));
  it('fmt helper sanity', () => expect(fmt(T('05:00'))).toBe('05:00:00'));
});
