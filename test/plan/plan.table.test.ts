/**
 * Planner scenarios: each a named input and the exact expected action list (golden lines, see
 * fixtures.render) plus the wake-up instant. Hourly job `j` ('0 * * * *', UTC) unless stated;
 * the default state has its anchor at 09:00 (the 09:00 slot was handled).
 */
import { plan } from '../../src/plan';
import { attempt, fmt, group, inputOf, render, run, type Scenario } from './fixtures';

const R9 = 'j-202601100900';
const R10 = 'j-202601101000';
const live = (over = {}) => [run(R9, '09:00', { attempts: [attempt(R9, 1, over)] })];
const done = (phase: 'Succeeded' | 'Failed', finishedAt: string, over = {}) =>
  attempt(R9, 1, { phase, finishedAt: Date.parse(`2026-01-10T${finishedAt}Z`), logsArchived: true, exitCode: phase === 'Succeeded' ? 0 : 1, ...over });

const slots: Scenario[] = [
  { name: 'first sight anchors at now (no retroactive run)', state: null, now: '09:30', expect: ['initState 09:30:00'], wake: '10:00:00' },
  { name: 'first sight of a suspended job', state: null, job: { suspend: true }, now: '09:30', expect: ['initState 09:30:00', 'setSuspended 09:30:00'], wake: null },
  { name: 'nothing due between slots', now: '09:30', expect: [], wake: '10:00:00' },
  { name: 'slot due exactly now starts a run', now: '10:00', expect: [`startRun ${R10}`, `launch ${R10}#1 create ${R10}`], wake: '11:00:00' },
  { name: 'slot due 30 s ago starts a run', now: '10:00:30', expect: [`startRun ${R10}`, `launch ${R10}#1 create ${R10}`], wake: '11:00:00' },
  { name: 'slot past startingDeadline is recorded missed', now: '10:06', expect: ['missed 10:00:00 x1 DeadlineExceeded'], wake: '11:00:00' },
  { name: 'slot exactly at the deadline still starts', now: '10:05', expect: [`startRun ${R10}`, `launch ${R10}#1 create ${R10}`] },
  { name: 'slot 1 ms past the deadline is missed', now: '10:05:00.001', expect: ['missed 10:00:00 x1 DeadlineExceeded'] },
  { name: 'no deadline: a late slot still starts', job: { startingDeadlineSeconds: null }, now: '10:50', expect: [`startRun ${R10}`, `launch ${R10}#1 create ${R10}`] },
  { name: 'catchup false: older missed slots recorded, latest runs', state: { anchor: Date.parse('2026-01-10T06:00:00Z') }, now: '10:00', expect: ['missed 09:00:00 x3 NotCatchup', `startRun ${R10}`, `launch ${R10}#1 create ${R10}`] },
  { name: 'catchup false: latest slot also too late', state: { anchor: Date.parse('2026-01-10T06:00:00Z') }, now: '10:30', expect: ['missed 09:00:00 x3 NotCatchup', 'missed 10:00:00 x1 DeadlineExceeded'] },
  {
    name: 'catchup true (Allow): every missed slot, oldest first',
    job: { catchup: true, startingDeadlineSeconds: null, concurrencyPolicy: 'Allow' },
    state: { anchor: Date.parse('2026-01-10T07:00:00Z') },
    now: '10:00',
    expect: ['startRun j-202601100800', 'startRun j-202601100900', `startRun ${R10}`, 'launch j-202601100800#1 create j-202601100800', 'launch j-202601100900#1 create j-202601100900', `launch ${R10}#1 create ${R10}`],
  },
  {
    name: 'catchup true capped by maxCatchupRuns: the rest recorded missed',
    job: { catchup: true, maxCatchupRuns: 2, startingDeadlineSeconds: null, concurrencyPolicy: 'Allow' },
    state: { anchor: Date.parse('2026-01-10T05:00:00Z') },
    now: '10:00',
    expect: ['missed 08:00:00 x3 CatchupLimit', 'startRun j-202601100900', `startRun ${R10}`, 'launch j-202601100900#1 create j-202601100900', `launch ${R10}#1 create ${R10}`],
  },
  {
    name: 'catchup true with a deadline: old slots are missed, recent ones run',
    job: { catchup: true, concurrencyPolicy: 'Allow' },
    state: { anchor: Date.parse('2026-01-10T07:00:00Z') },
    now: '10:00',
    expect: ['missed 09:00:00 x2 DeadlineExceeded', `startRun ${R10}`, `launch ${R10}#1 create ${R10}`],
  },
  {
    name: 'catchup true with Forbid: one run at a time, oldest first',
    job: { catchup: true, startingDeadlineSeconds: null },
    state: { anchor: Date.parse('2026-01-10T07:00:00Z') },
    now: '10:00',
    expect: ['startRun j-202601100800', 'launch j-202601100800#1 create j-202601100800'],
  },
  {
    name: 'catchup true with Forbid and an active run: the backlog waits',
    job: { catchup: true, startingDeadlineSeconds: null },
    state: { anchor: Date.parse('2026-01-10T07:00:00Z') },
    runs: [run('j-202601100700', '07:00', { attempts: [attempt('j-202601100700', 1, { startedAt: Date.parse('2026-01-10T07:00:00Z'), lastObservedAt: Date.parse('2026-01-10T09:59:50Z') })] })],
    now: '10:00',
    expect: [],
    wake: '10:00:20',
  },
  { name: 'schedule edited: re-anchor at now, the slot at now is not retroactive', state: { scheduleKey: '30 * * * *|UTC' }, now: '10:00', expect: ['reanchor ScheduleChanged 10:00:00 missed=0'], wake: '11:00:00' },
  { name: 'time zone edited: re-anchor', state: { scheduleKey: '0 * * * *|Europe/Berlin' }, now: '10:00:30', expect: ['reanchor ScheduleChanged 10:00:30 missed=0'], wake: '11:00:00' },
  { name: 'spec.suspend: due slots are not run', job: { suspend: true }, state: { suspendedSince: Date.parse('2026-01-10T09:10:00Z') }, now: '10:00', expect: [], wake: null },
  { name: 'suspend override set: becomes suspended', state: { suspendOverride: true }, now: '09:20', expect: ['setSuspended 09:20:00'], wake: null },
  { name: 'suspend override false beats spec.suspend', job: { suspend: true }, state: { suspendOverride: false }, now: '10:00', expect: [`startRun ${R10}`, `launch ${R10}#1 create ${R10}`] },
  {
    name: 'resume: slots while suspended are missed, not run',
    state: { anchor: Date.parse('2026-01-10T07:00:00Z'), suspendedSince: Date.parse('2026-01-10T07:30:00Z') },
    now: '10:00',
    expect: ['reanchor Resumed 10:00:00 missed=3'],
    wake: '11:00:00',
  },
  { name: 'startTime in the future: nothing due, wake at the first slot', job: { startTime: '2026-01-10T12:30:00Z' }, now: '10:00', expect: [], wake: '13:00:00' },
  { name: 'endTime passed: no slot, no wake', job: { endTime: '2026-01-10T08:30:00Z' }, state: { anchor: Date.parse('2026-01-10T08:00:00Z') }, now: '10:00', expect: [], wake: null },
  { name: 'manual-only job: nothing to do', job: { schedule: null }, now: '10:00', expect: [], wake: null },
  {
    name: 'run of a due slot already recorded (crash before the anchor moved)',
    runs: [run(R10, '10:00', { phase: 'Pending' })],
    now: '10:00:01',
    expect: ['advanceAnchor 10:00:00', `launch ${R10}#1 create ${R10}`],
  },
  {
    name: 'Forbid: due slot waits for the active run (wake at its deadline)',
    runs: live({ lastObservedAt: Date.parse('2026-01-10T09:59:50Z') }),
    now: '10:00',
    expect: [],
    wake: '10:00:20',
  },
  {
    name: 'Forbid: waiting slot wakes at its deadline when polls are sparse',
    runs: live({ lastObservedAt: Date.parse('2026-01-10T10:04:50Z') }),
    now: '10:04:55',
    expect: [],
    wake: '10:05:00.001',
  },
  { name: 'Forbid: waiting slot past its deadline is skipped by the policy', runs: live({ lastObservedAt: Date.parse('2026-01-10T10:05:50Z') }), now: '10:06', expect: ['missed 10:00:00 x1 ConcurrencyForbid'] },
  { name: 'Allow: a late slot with a run active is only late', job: { concurrencyPolicy: 'Allow' }, runs: live({ lastObservedAt: Date.parse('2026-01-10T10:05:50Z') }), now: '10:06', expect: ['missed 10:00:00 x1 DeadlineExceeded'] },
  {
    name: 'Replace: stop, fail and replace the running run',
    job: { concurrencyPolicy: 'Replace' },
    runs: live({ lastObservedAt: Date.parse('2026-01-10T09:59:50Z') }),
    now: '10:00',
    expect: [`stop ${R9} Replaced`, `archive ${R9}#1`, `finishAttempt ${R9}#1 Failed Replaced`, `finishRun ${R9} Failed Replaced`, `startRun ${R10}`, `launch ${R10}#1 create ${R10}`],
  },
  {
    name: 'Replace: a run waiting for its retry is just finished',
    job: { concurrencyPolicy: 'Replace' },
    runs: [run(R9, '09:00', { phase: 'Retrying', nextAttemptAt: Date.parse('2026-01-10T10:10:00Z'), attempts: [done('Failed', '09:01')] })],
    now: '10:00',
    expect: [`finishRun ${R9} Failed Replaced`, `startRun ${R10}`, `launch ${R10}#1 create ${R10}`],
  },
  {
    name: 'Replace with catchup: older due slots superseded, newest runs',
    job: { concurrencyPolicy: 'Replace', catchup: true, startingDeadlineSeconds: null },
    state: { anchor: Date.parse('2026-01-10T08:00:00Z') },
    now: '10:00',
    expect: ['missed 09:00:00 x1 Superseded', `startRun ${R10}`, `launch ${R10}#1 create ${R10}`],
  },
  {
    name: 'Allow: a new run beside the active one',
    job: { concurrencyPolicy: 'Allow' },
    runs: live({ lastObservedAt: Date.parse('2026-01-10T09:59:50Z') }),
    now: '10:00',
    expect: [`startRun ${R10}`, `launch ${R10}#1 create ${R10}`],
  },
  {
    name: 'Reuse + Allow behaves like Forbid (one group)',
    job: { concurrencyPolicy: 'Allow', groupPolicy: 'Reuse' },
    runs: [run(R9, '09:00', { attempts: [attempt(R9, 1, { groupName: 'j', lastObservedAt: Date.parse('2026-01-10T09:59:50Z') })] })],
    now: '10:00',
    expect: [],
  },
  {
    name: 'seconds field: a 5-second schedule',
    job: { schedule: '*/5 * * * * *' },
    state: { anchor: Date.parse('2026-01-10T10:00:00Z') },
    now: '10:00:05',
    expect: ['startRun j-20260110100005', 'launch j-20260110100005#1 create j-20260110100005'],
    wake: '10:00:10',
  },
  {
    name: '@daily runs at midnight with the previous day as data interval',
    job: { schedule: '@daily' },
    state: { anchor: Date.parse('2026-01-09T00:00:00Z') },
    now: '2026-01-10T00:00:10Z',
    expect: ['startRun j-202601100000', 'launch j-202601100000#1 create j-202601100000'],
    wake: '2026-01-11T00:00:00Z',
  },
];

const manual: Scenario[] = [
  { name: 'manual trigger starts a run', state: { pendingManual: [{ id: 'j-m20260110093000', requestedAt: Date.parse('2026-01-10T09:30:00Z') }] }, now: '09:30:01', expect: ['startRun j-m20260110093000 manual', 'launch j-m20260110093000#1 create j-m20260110093000'] },
  {
    name: 'manual trigger is not blocked by Forbid (PerRun)',
    state: { pendingManual: [{ id: 'j-m20260110093000', requestedAt: Date.parse('2026-01-10T09:30:00Z') }] },
    runs: live({ lastObservedAt: Date.parse('2026-01-10T09:30:00Z') }),
    now: '09:30:01',
    expect: ['startRun j-m20260110093000 manual', 'launch j-m20260110093000#1 create j-m20260110093000'],
  },
  {
    name: 'manual trigger already recorded before a crash: consumed, run continues',
    state: { pendingManual: [{ id: 'j-m20260110093000', requestedAt: Date.parse('2026-01-10T09:30:00Z') }] },
    runs: [run('j-m20260110093000', '09:30', { manual: true, phase: 'Pending' })],
    now: '09:30:02',
    expect: ['startRun j-m20260110093000 manual', 'launch j-m20260110093000#1 create j-m20260110093000'],
  },
  {
    name: 'Reuse: manual trigger queues behind the running attempt',
    job: { groupPolicy: 'Reuse' },
    state: { pendingManual: [{ id: 'j-m20260110093000', requestedAt: Date.parse('2026-01-10T09:30:00Z') }] },
    runs: [run(R9, '09:00', { attempts: [attempt(R9, 1, { groupName: 'j', lastObservedAt: Date.parse('2026-01-10T09:30:00Z') })] })],
    now: '09:30:01',
    expect: ['startRun j-m20260110093000 manual'],
  },
  {
    name: 'two triggers start in the order they were accepted',
    state: {
      pendingManual: [
        { id: 'j-m20260110093005', requestedAt: Date.parse('2026-01-10T09:30:05Z') },
        { id: 'j-m20260110093000', requestedAt: Date.parse('2026-01-10T09:30:00Z') },
      ],
    },
    now: '09:30:06',
    expect: ['startRun j-m20260110093000 manual', 'startRun j-m20260110093005 manual', 'launch j-m20260110093000#1 create j-m20260110093000', 'launch j-m20260110093005#1 create j-m20260110093005'],
  },
  { name: 'manual trigger runs while suspended', job: { suspend: true }, state: { suspendedSince: Date.parse('2026-01-10T09:00:00Z'), pendingManual: [{ id: 'j-m20260110093000', requestedAt: Date.parse('2026-01-10T09:30:00Z') }] }, now: '09:30:01', expect: ['startRun j-m20260110093000 manual', 'launch j-m20260110093000#1 create j-m20260110093000'] },
  { name: 'manual trigger of a manual-only job', job: { schedule: null }, state: { pendingManual: [{ id: 'j-m20260110093000', requestedAt: Date.parse('2026-01-10T09:30:00Z') }] }, now: '09:30:01', expect: ['startRun j-m20260110093000 manual', 'launch j-m20260110093000#1 create j-m20260110093000'], wake: null },
];

const progress: Scenario[] = [
  { name: 'fresh attempt: first look after 2 s', runs: live(), now: '09:00:01', expect: [], wake: '09:00:02' },
  { name: 'first observation due', runs: live(), now: '09:00:02', expect: [`observe ${R9}#1`] },
  { name: 'poll gap doubles with age', runs: live({ lastObservedAt: Date.parse('2026-01-10T09:00:08Z') }), now: '09:00:09', expect: [], wake: '09:00:16' },
  { name: 'poll gap caps at 30 s', runs: live({ lastObservedAt: Date.parse('2026-01-10T09:20:00Z') }), now: '09:20:01', expect: [], wake: '09:20:30' },
  { name: 'never poll later than the timeout', job: { timeout: '30s' }, runs: live({ lastObservedAt: Date.parse('2026-01-10T09:00:16Z') }), now: '09:00:17', expect: [], wake: '09:00:30' },
  { name: 'succeeded group: archive, finish, run succeeded', runs: live(), observed: [group(R9, { state: 'Succeeded', containers: [{ state: 'Terminated', exitCode: 0 }] })], now: '09:00:05', expect: [`archive ${R9}#1`, `finishAttempt ${R9}#1 Succeeded`, `finishRun ${R9} Succeeded`] },
  { name: 'failed exit code, no retries: run failed', runs: live(), observed: [group(R9, { state: 'Failed', containers: [{ state: 'Terminated', exitCode: 2 }] })], now: '09:00:05', expect: [`archive ${R9}#1`, `finishAttempt ${R9}#1 Failed ExitCode`, `finishRun ${R9} Failed ExitCode`] },
  { name: 'failed with retries: retry after retryDelay', job: { retries: 2 }, runs: live(), observed: [group(R9, { state: 'Failed', containers: [{ state: 'Terminated', exitCode: 2 }] })], now: '09:00:05', expect: [`archive ${R9}#1`, `finishAttempt ${R9}#1 Failed ExitCode`, `retry ${R9} at 09:01:05`] },
  {
    name: 'second failure waits retryDelay × factor',
    job: { retries: 2 },
    runs: [run(R9, '09:00', { attempts: [done('Failed', '09:00:05'), attempt(R9, 2)] })],
    observed: [group(`${R9}-a2`, { run: R9, attempt: 2, state: 'Failed', containers: [{ state: 'Terminated', exitCode: 2 }] })],
    now: '09:02',
    expect: [`archive ${R9}#2`, `finishAttempt ${R9}#2 Failed ExitCode`, `retry ${R9} at 09:04:00`],
  },
  {
    name: 'backoff capped by maxDelay',
    job: { retries: 6, retryDelay: '1m', retryBackoff: { factor: 2, maxDelay: '10m' } },
    runs: [run(R9, '09:00', { attempts: [1, 2, 3, 4].map((n) => attempt(R9, n, { phase: 'Failed', logsArchived: true, groupDeleted: true })).concat(attempt(R9, 5)) })],
    observed: [group(`${R9}-a5`, { run: R9, attempt: 5, state: 'Failed', containers: [{ state: 'Terminated', exitCode: 2 }] })],
    now: '09:30',
    expect: [`archive ${R9}#5`, `finishAttempt ${R9}#5 Failed ExitCode`, `retry ${R9} at 09:40:00`],
  },
  {
    name: 'last allowed attempt fails: run failed',
    job: { retries: 1 },
    runs: [run(R9, '09:00', { attempts: [done('Failed', '09:00:05', { groupDeleted: true }), attempt(R9, 2)] })],
    observed: [group(`${R9}-a2`, { run: R9, attempt: 2, state: 'Failed', containers: [{ state: 'Terminated', exitCode: 9 }] })],
    now: '09:02',
    expect: [`archive ${R9}#2`, `finishAttempt ${R9}#2 Failed ExitCode`, `finishRun ${R9} Failed ExitCode`],
  },
  { name: 'provisioning failed (image pull) from a list entry', runs: live(), observed: [group(R9, { provisioningState: 'Failed', events: [{ type: 'Warning', name: 'InaccessibleImage', message: 'image not accessible' }] })], now: '09:00:01', expect: [`archive ${R9}#1`, `finishAttempt ${R9}#1 Failed InaccessibleImage`, `finishRun ${R9} Failed InaccessibleImage`] },
  { name: 'provisioning failed without events', runs: live(), observed: [group(R9, { provisioningState: 'Failed' })], now: '09:00:01', expect: [`archive ${R9}#1`, `finishAttempt ${R9}#1 Failed ProvisioningFailed`, `finishRun ${R9} Failed ProvisioningFailed`] },
  { name: 'Spot eviction', runs: live(), observed: [group(R9, { state: 'Running', events: [{ type: 'Warning', name: 'SpotEvicted', message: 'evicted' }] })], now: '09:00:05', expect: [`archive ${R9}#1`, `finishAttempt ${R9}#1 Failed Evicted`, `finishRun ${R9} Failed Evicted`] },
  { name: 'Unhealthy event', runs: live(), observed: [group(R9, { state: 'Running', events: [{ type: 'Warning', name: 'Unhealthy', message: 'probe failed' }] })], now: '09:00:05', expect: [`archive ${R9}#1`, `finishAttempt ${R9}#1 Failed Unhealthy`, `finishRun ${R9} Failed Unhealthy`] },
  { name: 'group state Unknown', runs: live(), observed: [group(R9, { state: 'Unknown' })], now: '09:00:05', expect: [`archive ${R9}#1`, `finishAttempt ${R9}#1 Failed Unknown`, `finishRun ${R9} Failed Unknown`] },
  { name: 'stopped by someone else', runs: live(), observed: [group(R9, { state: 'Stopped', containers: [{ state: 'Terminated', exitCode: 137 }] })], now: '09:00:05', expect: [`archive ${R9}#1`, `finishAttempt ${R9}#1 Failed Stopped`, `finishRun ${R9} Failed Stopped`] },
  { name: 'restartPolicy Never: all containers terminated counts as finished', runs: live(), observed: [group(R9, { state: 'Running', containers: [{ state: 'Terminated', exitCode: 0 }] })], now: '09:00:05', expect: [`archive ${R9}#1`, `finishAttempt ${R9}#1 Succeeded`, `finishRun ${R9} Succeeded`] },
  {
    name: 'restartPolicy OnFailure: a failed container restarting is not the end',
    job: { template: { resourceGroup: 'rg1', location: 'eastus', restartPolicy: 'OnFailure', containers: [{ name: 'main', image: 'img:1', resources: { requests: { cpu: 1, memoryInGB: 1 } } }] } },
    runs: live({ lastObservedAt: Date.parse('2026-01-10T09:00:04Z') }),
    observed: [group(R9, { state: 'Running', containers: [{ state: 'Terminated', exitCode: 1 }] })],
    now: '09:00:05',
    expect: [],
    wake: '09:00:08',
  },
  { name: 'a finished group is taken as done only with matching tags', runs: live(), observed: [group(R9, { attempt: 2, state: 'Succeeded' })], now: '09:00:02', expect: [`observe ${R9}#1`] },
  { name: 'timeout reached: one last look first', job: { timeout: '1m' }, runs: live({ lastObservedAt: Date.parse('2026-01-10T09:00:32Z') }), now: '09:01:00', expect: [`observe ${R9}#1`] },
  { name: 'timeout reached after the last look: stop and fail', job: { timeout: '1m' }, runs: live({ lastObservedAt: Date.parse('2026-01-10T09:01:00Z') }), now: '09:01:00', expect: [`stop ${R9} Timeout`, `archive ${R9}#1`, `finishAttempt ${R9}#1 Failed Timeout`, `finishRun ${R9} Failed Timeout`] },
  { name: 'timeout with retries left: retried', job: { timeout: '1m', retries: 1, retryDelay: '30s' }, runs: live({ lastObservedAt: Date.parse('2026-01-10T09:01:00Z') }), now: '09:01:00', expect: [`stop ${R9} Timeout`, `archive ${R9}#1`, `finishAttempt ${R9}#1 Failed Timeout`, `retry ${R9} at 09:01:30`] },
  { name: 'crash between record and PUT: recover the launch', runs: live({ phase: 'Creating', startedAt: undefined }), now: '09:00:03', expect: [`launch ${R9}#1 create ${R9} recover`] },
  { name: 'run recorded without an attempt: launch', runs: [run(R9, '09:00', { phase: 'Pending' })], now: '09:00:01', expect: [`launch ${R9}#1 create ${R9}`] },
  { name: 'retry not yet due', runs: [run(R9, '09:00', { phase: 'Retrying', nextAttemptAt: Date.parse('2026-01-10T09:02:00Z'), attempts: [done('Failed', '09:01')] })], now: '09:01:30', expect: [], wake: '09:02:00' },
  { name: 'retry due: attempt 2 in its own group', runs: [run(R9, '09:00', { phase: 'Retrying', nextAttemptAt: Date.parse('2026-01-10T09:02:00Z'), attempts: [done('Failed', '09:01')] })], now: '09:02', expect: [`launch ${R9}#2 create ${R9}-a2`] },
  { name: 'finished attempt, run not recorded finished (interrupted)', runs: [run(R9, '09:00', { attempts: [done('Succeeded', '09:01')] })], now: '09:05', expect: [`finishRun ${R9} Succeeded`, `delete ${R9} Cleanup`] },
  { name: 'failed attempt, run not finished, retries left: retry from its finish time', job: { retries: 1 }, runs: [run(R9, '09:00', { attempts: [done('Failed', '09:01')] })], now: '09:01:10', expect: [`retry ${R9} at 09:02:00`] },
  { name: 'a replaced attempt is never retried', job: { retries: 3 }, runs: [run(R9, '09:00', { attempts: [done('Failed', '09:01', { reason: 'Replaced' })] })], now: '09:01:10', expect: [`finishRun ${R9} Failed Replaced`] },
];

const reuse: Scenario[] = [
  { name: 'Reuse: first run creates the job-named group', job: { groupPolicy: 'Reuse' }, now: '10:00', expect: [`startRun ${R10}`, `launch ${R10}#1 create j`] },
  {
    name: 'Reuse: unchanged spec → PUT with the new run (restarts it)',
    job: { groupPolicy: 'Reuse' },
    runs: [run(R9, '09:00', { phase: 'Succeeded', attempts: [done('Succeeded', '09:01', { groupName: 'j' })] })],
    observed: [group('j', { run: R9 })],
    now: '10:00',
    expect: [`startRun ${R10}`, `launch ${R10}#1 update j`],
  },
  {
    name: 'Reuse: changed spec, in-place change → update',
    job: { groupPolicy: 'Reuse' },
    runs: [run(R9, '09:00', { phase: 'Succeeded', attempts: [done('Succeeded', '09:01', { groupName: 'j' })] })],
    observed: [group('j', { run: R9, hash: 'old' })],
    reuseChange: 'inPlace',
    now: '10:00',
    expect: [`startRun ${R10}`, `launch ${R10}#1 update j`],
  },
  {
    name: 'Reuse: changed spec needing recreate',
    job: { groupPolicy: 'Reuse' },
    runs: [run(R9, '09:00', { phase: 'Succeeded', attempts: [done('Succeeded', '09:01', { groupName: 'j' })] })],
    observed: [group('j', { run: R9, hash: 'old' })],
    reuseChange: 'recreate',
    now: '10:00',
    expect: [`startRun ${R10}`, `launch ${R10}#1 recreate j`],
  },
  {
    name: 'Reuse: changed spec, change unknown → recreate (safe between runs)',
    job: { groupPolicy: 'Reuse' },
    runs: [run(R9, '09:00', { phase: 'Succeeded', attempts: [done('Succeeded', '09:01', { groupName: 'j' })] })],
    observed: [group('j', { run: R9, hash: 'old' })],
    now: '10:00',
    expect: [`startRun ${R10}`, `launch ${R10}#1 recreate j`],
  },
  {
    name: 'Reuse: previous attempt logs archived before the group is restarted',
    job: { groupPolicy: 'Reuse' },
    runs: [run(R9, '09:00', { phase: 'Succeeded', attempts: [done('Succeeded', '09:01', { groupName: 'j', logsArchived: false })] })],
    observed: [group('j', { run: R9 })],
    now: '10:00',
    expect: [`startRun ${R10}`, `archive ${R9}#1`, `launch ${R10}#1 update j`],
  },
  {
    name: 'Reuse: retry reuses the group',
    job: { groupPolicy: 'Reuse', cleanup: { onFailure: 'Keep' } },
    runs: [run(R9, '09:00', { phase: 'Retrying', nextAttemptAt: Date.parse('2026-01-10T09:02:00Z'), attempts: [done('Failed', '09:01', { groupName: 'j' })] })],
    observed: [group('j', { run: R9 })],
    now: '09:02',
    expect: [`launch ${R9}#2 update j`],
  },
  {
    name: 'Reuse: Delete cleanup removes the group after a run',
    job: { groupPolicy: 'Reuse' },
    runs: [run(R9, '09:00', { phase: 'Succeeded', attempts: [done('Succeeded', '09:01', { groupName: 'j' })] })],
    observed: [group('j', { run: R9 })],
    now: '09:02',
    expect: ['delete j Cleanup'],
  },
];

const cleanup: Scenario[] = [
  { name: 'success, onSuccess Delete: delete the group', runs: [run(R9, '09:00', { phase: 'Succeeded', attempts: [done('Succeeded', '09:01')] })], now: '09:02', expect: [`delete ${R9} Cleanup`] },
  { name: 'success, logs not archived yet: archive first', runs: [run(R9, '09:00', { phase: 'Succeeded', attempts: [done('Succeeded', '09:01', { logsArchived: false })] })], now: '09:02', expect: [`archive ${R9}#1`, `delete ${R9} Cleanup`] },
  { name: 'failure, onFailure Keep with ttl: wait for the TTL', runs: [run(R9, '09:00', { phase: 'Failed', attempts: [done('Failed', '09:30')] })], now: '09:40', expect: [], wake: '10:00:00' },
  { name: 'failure kept until the TTL expires', runs: [run(R9, '09:00', { phase: 'Failed', attempts: [done('Failed', '09:30')] })], now: '09:45', wake: '10:00:00', expect: [] },
  { name: 'TTL expired: delete the kept group', job: { cleanup: { ttlAfterFinished: '10m' } }, runs: [run(R9, '09:00', { phase: 'Failed', attempts: [done('Failed', '09:30')] })], now: '09:40', expect: [`delete ${R9} TTL`] },
  { name: 'Keep without TTL: kept forever', job: { cleanup: { onSuccess: 'Keep', ttlAfterFinished: null } }, runs: [run(R9, '09:00', { phase: 'Succeeded', attempts: [done('Succeeded', '09:01')] })], now: '09:40', expect: [], wake: '10:00:00' },
  { name: 'group already deleted: nothing', runs: [run(R9, '09:00', { phase: 'Succeeded', attempts: [done('Succeeded', '09:01', { groupDeleted: true })] })], now: '09:40', expect: [] },
  {
    name: 'failed attempt of a retrying run follows onFailure Delete',
    job: { retries: 1, cleanup: { onFailure: 'Delete' } },
    runs: [run(R9, '09:00', { phase: 'Retrying', nextAttemptAt: Date.parse('2026-01-10T09:02:00Z'), attempts: [done('Failed', '09:01')] })],
    now: '09:01:10',
    expect: [`delete ${R9} Cleanup`],
    wake: '09:02:00',
  },
  {
    name: 'history: successful runs beyond the limit are pruned',
    runs: ['05:00', '06:00', '07:00', '08:00'].map((t) => {
      const id = `j-20260110${t.replace(':', '')}`;
      return run(id, t, { phase: 'Succeeded', finishedAt: Date.parse(`2026-01-10T${t}:30Z`), attempts: [attempt(id, 1, { phase: 'Succeeded', logsArchived: true, groupDeleted: true })] });
    }),
    now: '09:30',
    expect: ['prune j-202601100500'],
  },
  {
    name: 'history: failed runs beyond the limit lose their kept group first',
    runs: ['07:00', '08:00'].map((t) => {
      const id = `j-20260110${t.replace(':', '')}`;
      return run(id, t, { phase: 'Failed', attempts: [attempt(id, 1, { phase: 'Failed', finishedAt: Date.parse(`2026-01-10T${t}:30Z`), logsArchived: true })] });
    }),
    job: { cleanup: { ttlAfterFinished: null } },
    now: '09:30',
    expect: ['delete j-202601100700 History', 'prune j-202601100700'],
  },
  {
    name: 'history limit 0: every finished success is pruned (archive first)',
    job: { successfulRunsHistoryLimit: 0, cleanup: { onSuccess: 'Keep' } },
    runs: [run(R9, '09:00', { phase: 'Succeeded', attempts: [done('Succeeded', '09:01', { logsArchived: false })] })],
    now: '09:30',
    expect: [`archive ${R9}#1`, `delete ${R9} History`, `prune ${R9}`],
  },
  { name: 'orphan: a group of the job no record refers to', observed: [group('j-202601090300', { state: undefined })], now: '09:30', expect: ['archive j-202601090300#1', 'delete j-202601090300 Orphan'] },
  { name: 'a kept group of a known run is not an orphan', job: { cleanup: { onSuccess: 'Keep', ttlAfterFinished: null } }, runs: [run(R9, '09:00', { phase: 'Succeeded', attempts: [done('Succeeded', '09:01')] })], observed: [group(R9)], now: '09:30', expect: [] },
  { name: 'the group of a live attempt is not an orphan', runs: live({ lastObservedAt: Date.parse('2026-01-10T09:29:50Z') }), observed: [group(R9)], now: '09:30', expect: [], wake: '09:30:20' },
];

const gone: Scenario[] = [
  { name: 'deleted job with nothing left: finalize', job: null, now: '09:30', expect: ['finalize'], wake: null },
  {
    name: 'deleted job with a running attempt: archive, fail, delete',
    job: null,
    runs: live(),
    observed: [group(R9)],
    now: '09:30',
    expect: [`archive ${R9}#1`, `finishAttempt ${R9}#1 Failed JobDeleted`, `finishRun ${R9} Failed JobDeleted`, `delete ${R9} JobDeleted`],
  },
  { name: 'deleted job with a kept finished group', job: null, runs: [run(R9, '09:00', { phase: 'Succeeded', attempts: [done('Succeeded', '09:01')] })], observed: [group(R9)], now: '09:30', expect: [`delete ${R9} JobDeleted`] },
  { name: 'deleted job: a group without a record is archived and deleted', job: null, observed: [group('j-202601090300')], now: '09:30', expect: ['archive j-202601090300#1', 'delete j-202601090300 Orphan'] },
  { name: 'deleted job whose groups are all gone: finalize', job: null, runs: [run(R9, '09:00', { phase: 'Failed', attempts: [done('Failed', '09:01', { groupDeleted: true })] })], now: '09:30', expect: ['finalize'] },
  { name: 'deleted job: a pending manual trigger is ignored', job: null, state: { pendingManual: [{ id: 'j-m20260110093000', requestedAt: Date.parse('2026-01-10T09:30:00Z') }] }, now: '09:30:01', expect: ['finalize'] },
];

const caps: Scenario[] = [
  { name: '@yearly: the wake-up is capped at 24 h and re-planned', job: { schedule: '@yearly' }, state: { anchor: Date.parse('2026-01-01T00:00:00Z') }, now: '09:30', expect: [], wake: '2026-01-11T09:30:00Z' },
  { name: '@monthly within a day of its slot wakes at the slot', job: { schedule: '@monthly' }, state: { anchor: Date.parse('2026-01-01T00:00:00Z') }, now: '2026-01-31T09:30:00Z', expect: [], wake: '2026-02-01T00:00:00Z' },
  { name: '@monthly slot due', job: { schedule: '@monthly' }, state: { anchor: Date.parse('2026-01-01T00:00:00Z') }, now: '2026-02-01T00:00:01Z', expect: ['startRun j-202602010000', 'launch j-202602010000#1 create j-202602010000'] },
];

const all = [...slots, ...manual, ...progress, ...reuse, ...cleanup, ...gone, ...caps];

describe('planner scenarios', () => {
  it('has at least 80 named, distinct scenarios', () => {
    expect(all.length).toBeGreaterThanOrEqual(80);
    expect(new Set(all.map((s) => s.name)).size).toBe(all.length);
  });

  it.each(all.map((s) => [s.name, s] as const))('%s', (_name, s) => {
    const input = inputOf(s);
    const out = plan(input);
    expect(out.actions.map(render)).toEqual(s.expect);
    if (s.wake !== undefined) expect(out.wakeAt === null ? null : fmt(out.wakeAt)).toEqual(s.wake);
    // Planning twice on the same input yields the same answer, and the input is not mutated.
    const { schedule, ...data } = input;
    const again = structuredClone(data);
    expect(plan(input)).toEqual(out);
    expect({ ...input, schedule }).toEqual({ ...again, schedule });
  });
});

