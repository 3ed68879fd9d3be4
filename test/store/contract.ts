/**
 * The Store contract: the same cases run against every implementation (MemoryStore, SqliteStore,
 * PostgresStore). Not a test file by itself; memory.test.ts, sqlite.test.ts and postgres.test.ts call `storeContract`.
 */
import type { RunRecord, SchedulerState } from '../../src/api/runs';
import { StoreConflictError } from '../../src/store/types';
import type { Change, JobInput, OutboxEntry, Store, WrittenJob, WrittenRun } from '../../src/store/types';

export function jobInput(name: string, image = 'busybox:1', extra: Partial<JobInput> = {}): JobInput {
  return {
    name,
    finalizers: [],
    labels: { team: 'data' },
    annotations: {},
    spec: {
      schedule: '@daily',
      template: {
        resourceGroup: 'rg',
        location: 'eastus',
        containers: [{ name: 'main', image, command: ['echo', 'hi'], resources: { requests: { cpu: 1, memoryInGB: 1 } } }],
      },
    },
    source: { kind: 'api' },
    status: {},
    ...extra,
  };
}

export function runRecord(job: string, slot: number, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    id: `${job}-${slot}`,
    job,
    slot,
    manual: false,
    scheduledTime: slot,
    dataIntervalStart: slot,
    dataIntervalEnd: slot + 1000,
    phase: 'Pending',
    attempts: [{ attempt: 1, groupName: `${job}-${slot}`, phase: 'Creating', createdAt: slot, logsArchived: false, groupDeleted: false }],
    createdAt: slot,
    ...extra,
  };
}

const sched: SchedulerState = {
  anchor: 1000,
  scheduleKey: '@daily|UTC',
  lastScheduleTime: null,
  lastSuccessfulTime: null,
  suspendOverride: null,
  suspendedSince: null,
  pendingManual: [{ id: 'a-m1', requestedAt: 5 }],
  missedCount: 0,
};

type Made = { store: Store; cleanup?: () => void | Promise<void> };

export function storeContract(label: string, make: () => Made | Promise<Made>): void {
  describe(`Store contract: ${label}`, () => {
    let store: Store;
    let cleanup: (() => void | Promise<void>) | undefined;
    beforeEach(async () => {
      ({ store, cleanup } = await make());
    });
    afterEach(async () => {
      await store.close();
      await cleanup?.();
    });

    test('create assigns uid, creationTimestamp, generation 1 and a fresh resourceVersion', async () => {
      const rv0 = await store.currentResourceVersion();
      const a = await store.putJob(jobInput('a'));
      expect(a.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(Number.isNaN(Date.parse(a.creationTimestamp))).toBe(false);
      expect(a.generation).toBe(1);
      expect(a.resourceVersion).toBe(rv0 + 1);
      expect(await store.currentResourceVersion()).toBe(rv0 + 1);
      const b = await store.putJob(jobInput('b'));
      expect(b.uid).not.toBe(a.uid);
      expect(await store.getJob('a')).toEqual(a);
      expect(await store.getJob('missing')).toBeUndefined();
      expect((await store.listJobs()).map((j) => j.name)).toEqual(['a', 'b']);
    });

    test('generation moves only when spec changes (deep compare, key order ignored)', async () => {
      const a1 = await store.putJob(jobInput('a'));
      const a2 = await store.putJob({ ...jobInput('a'), labels: { team: 'other' } });
      expect(a2.generation).toBe(1);
      expect(a2.resourceVersion).toBeGreaterThan(a1.resourceVersion);
      expect(a2.uid).toBe(a1.uid);
      expect(a2.creationTimestamp).toBe(a1.creationTimestamp);
      // same spec with keys in another order
      const reordered = jobInput('a');
      const t = reordered.spec.template;
      reordered.spec = { template: { containers: t.containers, location: t.location, resourceGroup: t.resourceGroup }, schedule: '@daily' };
      expect((await store.putJob(reordered)).generation).toBe(1);
      const a3 = await store.putJob(jobInput('a', 'busybox:2'));
      expect(a3.generation).toBe(2);
      const st = (await store.putJobStatus('a', { observedGeneration: 2, sourceRevision: 'r1' }))!;
      expect(st.generation).toBe(2);
      expect(st.resourceVersion).toBe(a3.resourceVersion + 1);
      expect((await store.getJob('a'))!.status).toEqual({ observedGeneration: 2, sourceRevision: 'r1' });
      expect(await store.putJobStatus('missing', {})).toBeUndefined();
      expect(await store.writeJobStatus('missing', {})).toBe(false);
      expect(await store.getJobResourceVersion('missing')).toBeUndefined();
      expect(await store.getJobResourceVersion('a')).toBe((await store.getJob('a'))!.resourceVersion);
      const rv = await store.currentResourceVersion();
      expect(await store.writeJobStatus('a', { observedGeneration: 3 })).toBe(true);
      expect((await store.getJob('a'))!.status).toEqual({ observedGeneration: 3 });
      expect((await store.getJob('a'))!.resourceVersion).toBe(rv + 1);
    });

    test('expectedResourceVersion: stale → StoreConflictError, 0 → create only', async () => {
      const a = await store.putJob(jobInput('a'), 0);
      await expect(store.putJob(jobInput('a'), 0)).rejects.toThrow(StoreConflictError);
      const a2 = await store.putJob(jobInput('a', 'x:1'), a.resourceVersion);
      await expect(store.putJob(jobInput('a', 'x:2'), a.resourceVersion)).rejects.toThrow(StoreConflictError);
      expect((await store.getJob('a'))!.spec.template.containers[0].image).toBe('x:1');
      expect((await store.getJob('a'))!.resourceVersion).toBe(a2.resourceVersion);
      await expect(store.putJob(jobInput('nope'), 7)).rejects.toThrow(StoreConflictError);
      expect(await store.getJob('nope')).toBeUndefined();
    });

    test('deep copies in and out: callers cannot mutate stored state', async () => {
      const input = jobInput('a');
      const out = await store.putJob(input);
      input.spec.template.containers[0].image = 'mutated:in';
      out.spec.template.containers[0].image = 'mutated:out';
      const got = (await store.getJob('a'))!;
      got.labels.x = 'y';
      got.finalizers.push('f');
      (await store.listJobs())[0].status.sourceRevision = 'zzz';
      const again = (await store.getJob('a'))!;
      expect(again.spec.template.containers[0].image).toBe('busybox:1');
      expect(again.labels).toEqual({ team: 'data' });
      expect(again.finalizers).toEqual([]);
      expect(again.status).toEqual({});

      const run = runRecord('a', 1);
      await store.putRun(run);
      run.attempts[0].phase = 'Failed';
      (await store.getRun(run.id))!.attempts.push(run.attempts[0]);
      expect((await store.getRun(run.id))!.attempts).toEqual([expect.objectContaining({ phase: 'Creating' })]);

      const st = { ...sched, pendingManual: [...sched.pendingManual] };
      await store.putSchedulerState('a', st);
      st.pendingManual.push({ id: 'x', requestedAt: 1 });
      expect(await store.getSchedulerState('a')).toEqual(sched);
    });

    test('metadata round-trips: deletionTimestamp, finalizers, labels, annotations, source', async () => {
      await store.putJob(
        jobInput('d', 'i:1', {
          finalizers: ['acictl.dev/cleanup'],
          annotations: { note: 'x' },
          deletionTimestamp: '2026-01-01T00:00:00.000Z',
          source: { kind: 'directory', root: '/m', file: '/m/a.yaml', line: 3, revision: 'rev-2' },
        }),
      );
      const d = (await store.getJob('d'))!;
      expect(d.finalizers).toEqual(['acictl.dev/cleanup']);
      expect(d.annotations).toEqual({ note: 'x' });
      expect(d.deletionTimestamp).toBe('2026-01-01T00:00:00.000Z');
      expect(d.source).toEqual({ kind: 'directory', root: '/m', file: '/m/a.yaml', line: 3, revision: 'rev-2' });
      await store.putJob({ ...d, deletionTimestamp: undefined });
      expect((await store.getJob('d'))!.deletionTimestamp).toBeUndefined();
    });

    test('deleteJob removes it and is idempotent', async () => {
      await store.putJob(jobInput('a'));
      const rv = await store.currentResourceVersion();
      await store.deleteJob('a');
      expect(await store.getJob('a')).toBeUndefined();
      expect(await store.currentResourceVersion()).toBe(rv + 1);
      await store.deleteJob('a');
      expect(await store.currentResourceVersion()).toBe(rv + 1);
      // re-creating gets a new uid and generation 1
      expect((await store.putJob(jobInput('a'))).generation).toBe(1);
    });

    test("deleteJob takes the job's history with it: runs (DELETED changes), logs, events, scheduler state", async () => {
      await store.putJob(jobInput('h'));
      await store.putJob(jobInput('other'));
      await store.putRun(runRecord('h', 1));
      await store.putRun(runRecord('other', 1));
      const [hRun] = await store.listRuns('h');
      const [otherRun] = await store.listRuns('other');
      await store.putLog(hRun.id, 1, 'main', 'old\n');
      await store.putLog(otherRun.id, 1, 'main', 'kept\n');
      await store.addEvent({ time: 't', job: 'h', type: 'Normal', reason: 'R', message: 'm' });
      await store.putSchedulerState('h', (await store.getSchedulerState('h')) ?? ({ lastScheduleTime: 1 } as never));
      const changes: string[] = [];
      const off = store.onChange((c) => changes.push(`${c.resource} ${c.kind} ${c.name}`));
      await store.deleteJob('h');
      await new Promise((r) => setTimeout(r, 50));
      off();
      expect(await store.listRuns('h')).toEqual([]);
      expect(await store.getLog(hRun.id, 1)).toEqual([]);
      expect(await store.listEvents('h')).toEqual([]);
      expect(await store.getSchedulerState('h')).toBeUndefined();
      expect(changes).toContain(`containerjobruns DELETED ${hRun.id}`);
      // another job's history is untouched
      expect((await store.listRuns('other')).map((r) => r.id)).toEqual([otherRun.id]);
      expect(await store.getLog(otherRun.id, 1)).toEqual([{ container: 'main', content: 'kept\n' }]);
    });

    test('change feed: ADDED / MODIFIED / DELETED for jobs and runs, in resourceVersion order', async () => {
      const seen: Change[] = [];
      const off = store.onChange((c) => seen.push(c));
      await store.putJob(jobInput('a'));
      await store.putJob(jobInput('a', 'b:2'));
      await store.putJobStatus('a', { suspended: true });
      await store.putRun(runRecord('a', 1));
      await store.putRun({ ...runRecord('a', 1), phase: 'Running' });
      await store.deleteRun('a-1');
      await store.deleteJob('a');
      off();
      await store.putJob(jobInput('z'));
      expect(seen.map((c) => `${c.resource}/${c.kind}/${c.name}`)).toEqual([
        'containerjobs/ADDED/a',
        'containerjobs/MODIFIED/a',
        'containerjobs/MODIFIED/a',
        'containerjobruns/ADDED/a-1',
        'containerjobruns/MODIFIED/a-1',
        'containerjobruns/DELETED/a-1',
        'containerjobs/DELETED/a',
      ]);
      const rvs = seen.map((c) => c.resourceVersion);
      expect([...rvs].sort((x, y) => x - y)).toEqual(rvs);
      expect(new Set(rvs).size).toBe(rvs.length);
    });

    test('peek: a snapshot of the row at the time of the read, decoded on first use; DELETED carries the last object', async () => {
      await store.putJob(jobInput('a', 'img:1'));
      await store.putRun(runRecord('a', 1));
      const pj = (await store.peekJob('a'))!;
      const pr = (await store.peekRun('a-1'))!;
      expect(pj.labels).toEqual({ team: 'data' });
      expect(pr.job).toBe('a');
      expect(pr.resourceVersion).toBe(await store.getRunResourceVersion('a-1'));
      // later writes do not change what was peeked
      await store.putJob(jobInput('a', 'img:2', { labels: { team: 'ops' } }));
      await store.putRun({ ...runRecord('a', 1), phase: 'Running' });
      const first = pj.load();
      expect(first.spec).toEqual(jobInput('a', 'img:1').spec);
      expect(first.labels).toEqual({ team: 'data' });
      expect(first.generation).toBe(1);
      expect((await store.getJob('a'))!.generation).toBe(2);
      expect(pj.load()).toBe(pj.load()); // decoded once
      expect(pr.load()).toEqual(runRecord('a', 1));
      expect((await store.peekJob('a'))!.labels).toEqual({ team: 'ops' });
      expect(await store.peekJob('none')).toBeUndefined();
      expect(await store.peekRun('none')).toBeUndefined();
      await store.putJob(jobInput('b'));
      expect(await store.listJobNames()).toEqual(['a', 'b']);
      const visited: string[] = [];
      await store.forEachJob((j) => visited.push(`${j.name}:${j.labels.team}`));
      expect(visited).toEqual(['a:ops', 'b:data']);
      expect(await store.listJobLabels()).toEqual([{ name: 'a', labels: { team: 'ops' } }, { name: 'b', labels: { team: 'data' } }]);
      expect(await store.listRunJobs()).toEqual([{ id: 'a-1', job: 'a' }]);

      const seen: Change[] = [];
      store.onChange((c) => seen.push(c));
      // a run write carries what was written: what peekRun would read right after it
      await store.putRun({ ...runRecord('a', 1), phase: 'Succeeded' });
      await store.putRun({ ...runRecord('a', 1), phase: 'Failed' });
      const w = seen[0]!.written as WrittenRun;
      expect(w.job).toBe('a');
      expect(w.resourceVersion).toBe(seen[0]!.resourceVersion);
      expect(w.load().phase).toBe('Succeeded');
      expect((seen[1]!.written as WrittenRun).load()).toEqual(await store.getRun('a-1'));
      expect((seen[1]!.written as WrittenRun).resourceVersion).toBe(await store.getRunResourceVersion('a-1'));
      // so does a job write and a status write: what peekJob would read right after it
      await store.putJob(jobInput('a', 'img:2', { labels: { team: 'web' } }));
      const afterPut = (await store.getJob('a'))!;
      await store.writeJobStatus('a', { observedGeneration: 7 });
      expect((seen[2]!.written as WrittenJob).labels).toEqual({ team: 'web' });
      expect((seen[2]!.written as WrittenJob).load()).toEqual(afterPut);
      expect((seen[3]!.written as WrittenJob).labels).toEqual({ team: 'web' });
      expect((seen[3]!.written as WrittenJob).load()).toEqual(await store.getJob('a'));
      expect((seen[3]!.written as WrittenJob).load().status).toEqual({ observedGeneration: 7 });
      seen.length = 0;
      const before = (await store.getJob('a'))!;
      const run = (await store.getRun('a-1'))!;
      await store.deleteRun('a-1');
      await store.deleteJob('a');
      await store.putJob(jobInput('a', 'img:3')); // the name is reused: the DELETED change still shows the old object
      expect(seen.map((c) => c.kind)).toEqual(['DELETED', 'DELETED', 'ADDED']);
      expect(seen[0]!.last!()).toEqual(run);
      expect(seen[1]!.last!()).toEqual(before);
      expect(seen[2]!.last).toBeUndefined();
    });

    test('transactionDeferred: visible at once, a throw undoes only its own writes, hooks and changes once committed', async () => {
      const seen: string[] = [];
      store.onChange((c) => seen.push(`${c.kind}/${c.name}`));
      const hooks: string[] = [];
      expect(await store.transactionDeferred(async () => (await store.putJob(jobInput('a')), 'A'), () => hooks.push('a'))).toBe('A');
      await expect(store.transactionDeferred(async () => {
          await store.putJob(jobInput('b'));
          throw new Error('boom');
        })).rejects.toThrow('boom');
      await store.transactionDeferred(async () => await store.putRun(runRecord('a', 1)), () => hooks.push('a-1'));
      expect(await store.getJob('a')).toBeDefined(); // readers of this store see it at once
      expect(await store.getJob('b')).toBeUndefined(); // undone, and only it
      expect(await store.getRun('a-1')).toBeDefined();
      await new Promise((r) => setImmediate(r));
      expect(seen).toEqual(['ADDED/a', 'ADDED/a-1']);
      expect(hooks).toEqual(['a', 'a-1']);
      expect(await store.currentResourceVersion()).toBe(await store.getRunResourceVersion('a-1'));
      // flush commits at once
      await store.transactionDeferred(async () => await store.putRun(runRecord('a', 2)), () => hooks.push('a-2'));
      await store.flush();
      expect(hooks).toEqual(['a', 'a-1', 'a-2']);
      expect(seen).toEqual(['ADDED/a', 'ADDED/a-1', 'ADDED/a-2']);
      await expect(store.transaction(async () => await store.transactionDeferred(async () => 1))).rejects.toThrow(/inside another transaction/);
    });

    test('a throwing listener does not break writes or other listeners', async () => {
      const seen: string[] = [];
      store.onChange(() => {
        throw new Error('bad listener');
      });
      store.onChange((c) => seen.push(c.name));
      await store.putJob(jobInput('a'));
      expect(seen).toEqual(['a']);
    });

    test('transaction commits all writes, rolls back all on throw, emits changes only after commit', async () => {
      const seen: string[] = [];
      store.onChange((c) => seen.push(`${c.kind}/${c.name}`));
      await store.putJob(jobInput('keep'));
      const rv = await store.currentResourceVersion();
      await expect(store.transaction(async () => {
          await store.putJob(jobInput('x'));
          await store.putJob(jobInput('keep', 'changed:1'));
          await store.putRun(runRecord('x', 1));
          await store.putLog('x-1', 1, 'main', 'hello');
          await store.addEvent({ time: 't', job: 'x', type: 'Normal', reason: 'R', message: 'm' });
          await store.putSchedulerState('x', sched);
          await store.deleteJob('keep');
          expect(await store.getJob('x')).toBeDefined(); // visible inside the transaction
          throw new Error('boom');
        })).rejects.toThrow('boom');
      expect(await store.getJob('x')).toBeUndefined();
      expect((await store.getJob('keep'))!.spec.template.containers[0].image).toBe('busybox:1');
      expect(await store.getRun('x-1')).toBeUndefined();
      expect(await store.getLog('x-1', 1)).toEqual([]);
      expect(await store.listEvents('x')).toEqual([]);
      expect(await store.getSchedulerState('x')).toBeUndefined();
      expect(await store.currentResourceVersion()).toBe(rv);
      expect(seen).toEqual(['ADDED/keep']);

      const result = await store.transaction(async () => {
        await store.putJob(jobInput('y'));
        // nested transactions join the outer one
        await store.transaction(async () => await store.putJob(jobInput('z')));
        expect(seen).toEqual(['ADDED/keep']);
        return 42;
      });
      expect(result).toBe(42);
      expect(seen).toEqual(['ADDED/keep', 'ADDED/y', 'ADDED/z']);
      expect((await store.listJobs()).map((j) => j.name)).toEqual(['keep', 'y', 'z']);

      // an error thrown by a nested call rolls back the whole outer transaction
      await expect(store.transaction(async () => {
          await store.putJob(jobInput('w'));
          await store.transaction(async () => {
            throw new StoreConflictError('inner');
          });
        })).rejects.toThrow(StoreConflictError);
      expect(await store.getJob('w')).toBeUndefined();
    });

    test('runs: list by job in scheduled order, resourceVersion per run, delete removes logs', async () => {
      await store.putRun(runRecord('b', 5));
      await store.putRun(runRecord('a', 20));
      await store.putRun(runRecord('a', 10));
      expect((await store.listRuns()).map((r) => r.id)).toEqual(['a-10', 'a-20', 'b-5']);
      expect((await store.listRuns('a')).map((r) => r.id)).toEqual(['a-10', 'a-20']);
      expect(await store.listRuns('none')).toEqual([]);
      const rv = (await store.getRunResourceVersion('a-10'))!;
      await store.putRun({ ...runRecord('a', 10), phase: 'Succeeded', finishedAt: 99 });
      expect(await store.getRunResourceVersion('a-10')).toBeGreaterThan(rv);
      expect(await store.getRun('a-10')).toEqual({ ...runRecord('a', 10), phase: 'Succeeded', finishedAt: 99 });
      await store.putLog('a-10', 1, 'main', 'line1\n');
      await store.deleteRun('a-10');
      expect(await store.getRun('a-10')).toBeUndefined();
      expect(await store.getRunResourceVersion('a-10')).toBeUndefined();
      expect(await store.getLog('a-10', 1)).toEqual([]);
    });

    test('scheduler state round-trips per job', async () => {
      expect(await store.getSchedulerState('a')).toBeUndefined();
      await store.putSchedulerState('a', sched);
      await store.putSchedulerState('a', { ...sched, anchor: 2000, suspendOverride: true });
      expect(await store.getSchedulerState('a')).toEqual({ ...sched, anchor: 2000, suspendOverride: true });
      expect(await store.getSchedulerState('b')).toBeUndefined();
    });

    test('logs per run, attempt and container; replace keeps order; unicode and large content', async () => {
      await store.putLog('r', 1, 'main', 'one\n');
      await store.putLog('r', 1, 'sidecar', 'side\n');
      await store.putLog('r', 2, 'main', 'two ✓ ünïcode\n');
      await store.putLog('r', 1, 'main', 'one\nmore\n');
      expect(await store.getLog('r', 1)).toEqual([
        { container: 'main', content: 'one\nmore\n' },
        { container: 'sidecar', content: 'side\n' },
      ]);
      expect(await store.getLog('r', 1, 'sidecar')).toEqual([{ container: 'sidecar', content: 'side\n' }]);
      expect(await store.getLog('r', 2)).toEqual([{ container: 'main', content: 'two ✓ ünïcode\n' }]);
      expect(await store.getLog('r', 3)).toEqual([]);
      const big = 'x'.repeat(2_000_000);
      await store.putLog('r', 3, 'main', big);
      expect((await store.getLog('r', 3))[0].content.length).toBe(big.length);
    });

    test('events: ids assigned, oldest first, limit gives the newest, capped per job', async () => {
      for (let i = 0; i < 250; i++) {
        await store.addEvent({ time: `t${i}`, job: 'a', type: 'Normal', reason: 'Tick', message: `m${i}` });
      }
      await store.addEvent({ time: 'tb', job: 'b', run: 'b-1', type: 'Warning', reason: 'Failed', message: 'oops' });
      const a = await store.listEvents('a');
      expect(a.length).toBeLessThanOrEqual(200);
      expect(a.length).toBeGreaterThanOrEqual(50);
      expect(a[a.length - 1].message).toBe('m249');
      const ids = a.map((e) => e.id!);
      expect([...ids].sort((x, y) => x - y)).toEqual(ids);
      expect((await store.listEvents('a', 3)).map((e) => e.message)).toEqual(['m247', 'm248', 'm249']);
      expect(await store.listEvents('b')).toEqual([{ id: expect.any(Number), time: 'tb', job: 'b', run: 'b-1', type: 'Warning', reason: 'Failed', message: 'oops' }]);
      const all = await store.listEvents(undefined, 2);
      expect(all.map((e) => e.message)).toEqual(['m249', 'oops']);
    });

    test('getOrCreateSecret: 32 random bytes, stable per name, distinct across names', async () => {
      const a = await store.getOrCreateSecret('hash');
      expect(a.length).toBe(32);
      expect((await store.getOrCreateSecret('hash')).equals(a)).toBe(true);
      expect((await store.getOrCreateSecret('other')).equals(a)).toBe(false);
      a.fill(0);
      expect((await store.getOrCreateSecret('hash')).equals(Buffer.alloc(32))).toBe(false);
    });

    test('outbox: enqueue once per id, list due oldest first, update, prune finished, deleteJob keeps pending', async () => {
      const entry = (id: string, job: string, nextAttemptAt: number, extra: Partial<OutboxEntry> = {}): OutboxEntry => ({
        id,
        job,
        event: 'failure',
        target: 'hook',
        payload: JSON.stringify({ id, note: 'unicode ✓' }),
        createdAt: 100,
        state: 'Pending',
        attempts: 0,
        nextAttemptAt,
        ...extra,
      });
      expect(await store.enqueueNotification(entry('j/r1/1/failure/hook', 'j', 300))).toBe(true);
      // the same id again (a crash and a replay): nothing changes, not even the payload
      expect(await store.enqueueNotification(entry('j/r1/1/failure/hook', 'j', 50, { payload: '{}' }))).toBe(false);
      expect(await store.enqueueNotification(entry('j/r2/1/retry/hook', 'j', 200))).toBe(true);
      expect(await store.enqueueNotification(entry('k/r1/1/failure/mail', 'k', 200, { target: 'mail' }))).toBe(true);
      const rv = await store.currentResourceVersion();

      expect((await store.listNotifications()).map((e) => e.id)).toEqual(['j/r2/1/retry/hook', 'k/r1/1/failure/mail', 'j/r1/1/failure/hook']);
      expect((await store.listNotifications({ dueBy: 250, state: 'Pending' })).map((e) => e.id)).toEqual(['j/r2/1/retry/hook', 'k/r1/1/failure/mail']);
      expect((await store.listNotifications({ dueBy: 250, limit: 1 })).map((e) => e.id)).toEqual(['j/r2/1/retry/hook']);
      expect((await store.listNotifications({ job: 'k' })).map((e) => e.target)).toEqual(['mail']);
      expect(await store.getNotification('j/r1/1/failure/hook')).toEqual(entry('j/r1/1/failure/hook', 'j', 300));
      expect(await store.getNotification('nope')).toBeUndefined();

      expect(await store.updateNotification('j/r2/1/retry/hook', { state: 'Pending', attempts: 1, nextAttemptAt: 900, lastError: 'HTTP 503' })).toBe(true);
      expect(await store.getNotification('j/r2/1/retry/hook')).toMatchObject({ attempts: 1, nextAttemptAt: 900, lastError: 'HTTP 503' });
      expect(await store.updateNotification('j/r2/1/retry/hook', { state: 'Delivered', attempts: 2, nextAttemptAt: 900, finishedAt: 1000 })).toBe(true);
      const done = await store.getNotification('j/r2/1/retry/hook');
      expect(done).toMatchObject({ state: 'Delivered', attempts: 2, finishedAt: 1000 });
      expect(done?.lastError).toBeUndefined();
      expect(await store.updateNotification('nope', { state: 'Failed', attempts: 1, nextAttemptAt: 0 })).toBe(false);
      expect((await store.listNotifications({ state: 'Pending' })).map((e) => e.id)).toEqual(['k/r1/1/failure/mail', 'j/r1/1/failure/hook']);
      // the outbox is not an API resource: no resourceVersion, no change
      expect(await store.currentResourceVersion()).toBe(rv);

      // in a transaction that throws, the enqueue is undone with everything else
      await expect(
        store.transaction(async () => {
          await store.putJob(jobInput('tx'));
          await store.enqueueNotification(entry('tx/r/1/failure/hook', 'tx', 1));
          throw new Error('crash');
        }),
      ).rejects.toThrow('crash');
      expect(await store.getNotification('tx/r/1/failure/hook')).toBeUndefined();
      await store.transaction(async () => {
        await store.putJob(jobInput('tx'));
        expect(await store.enqueueNotification(entry('tx/r/1/failure/hook', 'tx', 1))).toBe(true);
      });
      expect(await store.getNotification('tx/r/1/failure/hook')).toBeDefined();

      expect(await store.pruneNotifications(999)).toBe(0);
      expect(await store.pruneNotifications(1001)).toBe(1);
      expect(await store.getNotification('j/r2/1/retry/hook')).toBeUndefined();

      // deleting a job takes its finished entries; pending ones are still delivered
      await store.putJob(jobInput('k'));
      await store.updateNotification('k/r1/1/failure/mail', { state: 'Failed', attempts: 9, nextAttemptAt: 200, lastError: 'gave up', finishedAt: 5000 });
      await store.enqueueNotification(entry('k/r2/1/failure/mail', 'k', 10));
      await store.deleteJob('k');
      expect((await store.listNotifications({ job: 'k' })).map((e) => e.id)).toEqual(['k/r2/1/failure/mail']);
    });

    test('a closed store refuses use', async () => {
      await store.putJob(jobInput('a'));
      await store.close();
      await expect(store.getJob('a')).rejects.toThrow();
      // afterEach closes again: close must be idempotent
    });
  });
}
