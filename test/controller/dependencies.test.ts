/**
 * spec.dependsOn through the reconciler (in-memory ACI, fake clock): A hourly, B daily on A. B runs
 * once per interval after the last A; a failed A run makes B UpstreamFailed; clearing that A run
 * (it succeeds) wakes B through the queue hook and B runs. No polling while B waits.
 */
import { operatorVerbs } from '../../src/controller/operator';
import { Harness, spec, T0 } from './reconciler-harness';

const HOUR = 3_600_000;
const D11 = Date.UTC(2026, 0, 11);

describe('dependsOn: daily B on hourly A', () => {
  it('B waits for all of its day, is UpstreamFailed after a failed A run, and runs once that run is cleared and succeeds', async () => {
    const h = new Harness();
    h.putJob('a', spec({ schedule: '0 * * * *', successfulRunsHistoryLimit: 0, failedRunsHistoryLimit: 0, cleanup: { onSuccess: 'Delete', onFailure: 'Delete' } }));
    h.putJob('b', spec({ schedule: '0 0 * * *', startingDeadlineSeconds: null, dependsOn: [{ job: 'a' }] }));
    // A's 00:00 slot of the 10th passed before the jobs were stored; its first slot is 01:00.
    await h.reconcile('a');
    await h.reconcile('b');
    const failAt = 'a-202601100500';
    let bReconciles = 0;
    const driveB = async (): Promise<void> => {
      while (h.woken.length > 0) {
        h.woken.splice(0);
        bReconciles++;
        await h.reconcile('b');
      }
    };
    // A's 24 hourly runs of the 10th's interval: 01:00 … 11th 00:00. One of them fails.
    for (let t = Date.UTC(2026, 0, 10, 1); t <= D11; t += HOUR) {
      h.clock.t = t + 10_000;
      await h.reconcile('a');
      const id = `a-${new Date(t).toISOString().slice(0, 16).replace(/[-T:]/g, '')}`;
      if (t === D11) {
        // B's slot is due now too: it is recorded Waiting on A's last run, which still runs.
        await h.reconcile('b');
        expect((await h.store.getRun('b-202601110000'))).toMatchObject({ phase: 'UpstreamFailed', waitReason: 'UpstreamFailed' });
      }
      h.groups.finish(id, id === failAt ? 1 : 0);
      h.clock.t += 3_000;
      await h.reconcile('a');
      expect((await h.store.getRun(id))!.phase).toBe(id === failAt ? 'Failed' : 'Succeeded');
      await driveB();
    }
    expect(h.creations().filter((n) => n.startsWith('b-'))).toEqual([]);
    const blocked = (await h.store.getRun('b-202601110000'))!;
    expect(blocked.waitMessage).toMatch(/a-202601100500 failed/);
    // runs B still needs are kept although A's history limits are 0
    expect((await h.store.getRun(failAt))).toBeDefined();
    expect((await h.store.getRun('a-202601100100'))).toBeDefined();

    // B is not polled while it waits: its next wake-up is capped, not seconds away.
    const r = await h.reconcile('b');
    expect(r.requeueAfterMs === null || r.requeueAfterMs > HOUR).toBe(true);
    const before = bReconciles;

    // Clear the failed A run: it runs again and succeeds; that wakes B, which runs.
    await operatorVerbs({ store: h.store, clock: h.clock, enqueue: () => {} }).clear(failAt);
    h.clock.t += 1_000;
    await h.reconcile('a');
    expect(h.groups.has(`${failAt}-a2`)).toBe(true);
    h.groups.finish(`${failAt}-a2`, 0);
    h.clock.t += 3_000;
    await h.reconcile('a');
    expect((await h.store.getRun(failAt))!.phase).toBe('Succeeded');
    expect(h.woken).toContain('b');
    await driveB();
    expect(bReconciles - before).toBeLessThanOrEqual(2);
    expect(h.creations().filter((n) => n.startsWith('b-'))).toEqual(['b-202601110000']);
    expect(h.groups.inspect('b-202601110000').runEnv).toMatchObject({ ACICTL_DATA_INTERVAL_START: '2026-01-10T00:00:00Z', ACICTL_DATA_INTERVAL_END: '2026-01-11T00:00:00Z' });
    h.groups.finish('b-202601110000', 0);
    h.clock.t += 3_000;
    await h.reconcile('b');
    expect((await h.store.getRun('b-202601110000'))!.phase).toBe('Succeeded');
    const reasons = (await h.store.listEvents('b', 100)).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['UpstreamFailed', 'DependenciesMet', 'RunSucceeded']));
    // once B's interval is done, A's old runs may go
    h.clock.t += 3_000;
    await h.reconcile('a');
    expect((await h.store.getRun('a-202601100100'))).toBeUndefined();
  });

  it('an interval that needs A slots from before A existed is UpstreamFailed (UpstreamMissed)', async () => {
    const h = new Harness();
    h.clock.t = Date.UTC(2026, 0, 10, 22, 30);
    h.putJob('a', spec({ schedule: '0 * * * *' }));
    h.putJob('b', spec({ schedule: '0 0 * * *', startingDeadlineSeconds: 600, dependsOn: [{ job: 'a' }], startTime: '2026-01-10T12:00:00Z' }));
    await h.reconcile('a');
    await h.reconcile('b');
    for (const t of [Date.UTC(2026, 0, 10, 23), D11]) {
      h.clock.t = t + 5_000;
      await h.reconcile('a');
    }
    h.groups.finish('a-202601102300', 0);
    h.clock.t += 2_000;
    await h.reconcile('a');
    // B's interval [10th 00:00, 11th 00:00) needs A slots before A existed: those are missed.
    await h.reconcile('b');
    expect((await h.store.getRun('b-202601110000'))).toMatchObject({ phase: 'UpstreamFailed', waitReason: 'UpstreamMissed' });
  });

  it('dependsOnPast: a slot waits for the previous slot; a failed previous slot blocks until it is cleared', async () => {
    const h = new Harness();
    h.putJob('p', spec({ schedule: '0 * * * *', dependsOnPast: true, startingDeadlineSeconds: null, failedRunsHistoryLimit: 5, cleanup: { onSuccess: 'Delete', onFailure: 'Delete' } }));
    await h.reconcile('p');
    h.clock.t = Date.UTC(2026, 0, 10, 1) + 5_000;
    await h.reconcile('p');
    h.groups.finish('p-202601100100', 2);
    h.clock.t += 3_000;
    await h.reconcile('p');
    h.clock.t = Date.UTC(2026, 0, 10, 2) + 5_000;
    await h.reconcile('p');
    expect((await h.store.getRun('p-202601100200'))).toMatchObject({ phase: 'UpstreamFailed', waitReason: 'PreviousFailed' });
    expect(h.groups.has('p-202601100200')).toBe(false);
    await operatorVerbs({ store: h.store, clock: h.clock, enqueue: () => {} }).clear('p-202601100100');
    await h.reconcile('p');
    h.groups.finish('p-202601100100-a2', 0);
    h.clock.t += 3_000;
    await h.reconcile('p');
    await h.reconcile('p');
    expect((await h.store.getRun('p-202601100100'))!.phase).toBe('Succeeded');
    expect(h.groups.has('p-202601100200')).toBe(true);
  });
});
