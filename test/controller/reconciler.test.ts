import { Harness, spec, T0 } from './reconciler-harness';

const HOUR = 3_600_000;

describe('Reconciler: a scheduled PerRun job', () => {
  it('runs at the slot, streams each log line once, archives logs, then deletes the group', async () => {
    const h = new Harness();
    await h.putJob('rep', spec());
    const first = await h.reconcile('rep');
    expect(await h.store.listRuns('rep')).toEqual([]);
    expect(first.requeueAfterMs).toBe(Date.UTC(2026, 0, 10, 1) - T0);
    await h.runFor('rep', first.requeueAfterMs!);
    const runs = await h.store.listRuns('rep');
    expect(runs.map((r) => r.id)).toEqual(['rep-202601100100']);
    expect(h.groups.has('rep-202601100100')).toBe(true);
    expect(h.groups.inspect('rep-202601100100').runEnv).toMatchObject({
      ACICTL_JOB: 'rep',
      ACICTL_RUN_ID: 'rep-202601100100',
      ACICTL_ATTEMPT: '1',
      ACICTL_SCHEDULED_TIME: '2026-01-10T01:00:00Z',
      ACICTL_DATA_INTERVAL_START: '2026-01-10T00:00:00Z',
      ACICTL_DATA_INTERVAL_END: '2026-01-10T01:00:00Z',
    });
    h.groups.appendLog('rep-202601100100', 'main', 'one\ntwo\nthr');
    await h.runFor('rep', 5_000);
    h.groups.appendLog('rep-202601100100', 'main', 'ee\nfour\n');
    await h.runFor('rep', 10_000);
    h.groups.appendLog('rep-202601100100', 'main', 'five');
    h.groups.finish('rep-202601100100', 0);
    await h.runFor('rep', 60_000);
    expect(h.lines.map((l) => l.line)).toEqual(['one', 'two', 'three', 'four', 'five']);
    expect(h.lines[0].f).toEqual({ job: 'rep', run: 'rep-202601100100', attempt: 1, container: 'main' });
    const run = (await h.store.getRun('rep-202601100100'))!;
    expect(run.phase).toBe('Succeeded');
    expect(run.attempts[0]).toMatchObject({ phase: 'Succeeded', exitCode: 0, logsArchived: true, groupDeleted: true });
    expect(await h.store.getLog('rep-202601100100', 1)).toEqual([{ container: 'main', content: 'one\ntwo\nthree\nfour\nfive' }]);
    expect(h.groups.has('rep-202601100100')).toBe(false);
    const order = h.groups.calls.filter((c) => c.op === 'logs' || c.op === 'delete').map((c) => c.op);
    expect(order[order.length - 1]).toBe('delete');
    const status = (await h.store.getJob('rep'))!.status;
    expect(status.lastRunResult).toBe('Succeeded');
    expect(status.conditions!.find((c) => c.type === 'LastRunSucceeded')!.status).toBe('True');
    expect(status.lastScheduleTime).toBe('2026-01-10T01:00:00.000Z');
    expect(status.nextScheduleTime).toBe('2026-01-10T02:00:00.000Z');
  });
});

const SLOT1 = Date.UTC(2026, 0, 10, 1);
const runId = (h: number) => `rep-2026011${h >= 24 ? 1 : 0}${String(h % 24).padStart(2, '0')}00`;

async function toFirstSlot(h: Harness, s = spec(), slot = SLOT1): Promise<void> {
  await h.putJob('rep', s);
  await h.reconcile('rep');
  await h.runFor('rep', slot - h.clock.t);
}
const TEN = Date.UTC(2026, 0, 10, 0, 10);

describe('Reconciler: retries, timeout, concurrency', () => {
  it('retries a failed attempt after retryDelay × factor^(n-1), then fails the run', async () => {
    const h = new Harness();
    await toFirstSlot(h, spec({ retries: 2, retryDelay: '10s', retryBackoff: { factor: 3, maxDelay: '1h' }, cleanup: { onFailure: 'Delete' } }));
    h.groups.finish('rep-202601100100', 3);
    await h.runFor('rep', 3_000);
    let run = (await h.store.getRun(runId(1)))!;
    expect(run.phase).toBe('Retrying');
    const failedAt = run.attempts[0].finishedAt!;
    expect(run.nextAttemptAt).toBe(failedAt + 10_000);
    expect(run.attempts[0]).toMatchObject({ reason: 'ExitCode', exitCode: 3, logsArchived: true, groupDeleted: true });
    h.clock.t = failedAt + 9_999;
    await h.reconcile('rep');
    expect(h.groups.has('rep-202601100100-a2')).toBe(false);
    h.clock.t = failedAt + 10_000;
    await h.reconcile('rep');
    expect(h.groups.has('rep-202601100100-a2')).toBe(true);
    expect(h.groups.inspect('rep-202601100100-a2').runEnv.ACICTL_ATTEMPT).toBe('2');
    h.groups.finish('rep-202601100100-a2', 1);
    await h.runFor('rep', 3_000);
    run = (await h.store.getRun(runId(1)))!;
    expect(run.nextAttemptAt! - run.attempts[1].finishedAt!).toBe(30_000);
    await h.runFor('rep', 31_000);
    h.groups.finish('rep-202601100100-a3', 1);
    await h.runFor('rep', 5_000);
    run = (await h.store.getRun(runId(1)))!;
    expect(run.phase).toBe('Failed');
    expect(run.attempts.map((a) => a.phase)).toEqual(['Failed', 'Failed', 'Failed']);
    expect(h.creations()).toEqual(['rep-202601100100', 'rep-202601100100-a2', 'rep-202601100100-a3']);
  });

  it('stops a hung attempt at its timeout and fails it with reason Timeout', async () => {
    const h = new Harness();
    await toFirstSlot(h, spec({ timeout: '30s' }));
    await h.runFor('rep', 31_000);
    const run = (await h.store.getRun(runId(1)))!;
    expect(run.phase).toBe('Failed');
    expect(run.attempts[0]).toMatchObject({ phase: 'Failed', reason: 'Timeout', logsArchived: true });
    expect(h.groups.calls.some((c) => c.op === 'stop' && c.name === 'rep-202601100100')).toBe(true);
    // onFailure defaults to Keep: the stopped group stays for inspection.
    expect(h.groups.has('rep-202601100100')).toBe(true);
  });

  it('Forbid: a slot during an active run waits, is recorded missed after its deadline, and the next slot runs', async () => {
    const h = new Harness();
    await toFirstSlot(h, spec({ schedule: '*/10 * * * *', startingDeadlineSeconds: 60 }), TEN);
    expect((await h.store.listRuns('rep')).map((r) => r.id)).toEqual(['rep-202601100010']);
    await h.runFor('rep', 10 * 60_000 + 30_000);
    expect((await h.store.listRuns('rep')).map((r) => r.id)).toEqual(['rep-202601100010']);
    expect((await h.store.getSchedulerState('rep'))!.missedCount).toBe(0);
    await h.runFor('rep', 31_000);
    expect((await h.store.getSchedulerState('rep'))!.missedCount).toBe(1);
    expect(h.events.filter((e) => e.reason === 'MissedSchedule').map((e) => e.message)).toEqual(['1 slot(s) up to 2026-01-10T00:20:00Z missed (ConcurrencyForbid)']);
    h.groups.finish('rep-202601100010', 0);
    await h.runFor('rep', 9 * 60_000);
    expect((await h.store.listRuns('rep')).map((r) => r.id)).toEqual(['rep-202601100010', 'rep-202601100030']);
  });

  it('Replace: stops the active run, marks it Failed/Replaced, starts the new slot', async () => {
    const h = new Harness();
    await toFirstSlot(h, spec({ schedule: '*/10 * * * *', concurrencyPolicy: 'Replace' }), TEN);
    await h.runFor('rep', 10 * 60_000);
    const [old, cur] = await h.store.listRuns('rep');
    expect(old).toMatchObject({ id: 'rep-202601100010', phase: 'Failed' });
    expect(old.attempts[0]).toMatchObject({ reason: 'Replaced', logsArchived: true });
    expect(cur).toMatchObject({ id: 'rep-202601100020', phase: 'Running' });
    const stopIdx = h.groups.calls.findIndex((c) => c.op === 'stop' && c.name === 'rep-202601100010');
    const createIdx = h.groups.calls.findIndex((c) => c.op === 'createOrUpdate' && c.name === 'rep-202601100020');
    expect(stopIdx).toBeGreaterThan(-1);
    expect(stopIdx).toBeLessThan(createIdx);
  });

  it('Allow: overlapping runs each get their own group', async () => {
    const h = new Harness();
    await toFirstSlot(h, spec({ schedule: '*/10 * * * *', concurrencyPolicy: 'Allow' }), TEN);
    await h.runFor('rep', 10 * 60_000);
    expect((await h.store.listRuns('rep')).map((r) => r.phase)).toEqual(['Running', 'Running']);
    expect(h.groups.has('rep-202601100010')).toBe(true);
    expect(h.groups.has('rep-202601100020')).toBe(true);
  });
});

describe('Reconciler: Reuse groups', () => {
  const reuse = (image: string, cpu = 1) =>
    spec({
      groupPolicy: 'Reuse',
      cleanup: { onSuccess: 'Keep', onFailure: 'Keep' },
      template: { resourceGroup: 'rg1', location: 'eastus', containers: [{ name: 'main', image, resources: { requests: { cpu, memoryInGB: 1 } } }] },
    });

  it('creates the group once, updates it in place for an image change, recreates it for a CPU change', async () => {
    const h = new Harness();
    await toFirstSlot(h, reuse('app:1'));
    expect(h.groups.has('rep')).toBe(true);
    h.groups.finish('rep', 0);
    await h.runFor('rep', 60_000);
    await h.putJob('rep', reuse('app:2'));
    await h.runFor('rep', HOUR - 60_000);
    expect(h.groups.inspect('rep').template!.containers[0].image).toBe('app:2');
    expect(h.groups.inspect('rep').runEnv.ACICTL_RUN_ID).toBe('rep-202601100200');
    expect(h.groups.count('delete')).toBe(0);
    h.groups.finish('rep', 0);
    await h.runFor('rep', 60_000);
    await h.putJob('rep', reuse('app:2', 2));
    await h.runFor('rep', HOUR - 60_000);
    expect(h.groups.count('delete')).toBe(1);
    expect(h.groups.inspect('rep').template!.containers[0].resources.requests.cpu).toBe(2);
    const puts = h.groups.calls.filter((c) => c.op === 'createOrUpdate');
    expect(puts.map((c) => Boolean(c.ifNoneMatch))).toEqual([true, false, true]);
    expect((await h.store.listRuns('rep')).map((r) => r.phase)).toEqual(['Succeeded', 'Succeeded', 'Running']);
  });

  it('never changes the group while a run is on it: the edit rolls in at the next run', async () => {
    const h = new Harness();
    await toFirstSlot(h, reuse('app:1'));
    await h.putJob('rep', reuse('app:2'));
    await h.runFor('rep', 30_000);
    expect(h.groups.inspect('rep').template!.containers[0].image).toBe('app:1');
    expect(h.creations()).toEqual(['rep']);
  });

  it('failIfExists: true — a foreign group with the job name fails the run (AlreadyExists) and is untouched', async () => {
    const h = new Harness();
    h.groups.seedUnmanaged({ subscriptionId: 'x', resourceGroup: 'rg1', name: 'rep' });
    h.groups.seedUnmanaged({ subscriptionId: '00000000-0000-0000-0000-0000000000aa', resourceGroup: 'rg1', name: 'rep' });
    await toFirstSlot(h, reuse('app:1'));
    await h.runFor('rep', 5_000);
    const run = (await h.store.getRun(runId(1)))!;
    expect(run.phase).toBe('Failed');
    expect(run.attempts[0].reason).toBe('AlreadyExists');
    const touching = h.groups.calls.filter((c) => c.name === 'rep' && ['stop', 'delete', 'start'].includes(c.op));
    expect(touching).toEqual([]);
    expect(h.groups.all().find((g) => g.name === 'rep' && g.subscriptionId.endsWith('aa'))!.tags).toEqual({});
  });

  it('failIfExists: false — the run uses a group of its own and leaves the foreign one alone', async () => {
    const h = new Harness();
    h.groups.seedUnmanaged({ subscriptionId: '00000000-0000-0000-0000-0000000000aa', resourceGroup: 'rg1', name: 'rep' });
    await toFirstSlot(h, { ...reuse('app:1'), failIfExists: false });
    const run = (await h.store.getRun(runId(1)))!;
    expect(run.attempts[0]).toMatchObject({ groupName: 'rep-202601100100', phase: 'Running' });
    h.groups.finish('rep-202601100100', 0);
    await h.runFor('rep', 60_000);
    expect((await h.store.getRun(runId(1)))!.phase).toBe('Succeeded');
    expect(h.groups.calls.filter((c) => c.name === 'rep' && c.op !== 'createOrUpdate' && c.op !== 'get')).toEqual([]);
  });
});

describe('Reconciler: crashes, manual runs, deletion, orphans', () => {
  it('a crash between recording the attempt and the PUT: the restart creates the group exactly once', async () => {
    const h = new Harness();
    await h.putJob('rep', spec());
    await h.reconcile('rep');
    h.clock.t = SLOT1;
    h.groups.injectError('createOrUpdate', new Error('process killed'), 1);
    await expect(h.reconcile('rep')).rejects.toThrow('process killed');
    expect((await h.store.getRun(runId(1)))!.attempts[0].phase).toBe('Creating');
    h.restart();
    await h.resync();
    h.clock.t += 1_000;
    await h.reconcile('rep');
    expect((await h.store.getRun(runId(1)))!.attempts[0].phase).toBe('Running');
    expect(h.groups.all().filter((g) => g.name.startsWith('rep-')).length).toBe(1);
  });

  it('a crash after the PUT went through (response lost): the restart adopts the group, no second run', async () => {
    const h = new Harness();
    await h.putJob('rep', spec());
    await h.reconcile('rep');
    h.clock.t = SLOT1;
    h.groups.injectError('createOrUpdate', new Error('process killed'), 1, { afterEffect: true });
    await expect(h.reconcile('rep')).rejects.toThrow('process killed');
    h.restart();
    h.clock.t += 1_000;
    await h.reconcile('rep'); // cache not even resynced: the recover path GETs
    expect((await h.store.getRun(runId(1)))!.attempts[0].phase).toBe('Running');
    expect(h.groups.inspect('rep-202601100100').puts).toBe(1);
  });

  it('throttling is thrown for the workqueue to back off, and the next pass completes', async () => {
    const h = new Harness();
    await h.putJob('rep', spec());
    await h.reconcile('rep');
    h.clock.t = SLOT1;
    const { AciError } = await import('../../src/aci/types');
    h.groups.injectError('createOrUpdate', new AciError('Throttled', 'slow down', 'SubscriptionRequestsThrottled', 5_000, 429), 1);
    await expect(h.reconcile('rep')).rejects.toMatchObject({ kind: 'Throttled' });
    h.clock.t += 5_000;
    await h.reconcile('rep');
    expect((await h.store.getRun(runId(1)))!.attempts[0].phase).toBe('Running');
    expect(h.groups.inspect('rep-202601100100').puts).toBe(1);
  });

  it('a manual run starts at once with a manual run id', async () => {
    const h = new Harness();
    await h.putJob('man', spec({ schedule: null }));
    await h.reconcile('man');
    const st = (await h.store.getSchedulerState('man'))!;
    await h.store.putSchedulerState('man', { ...st, pendingManual: [{ id: 'man-m20260110000040', requestedAt: T0 + 10_000 }] });
    h.clock.t = T0 + 10_000;
    const r = await h.reconcile('man');
    expect((await h.store.listRuns('man')).map((x) => [x.id, x.manual])).toEqual([['man-m20260110000040', true]]);
    expect((await h.store.getSchedulerState('man'))!.pendingManual).toEqual([]);
    expect(h.groups.inspect('man-m20260110000040').runEnv.ACICTL_SCHEDULED_TIME).toBe('2026-01-10T00:00:40Z');
    expect(r.requeueAfterMs).toBe(2_000);
  });

  it('deletion: archives logs before deleting every group, drops the finalizer, then the job and its history', async () => {
    const h = new Harness();
    await toFirstSlot(h, spec({ cleanup: { onSuccess: 'Keep' } }));
    h.groups.setLogs('rep-202601100100', 'main', 'kept\n');
    // what the store holds at the moment the group is deleted (invariant 7: logs are kept first)
    const del = h.groups.delete.bind(h.groups);
    let atDelete: { log: unknown; reason?: string } | undefined;
    h.groups.delete = async (ref, opts) => {
      atDelete = { log: await h.store.getLog(runId(1), 1), reason: (await h.store.getRun(runId(1)))?.attempts[0].reason };
      return del(ref, opts);
    };
    await h.deleteJob('rep');
    await h.reconcile('rep');
    expect(h.groups.has('rep-202601100100')).toBe(false);
    expect(atDelete).toEqual({ log: [{ container: 'main', content: 'kept\n' }], reason: 'JobDeleted' });
    expect(await h.store.getJob('rep')).toBeUndefined();
    // the job's runs and archived logs went with it (issue 21: a re-created job starts clean)
    expect(await h.store.getRun(runId(1))).toBeUndefined();
    expect(await h.store.getLog(runId(1), 1)).toEqual([]);
  });

  it('orphans: groups of a job that no longer exists are archived and deleted; unmanaged ones are not', async () => {
    const h = new Harness();
    await toFirstSlot(h, spec());
    h.groups.setLogs('rep-202601100100', 'main', 'last words\n');
    await h.store.deleteJob('rep');
    h.groups.seedUnmanaged({ subscriptionId: '00000000-0000-0000-0000-0000000000aa', resourceGroup: 'rg1', name: 'not-ours', tags: { 'acictl.dev/job': 'rep' } });
    h.restart();
    await h.resync();
    expect(h.observed.jobNames()).toEqual(['rep']);
    await h.reconcile('rep');
    expect(h.groups.has('rep-202601100100')).toBe(false);
    expect(h.groups.has('not-ours')).toBe(true);
    expect((await h.store.getLog(runId(1), 1))[0].content).toBe('last words\n');
  });
});

describe('Reconciler: steady state, status, polling cost', () => {
  it('makes zero ARM writes and no status writes at steady state', async () => {
    const h = new Harness();
    await toFirstSlot(h, spec());
    h.groups.finish('rep-202601100100', 0);
    await h.runFor('rep', 60_000);
    const writes = h.writes();
    const rv = (await h.store.getJob('rep'))!.resourceVersion;
    const calls = h.groups.calls.length;
    for (let i = 0; i < 5; i++) {
      h.clock.t += 1_000;
      await h.reconcile('rep');
    }
    expect(h.writes()).toBe(writes);
    expect(h.groups.calls.length).toBe(calls);
    expect((await h.store.getJob('rep'))!.resourceVersion).toBe(rv);
  });

  it('keeps an Invalid condition set by the watcher (SourceInvalid) and reports not Ready', async () => {
    const h = new Harness();
    await h.putJob('rep', spec());
    await h.store.putJobStatus('rep', {
      conditions: [{ type: 'Invalid', status: 'True', reason: 'SourceInvalid', message: 'jobs/rep.yaml:3:1: bad', lastTransitionTime: '2026-01-01T00:00:00.000Z' }],
    });
    await h.reconcile('rep');
    const c = (await h.store.getJob('rep'))!.status.conditions!;
    expect(c.find((x) => x.type === 'Invalid')).toMatchObject({ status: 'True', reason: 'SourceInvalid', message: 'jobs/rep.yaml:3:1: bad' });
    expect(c.find((x) => x.type === 'Ready')!.status).toBe('False');
  });

  it('marks an unparsable schedule Invalid without running or deleting anything', async () => {
    const h = new Harness();
    await h.putJob('rep', spec({ schedule: 'every now and then' }));
    await h.reconcile('rep');
    const c = (await h.store.getJob('rep'))!.status.conditions!;
    expect(c.find((x) => x.type === 'Invalid')).toMatchObject({ status: 'True', reason: 'InvalidSchedule' });
    expect(c.find((x) => x.type === 'Scheduled')).toMatchObject({ status: 'False', reason: 'InvalidSchedule' });
    expect(h.groups.calls).toEqual([]);
  });

  it('observes a 60-second run with at most 1/10 of one GET + one log call per second', async () => {
    const h = new Harness();
    await toFirstSlot(h, spec());
    const before = h.groups.calls.length;
    await h.runFor('rep', 60_000);
    h.groups.finish('rep-202601100100', 0);
    await h.runFor('rep', 40_000);
    const observeCalls = h.groups.calls.slice(before).filter((c) => c.op === 'get' || c.op === 'logs').length;
    expect((await h.store.getRun(runId(1)))!.phase).toBe('Succeeded');
    expect(observeCalls).toBeLessThanOrEqual(12);
  });
});

describe('Reconciler: long waits through the timer cap (fake clock)', () => {
  it.each([
    ['@monthly', Date.UTC(2026, 1, 1), 'rep-202602010000'],
    ['@yearly', Date.UTC(2027, 0, 1), 'rep-202701010000'],
  ])('%s wakes at its slot, never asking for more than WAIT_CAP_MS at once', async (schedule, slot, id) => {
    const { WAIT_CAP_MS, MAX_TIMER_MS } = await import('../../src/api/clock');
    const h = new Harness();
    await h.putJob('rep', spec({ schedule }));
    let wakes = 0;
    for (;;) {
      const r = await h.reconcile('rep');
      expect(r.requeueAfterMs).not.toBeNull();
      expect(r.requeueAfterMs!).toBeLessThanOrEqual(WAIT_CAP_MS);
      expect(r.requeueAfterMs!).toBeLessThan(MAX_TIMER_MS);
      if ((await h.store.listRuns('rep')).length > 0) break;
      h.clock.t += r.requeueAfterMs!;
      wakes++;
      expect(wakes).toBeLessThan(400);
    }
    const [r] = await h.store.listRuns('rep');
    expect(r.id).toBe(id);
    expect(h.clock.t).toBe(slot);
  });
});
