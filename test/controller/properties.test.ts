/**
 * Properties of planner + reconciler together (fast-check): for random schedules and policies,
 * random crash points (the executor dropped before a random action, or a PUT whose response is
 * lost), random restarts and random replays of stale listings, executing the plans
 *  - never puts one (run, attempt) into ACI twice (counted at the fake ACI, effects included), and
 *  - never loses a due slot within its deadline (Allow / Replace, where nothing may block a slot);
 * and planning is deterministic and leaves its input untouched.
 */
import fc from 'fast-check';
import { TAG_ATTEMPT, TAG_RUN, scheduledRunId } from '../../src/api/names';
import type { ObservedGroup } from '../../src/api/observed';
import type { ContainerGroups, DesiredGroup } from '../../src/aci/types';
import { isAciError } from '../../src/aci/types';
import { plan } from '../../src/plan';
import { compileSchedule } from '../../src/schedule';
import { Harness, SUB, spec } from './reconciler-harness';
import { attempt, group, inputOf, run } from '../plan/fixtures';

type Step =
  | { kind: 'advance'; ms: number }
  | { kind: 'finish'; pick: number; code: number }
  | { kind: 'crash'; at: number }
  | { kind: 'lostPut' }
  | { kind: 'stale'; pick: number }
  | { kind: 'restart' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 500, max: 150_000 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('finish' as const), pick: fc.nat(), code: fc.constantFrom(0, 0, 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('crash' as const), at: fc.integer({ min: 0, max: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('lostPut' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('stale' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const) }) },
);

const configArb = fc.record({
  schedule: fc.constantFrom('* * * * *', '*/2 * * * *', '*/15 * * * * *', '*/40 * * * * *', '*/3 * * * *'),
  policy: fc.constantFrom('Allow' as const, 'Forbid' as const, 'Replace' as const),
  retries: fc.integer({ min: 0, max: 2 }),
  deadline: fc.constantFrom(30, 120, null),
  groupPolicy: fc.constantFrom('PerRun' as const, 'PerRun' as const, 'Reuse' as const),
  timeout: fc.constantFrom(null, '45s'),
});

/** Counts, at the fake ACI itself, every PUT that took effect per (run, attempt). */
function countingGroups(h: Harness, puts: Map<string, number>): ContainerGroups {
  const g = h.groups;
  return {
    listOwned: (s, o) => g.listOwned(s, o),
    get: (r, o) => g.get(r, o),
    start: (r, o) => g.start(r, o),
    stop: (r, o) => g.stop(r, o),
    delete: (r, o) => g.delete(r, o),
    logs: (r, c, o) => g.logs(r, c, o),
    async createOrUpdate(d: DesiredGroup, o) {
      const before = g.has(d.ref) ? g.inspect(d.ref).puts : 0;
      try {
        return await g.createOrUpdate(d, o);
      } finally {
        if (g.has(d.ref)) {
          const after = g.inspect(d.ref);
          if (after.puts > before && after.tags[TAG_RUN] === d.tags[TAG_RUN]) {
            const k = `${d.tags[TAG_RUN]}#${d.tags[TAG_ATTEMPT]}`;
            puts.set(k, (puts.get(k) ?? 0) + 1);
          }
        }
      }
    },
  };
}

type Config = typeof configArb extends fc.Arbitrary<infer U> ? U : never;

async function simulate(cfg: Config, steps: Step[]): Promise<void> {
  const h = new Harness();
  const puts = new Map<string, number>();
  h.wrapGroups = () => countingGroups(h, puts);
  h.restart();
  const scope = { subscriptionId: SUB, resourceGroup: 'rg1' };
  const snapshots: ObservedGroup[][] = [[]];
  await h.putJob(
    'j',
    spec({
      schedule: cfg.schedule,
      concurrencyPolicy: cfg.policy,
      retries: cfg.retries,
      retryDelay: '20s',
      startingDeadlineSeconds: cfg.deadline,
      groupPolicy: cfg.groupPolicy,
      timeout: cfg.timeout,
      successfulRunsHistoryLimit: 1000,
      failedRunsHistoryLimit: 1000,
      cleanup: { onSuccess: 'Delete', onFailure: 'Delete' },
    }),
  );
  const start = h.clock.t;
  const safely = async (fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      if (isAciError(e)) throw e;
      h.crashBefore = null;
      h.restart();
      await h.resync();
    }
  };
  await safely(() => h.reconcile('j'));
  for (const s of steps) {
    switch (s.kind) {
      case 'advance':
        await safely(() => h.runFor('j', s.ms));
        break;
      case 'finish': {
        const running = h.groups.all().filter((g) => g.state === 'Running');
        if (running.length > 0) h.groups.finish(running[s.pick % running.length], s.code);
        await safely(() => h.reconcile('j'));
        break;
      }
      case 'crash': {
        let n = s.at;
        h.crashBefore = () => n-- === 0;
        await safely(() => h.runFor('j', 5_000));
        h.crashBefore = null;
        break;
      }
      case 'lostPut':
        h.groups.injectError('createOrUpdate', new Error('controller killed mid-request'), 1, { afterEffect: true });
        await safely(() => h.runFor('j', 5_000));
        break;
      case 'stale':
        h.observed.replaceScope(scope, snapshots[s.pick % snapshots.length]);
        await safely(() => h.reconcile('j'));
        break;
      case 'restart':
        h.restart();
        await h.resync();
        await safely(() => h.reconcile('j'));
        break;
    }
    snapshots.push(await h.groups.listOwned(scope));
  }
  h.groups.clearErrors();
  await safely(() => h.reconcile('j'));

  // 1. Exactly once: no (run, attempt) was ever put twice.
  for (const [k, n] of puts) expect([k, n]).toEqual([k, 1]);
  // Every group we hold is tagged for a recorded attempt.
  for (const g of h.groups.all()) expect(await h.store.getRun(g.tags[TAG_RUN])).toBeDefined();

  // 2. No lost slot: where nothing may block a slot, every slot due while the controller was up
  //    (and whose deadline has passed by the end) has a run.
  if (cfg.policy !== 'Forbid' && cfg.groupPolicy === 'PerRun') {
    const schedule = compileSchedule(cfg.schedule, { timeZone: 'UTC' });
    const horizon = h.clock.t - (cfg.deadline === null ? 1_000 : cfg.deadline * 1000);
    const ids = new Set((await h.store.listRuns('j')).map((r) => r.id));
    for (const slot of schedule.between(start, horizon, 10_000)) expect(ids.has(scheduledRunId('j', slot)) ? slot : `lost ${new Date(slot).toISOString()}`).toBe(slot);
  }
}

describe('properties', () => {
  it('never two runs for one (slot, attempt); never a lost slot — across crashes, lost responses, restarts and stale listings', async () => {
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(stepArb, { minLength: 5, maxLength: 40 }), async (cfg, steps) => simulate(cfg, steps)),
      { numRuns: 60 },
    );
  });

  it('planning twice on the same input yields the same actions, and the input is left untouched', async () => {
    const R = 'j-202601100900';
    const attemptArb = fc.record({
      phase: fc.constantFrom('Creating' as const, 'Running' as const, 'Succeeded' as const, 'Failed' as const),
      logsArchived: fc.boolean(),
      groupDeleted: fc.boolean(),
      observedAfter: fc.option(fc.integer({ min: 0, max: 3_600_000 })),
    });
    fc.assert(
      fc.property(
        fc.record({
          policy: fc.constantFrom('Allow' as const, 'Forbid' as const, 'Replace' as const),
          groupPolicy: fc.constantFrom('PerRun' as const, 'Reuse' as const),
          catchup: fc.boolean(),
          anchorBack: fc.integer({ min: 0, max: 10 * 3_600_000 }),
          nowOffset: fc.integer({ min: 0, max: 2 * 3_600_000 }),
          attempts: fc.array(attemptArb, { maxLength: 3 }),
          runPhase: fc.constantFrom('Pending' as const, 'Running' as const, 'Retrying' as const, 'Succeeded' as const, 'Failed' as const),
          groupState: fc.option(fc.constantFrom('Running' as const, 'Succeeded' as const, 'Failed' as const, 'Stopped' as const)),
          gone: fc.boolean(),
        }),
        (r) => {
          const now = Date.parse('2026-01-10T09:00:00Z') + r.nowOffset;
          const runs = [
            run(R, '09:00', {
              phase: r.runPhase,
              nextAttemptAt: now - 1,
              attempts: r.attempts.map((a, i) =>
                attempt(R, i + 1, { phase: a.phase, logsArchived: a.logsArchived, groupDeleted: a.groupDeleted, lastObservedAt: a.observedAfter === null ? undefined : Date.parse('2026-01-10T09:00:00Z') + a.observedAfter }),
              ),
            }),
          ];
          const input = inputOf({
            name: 'random',
            job: r.gone ? null : { concurrencyPolicy: r.policy, groupPolicy: r.groupPolicy, catchup: r.catchup, timeout: '20m', retries: 2 },
            state: { anchor: Date.parse('2026-01-10T09:00:00Z') - r.anchorBack },
            runs,
            observed: r.groupState === null ? [] : [group(R, { state: r.groupState, containers: [{ state: 'Terminated', exitCode: 0 }] }), group('j-202601090100')],
            now: new Date(now).toISOString(),
            expect: [],
          });
          const { schedule, ...data } = input;
          const copy = structuredClone(data);
          const a = plan(input);
          const b = plan(input);
          expect(b).toEqual(a);
          expect({ ...input, schedule }).toEqual({ ...copy, schedule });
          if (a.wakeAt !== null) expect(a.wakeAt).toBeGreaterThanOrEqual(now);
        },
      ),
      { numRuns: 500 },
    );
  });
});

