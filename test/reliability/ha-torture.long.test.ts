/**
 * Long HA crash torture (`npm run test:reliability`; acceptance 2 at full size): 3 replicas on one
 * PostgreSQL, emulator out of process, 30 seeded SIGKILLs of whichever replica leads while 200 jobs
 * once a minute each, at their own second (+ a 1 s pulse) fire, 3 s lease. The short variant runs in `npm test`
 * (test/e2e/controller-ha-torture.test.ts); the same driver is bench/ha-torture.ts.
 * ACICTL_HA_KILLS / ACICTL_HA_JOBS / ACICTL_HA_SEED change the size and the seed.
 */
import { findPostgres } from '../fixtures/postgres';
import { describeTorture, runHaTorture, type HaTortureResult } from '../fixtures/ha-torture';
import { writeFigures } from './lib/figures';

const found = findPostgres();
const maybe = 'missing' in found ? describe.skip : describe;
if ('missing' in found) console.warn(`skipping the HA torture: ${found.missing}`);

const KILLS = Number(process.env.ACICTL_HA_KILLS ?? 30);
const JOBS = Number(process.env.ACICTL_HA_JOBS ?? 200);
const SEED = Number(process.env.ACICTL_HA_SEED ?? 20261204);
jest.setTimeout(1_200_000);

maybe(`HA crash torture (long: ${KILLS} SIGKILLs of the leader, ${JOBS} jobs, seed ${SEED})`, () => {
  let r: HaTortureResult;

  beforeAll(async () => {
    r = await runHaTorture({ kills: KILLS, jobs: JOBS, periodSeconds: 60, lease: { duration: 3000, renew: 2000, retry: 500 }, seed: SEED, minUpMs: 2000, maxUpMs: 6000, sampleMs: 100, tailMs: 10_000 });
    const ok = r.duplicates.length === 0 && r.lost.length === 0 && r.logProblems.length === 0 && r.sampling.twoLeaders === 0 && r.termOverlaps.length === 0 && r.creationsOutsideTerms.length === 0;
    writeFigures('ha-torture-long', { part: 'HA crash torture (long)', summary: describeTorture(r), figures: r as unknown as Record<string, unknown>, ok });
    console.log(describeTorture(r));
  }, 1_150_000);

  test('every kill was followed by a takeover, and never two leaders at once', () => {
    expect(r.failovers).toHaveLength(KILLS);
    expect(r.sampling.twoLeaders).toBe(0);
    expect(r.termOverlaps).toEqual([]);
    expect(r.creationsOutsideTerms).toEqual([]);
  });

  test('0 duplicate (run, attempt) creations in the emulator log', () => {
    expect(r.creations).toBeGreaterThan(JOBS);
    expect(r.duplicates).toEqual([]);
  });

  test('0 lost slots: every slot Succeeded or Missed with a recorded reason', () => {
    expect(r.slotsJudged).toBeGreaterThan(JOBS);
    expect(r.lost).toEqual([]);
  });

  test("every attempt's log archived exactly once", () => {
    expect(r.attemptsChecked).toBe(r.creations);
    expect(r.logProblems).toEqual([]);
  });
});
