/**
 * The operator's verbs through the reconciler (in-memory ACI, fake clock): backfill with a cap on
 * active runs, clear (re-run as a new attempt under the same run name) and cancel.
 */
import { operatorVerbs, OperatorError } from '../../src/controller/operator';
import { scheduledRunId } from '../../src/api/names';
import { Harness, spec, T0 } from './reconciler-harness';

const DAY = 86_400_000;

function verbs(h: Harness, queued: string[] = []) {
  return operatorVerbs({ store: h.store, clock: h.clock, enqueue: (n) => queued.push(n) });
}

const activeRuns = async (h: Harness, job: string) => (await h.store.listRuns(job)).filter((r) => r.phase === 'Pending' || r.phase === 'Running' || r.phase === 'Retrying');

/** Reconcile, finish every running group of the job with `exit(name)`, advance the clock; sample the active count each round. */
async function drive(h: Harness, job: string, rounds: number, exit: (group: string) => number = () => 0): Promise<number> {
  let peak = 0;
  for (let i = 0; i < rounds; i++) {
    await h.reconcile(job);
    peak = Math.max(peak, (await activeRuns(h, job)).length);
    for (const g of h.groups.all()) if (g.state === 'Running') h.groups.finish(g.name, exit(g.name));
    h.clock.t += 5_000;
  }
  return peak;
}

describe('acictl backfill', () => {
  const daily = spec({ schedule: '0 0 * * *', concurrencyPolicy: 'Allow', successfulRunsHistoryLimit: 100, failedRunsHistoryLimit: 100, cleanup: { onSuccess: 'Delete', onFailure: 'Delete' } });
  const from = Date.UTC(2025, 11, 1);
  const to = Date.UTC(2025, 11, 30);

  it('30 daily slots with maxActive 3: never more than 3 active, 30 Succeeded, deterministic names; a second identical backfill creates nothing', async () => {
    const h = new Harness();
    await h.putJob('bf', daily);
    await h.reconcile('bf');
    const queued: string[] = [];
    const v = verbs(h, queued);
    const dry = await v.backfill('bf', { from, to, maxActive: 3, dryRun: true });
    expect(dry.slots).toHaveLength(30);
    expect(dry.slots.every((s) => s.action === 'run')).toBe(true);
    expect((await h.store.getSchedulerState('bf'))!.backfill ?? null).toBeNull(); // a dry run records nothing

    const res = await v.backfill('bf', { from, to, maxActive: 3 });
    expect(queued).toEqual(['bf']);
    await expect(v.backfill('bf', { from, to, maxActive: 3 })).rejects.toThrow(OperatorError); // one at a time
    await h.reconcile('bf');
    expect((await h.store.getJob('bf'))!.status.backfill).toMatchObject({ id: res.id, slots: 30, handled: 3, active: 3 });

    const peak = await drive(h, 'bf', 60);
    expect(peak).toBe(3);
    const runs = await h.store.listRuns('bf');
    const expected = Array.from({ length: 30 }, (_, i) => scheduledRunId('bf', from + i * DAY));
    expect(runs.map((r) => r.id).sort()).toEqual(expected);
    expect(runs.every((r) => r.phase === 'Succeeded' && r.backfill === res.id)).toBe(true);
    expect(h.creations().sort()).toEqual(expected);
    expect((await h.store.getSchedulerState('bf'))!.backfill).toBeNull();
    expect((await h.store.getJob('bf'))!.status.backfill).toBeUndefined();
    const reasons = (await h.store.listEvents('bf', 1000)).map((e) => e.reason);
    expect(reasons).toContain('BackfillRequested');
    expect(reasons).toContain('BackfillCompleted');
    // The schedule's own anchor is untouched: the next daily slot still runs normally.
    expect((await h.store.getSchedulerState('bf'))!.lastScheduleTime).toBeNull();

    const creates = h.creations().length;
    const again = await v.backfill('bf', { from, to, maxActive: 3 });
    expect(again.slots.every((s) => s.action === 'skip')).toBe(true);
    await drive(h, 'bf', 3);
    expect(h.creations().length).toBe(creates);
    expect((await h.store.getSchedulerState('bf'))!.backfill).toBeNull();
  });

  it('--rerun re-runs finished slots as new attempts under the same names', async () => {
    const h = new Harness();
    await h.putJob('bf', daily);
    await h.reconcile('bf');
    const v = verbs(h);
    await v.backfill('bf', { from, to: from + 2 * DAY, maxActive: 3 });
    await drive(h, 'bf', 5);
    expect((await h.store.listRuns('bf')).map((r) => r.attempts.length)).toEqual([1, 1, 1]);
    const re = await v.backfill('bf', { from, to: from + 2 * DAY, maxActive: 3, rerun: true });
    expect(re.slots.map((s) => s.action)).toEqual(['rerun', 'rerun', 'rerun']);
    await drive(h, 'bf', 5);
    const runs = await h.store.listRuns('bf');
    expect(runs.map((r) => [r.phase, r.attempts.length])).toEqual([['Succeeded', 2], ['Succeeded', 2], ['Succeeded', 2]]);
    expect(h.creations().filter((n) => n.endsWith('-a2'))).toHaveLength(3);
  });

  it('under Forbid a backfill runs one slot at a time', async () => {
    const h = new Harness();
    await h.putJob('bf', { ...daily, concurrencyPolicy: 'Forbid' });
    await h.reconcile('bf');
    await verbs(h).backfill('bf', { from, to: from + 4 * DAY, maxActive: 3 });
    const peak = await drive(h, 'bf', 20);
    expect(peak).toBe(1);
    expect((await h.store.listRuns('bf')).filter((r) => r.phase === 'Succeeded')).toHaveLength(5);
  });

  it('rejects a range beyond the slot limit, a job without schedule and an unknown job', async () => {
    const h = new Harness();
    await h.putJob('bf', daily);
    await h.putJob('manual', spec({ schedule: undefined }));
    const v = verbs(h);
    await expect(v.backfill('bf', { from: Date.UTC(2020, 0, 1), to: T0, maxActive: 3 })).rejects.toThrow(/more than 1000 slots/);
    await expect(v.backfill('manual', { from, to })).rejects.toThrow(/no schedule/);
    await expect(v.backfill('nope', { from, to })).rejects.toThrow(/not found/);
    // The range is clipped at now: future slots are the schedule's business.
    expect((await v.backfill('bf', { from: T0 - DAY, to: T0 + 10 * DAY, dryRun: true })).slots).toHaveLength(1);
  });
});

describe('acictl clear and acictl runs cancel', () => {
  it('clear: a failed run runs again as attempt 2 under the same run name, with its retry budget afresh', async () => {
    const h = new Harness();
    await h.putJob('c', spec({ retries: 0, cleanup: { onFailure: 'Keep', ttlAfterFinished: null } }));
    await h.reconcile('c');
    await h.runFor('c', Date.UTC(2026, 0, 10, 1) - h.clock.t);
    const id = 'c-202601100100';
    h.groups.finish(id, 2);
    await h.runFor('c', 5_000);
    expect((await h.store.getRun(id))!.phase).toBe('Failed');
    const v = verbs(h);
    await expect(v.cancel(id)).rejects.toThrow(/only an active run/);
    await v.clear(id);
    await h.runFor('c', 1_000);
    let run = (await h.store.getRun(id))!;
    expect(run.phase).toBe('Running');
    expect(run.attempts.map((a) => a.attempt)).toEqual([1, 2]);
    expect(h.groups.has(`${id}-a2`)).toBe(true);
    expect(h.groups.inspect(`${id}-a2`).runEnv.ACICTL_ATTEMPT).toBe('2');
    await expect(v.clear(id)).rejects.toThrow(/only a finished run/);
    h.groups.finish(`${id}-a2`, 0);
    await h.runFor('c', 5_000);
    run = (await h.store.getRun(id))!;
    expect(run.phase).toBe('Succeeded');
    expect(run.clearedAt).toBeDefined();
    expect((await h.store.listEvents('c', 100)).map((e) => e.reason)).toContain('RunCleared');
    expect((await h.store.getSchedulerState('c'))!.pendingClears).toEqual([]);
  });

  it('cancel: the running attempt is stopped, its logs archived, the run Failed/Cancelled, its group deleted, no retry', async () => {
    const h = new Harness();
    await h.putJob('c', spec({ retries: 3 }));
    await h.reconcile('c');
    await h.runFor('c', Date.UTC(2026, 0, 10, 1) - h.clock.t);
    const id = 'c-202601100100';
    h.groups.appendLog(id, 'main', 'working\n');
    await verbs(h).cancel(id);
    await h.runFor('c', 60_000);
    const run = (await h.store.getRun(id))!;
    expect(run.phase).toBe('Failed');
    expect(run.attempts).toHaveLength(1);
    expect(run.attempts[0]).toMatchObject({ phase: 'Failed', reason: 'Cancelled', logsArchived: true, groupDeleted: true });
    expect(h.groups.has(id)).toBe(false);
    expect(await h.store.getLog(id, 1)).toEqual([{ container: 'main', content: 'working\n' }]);
    const ops = h.groups.calls.filter((c) => c.name === id).map((c) => c.op);
    expect(ops.indexOf('stop')).toBeGreaterThan(-1);
    expect(ops.lastIndexOf('delete')).toBeGreaterThan(ops.indexOf('stop'));
    expect((await h.store.listEvents('c', 100)).map((e) => e.reason)).toContain('RunCancelled');
  });
});
