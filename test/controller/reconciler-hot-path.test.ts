/**
 * The reconcile hot path: store commits per launch (one before the PUT, one after), no write at all
 * at steady state, logs fetched on every other observation (plus the final one, and every one while
 * followed) with every line still emitted exactly once and archived before the delete, and the
 * delete's ownership read skipped only with tags read in the same reconcile.
 */
import { AciError, type ContainerGroups, type DeleteOptions } from '../../src/aci/types';
import type { GroupRef } from '../../src/api/observed';
import { TAG_MANAGED_BY } from '../../src/api/names';
import { Reconciler } from '../../src/controller/reconciler';
import { Harness, INSTANCE, spec } from './reconciler-harness';

const SLOT1 = Date.UTC(2026, 0, 10, 1);
const RUN = 'rep-202601100100';

/** Count outermost store commits (MemoryStore: a write entered at depth 0). */
function countCommits(h: Harness): { readonly n: number } {
  const base = h.store.stats.commits;
  return {
    get n() {
      return h.store.stats.commits - base;
    },
  };
}

async function toSlot(h: Harness): Promise<void> {
  await h.putJob('rep', spec({ cleanup: { onSuccess: 'Delete', onFailure: 'Keep' } } as never));
  await h.reconcile('rep');
  h.clock.t = SLOT1;
}

describe('reconcile hot path: commits', () => {
  it('a launch is one commit before the PUT (holding the attempt record) and one after', async () => {
    const h = new Harness();
    const seenAtPut: { commits: number; phase?: string }[] = [];
    let commits: { readonly n: number } = { n: 0 };
    h.wrapGroups = (inner) =>
      new Proxy(inner, {
        get(target, prop, recv) {
          if (prop === 'createOrUpdate') {
            return async (d: Parameters<ContainerGroups['createOrUpdate']>[0], o: Parameters<ContainerGroups['createOrUpdate']>[1]) => {
              seenAtPut.push({ commits: commits.n, phase: (await h.store.getRun(RUN))?.attempts[0]?.phase });
              return target.createOrUpdate(d, o);
            };
          }
          return Reflect.get(target, prop, recv);
        },
      });
    h.restart();
    await toSlot(h);
    commits = countCommits(h);
    await h.reconcile('rep');
    expect(seenAtPut).toEqual([{ commits: 1, phase: 'Creating' }]);
    expect(commits.n).toBe(2);
    expect((await h.store.getRun(RUN))!.attempts[0].phase).toBe('Running');
    expect((await h.store.getJob('rep'))!.status.active).toEqual([{ run: RUN, group: RUN, attempt: 1 }]);
    expect(h.events.map((e) => e.reason)).toEqual(['RunCreated', 'AttemptStarted']);
  });

  it('steady state: a reconcile with nothing to do commits nothing and leaves the status object as it is', async () => {
    const h = new Harness();
    await h.putJob('rep', spec());
    await h.reconcile('rep');
    const before = (await h.store.getJob('rep'))!;
    const commits = countCommits(h);
    for (let i = 0; i < 3; i++) {
      h.clock.t += 1000;
      await h.reconcile('rep');
    }
    expect(commits.n).toBe(0);
    expect((await h.store.getJob('rep'))!.resourceVersion).toBe(before.resourceVersion);
  });

  it('a failing ARM call after recorded writes keeps them (committed before the error propagates)', async () => {
    const h = new Harness();
    await toSlot(h);
    h.groups.injectError('createOrUpdate', new AciError('Transient', 'boom'));
    await expect(h.reconcile('rep')).rejects.toBeTruthy();
    const run = (await h.store.getRun(RUN))!;
    expect(run.attempts[0].phase).toBe('Creating');
    // The retry recovers the attempt and launches once.
    await h.reconcile('rep');
    expect(h.creations().filter((n) => n === RUN).length).toBeGreaterThanOrEqual(1);
    expect((await h.store.getRun(RUN))!.attempts).toHaveLength(1);
    expect((await h.store.getRun(RUN))!.attempts[0].phase).toBe('Running');
  });
});

describe('reconcile hot path: log fetches and the delete', () => {
  async function sixtySecondRun(h: Harness, follow = false) {
    if (follow) {
      const deps = (h.reconciler as unknown as { d: ConstructorParameters<typeof Reconciler>[0] }).d;
      deps.isFollowed = () => true;
    }
    await toSlot(h);
    let line = 0;
    const start = h.clock.t;
    for (let t = 0; t <= 60_000; t += 1000) {
      h.clock.t = start + t;
      if (h.groups.has(RUN)) h.groups.appendLog(RUN, 'main', `line-${++line}\n`);
      if (t === 60_000) h.groups.finish(RUN, 0);
      await h.reconcile('rep');
    }
    h.clock.t = start + 120_000;
    await h.reconcile('rep');
    return line;
  }

  it('logs on every other observation and the final one; each line emitted once; archived before the delete', async () => {
    const h = new Harness();
    const deleteOpts: (DeleteOptions | undefined)[] = [];
    h.wrapGroups = (inner) =>
      new Proxy(inner, {
        get(target, prop, recv) {
          if (prop === 'delete') {
            return (ref: GroupRef, o?: DeleteOptions) => {
              deleteOpts.push(o);
              return target.delete(ref, o);
            };
          }
          return Reflect.get(target, prop, recv);
        },
      });
    h.restart();
    const total = await sixtySecondRun(h);
    const gets = h.groups.count('get');
    const logs = h.groups.count('logs');
    expect(gets).toBeGreaterThanOrEqual(5);
    // every other observation, plus the final one
    expect(logs).toBeLessThanOrEqual(Math.floor(gets / 2) + 1);
    const lines = h.lines.map((l) => l.line);
    expect(lines).toEqual(Array.from({ length: total }, (_, i) => `line-${i + 1}`));
    expect((await h.store.getLog(RUN, 1))[0].content.split('\n').filter(Boolean)).toHaveLength(total);
    const ops = h.groups.calls.map((c) => c.op);
    expect(ops.lastIndexOf('logs')).toBeLessThan(ops.indexOf('delete'));
    expect((await h.store.getRun(RUN))!.attempts[0]).toMatchObject({ logsArchived: true, groupDeleted: true });
    // The delete carried the tags of the GET made in the same reconcile.
    expect(deleteOpts).toHaveLength(1);
    expect(deleteOpts[0]!.observedTags![TAG_MANAGED_BY]).toBe(INSTANCE);
    expect(h.groups.has(RUN)).toBe(false);
  });

  it('while somebody follows the run, logs are fetched on every observation', async () => {
    const h = new Harness();
    await sixtySecondRun(h, true);
    expect(h.groups.count('logs')).toBe(h.groups.count('get'));
    expect(new Set(h.lines.map((l) => l.line)).size).toBe(h.lines.length);
  });

  it('a delete planned without a GET in the same reconcile passes no tags (the adapter reads ownership itself)', async () => {
    const h = new Harness();
    const deleteOpts: (DeleteOptions | undefined)[] = [];
    h.wrapGroups = (inner) =>
      new Proxy(inner, {
        get(target, prop, recv) {
          if (prop === 'delete') {
            return (ref: GroupRef, o?: DeleteOptions) => {
              deleteOpts.push(o);
              return target.delete(ref, o);
            };
          }
          return Reflect.get(target, prop, recv);
        },
      });
    h.restart();
    await toSlot(h);
    await h.reconcile('rep'); // launched
    await h.resync();
    // The job is deleted: its running group is archived and deleted from the listing alone.
    await h.deleteJob('rep');
    h.restart();
    await h.resync();
    await h.reconcile('rep');
    expect(deleteOpts.length).toBeGreaterThanOrEqual(1);
    expect(deleteOpts.every((o) => o?.observedTags === undefined)).toBe(true);
  });
});
