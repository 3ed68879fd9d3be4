/**
 * HA acceptance 1 and a short acceptance 2 (the long ones: test/reliability/ha-torture.long.test.ts,
 * bench/ha-torture.ts): three real `acictl controller --store postgres://…` processes on one real
 * PostgreSQL, the emulator as its own process (`acictl emulator`), a 3 s lease. For at least 60 s
 * the lease row and every replica's acictl_leader are sampled every 100 ms while the leader is
 * SIGKILLed 5 times (seeded; a new replica replaces each one) and 50 jobs with second-level
 * schedules fire (plus one every second): never two leaders in a sample, no two replicas' terms
 * overlapping, every creation inside a term; 0 duplicate (run, attempt); every judged slot
 * Succeeded or Missed with a reason; every attempt's log archived exactly once.
 */
import { findPostgres } from '../fixtures/postgres';
import { describeTorture, runHaTorture, type HaTortureResult } from '../fixtures/ha-torture';

const found = findPostgres();
const maybe = 'missing' in found ? describe.skip : describe;
if ('missing' in found) console.warn(`skipping the HA torture test: ${found.missing}`);

jest.setTimeout(300_000);
const SEED = Number(process.env.ACICTL_HA_SEED ?? 1414);

maybe('HA on PostgreSQL: 3 replicas, leader SIGKILLed 5 times, sampled every 100 ms for ≥ 60 s', () => {
  let r: HaTortureResult;

  beforeAll(async () => {
    r = await runHaTorture({
      kills: 5,
      jobs: 50,
      periodSeconds: 10,
      lease: { duration: 3000, renew: 2000, retry: 500 },
      seed: SEED,
      minUpMs: 3000,
      maxUpMs: 7000,
      sampleMs: 100,
      tailMs: 6000,
      minSampledMs: 60_000,
      log: (s) => process.stderr.write(`${s}\n`),
    });
    console.log(`HA torture (short): ${describeTorture(r)}\nwindow ${r.window}; kills at ${r.failovers.map((f) => f.killAt).join(', ')}${r.lost.length ? `\nlost: ${r.lost.join(', ')}` : ''}`);
  }, 290_000);

  test('exactly one leader at any time: never two in a 100 ms sample over ≥ 60 s, terms never overlap, every creation inside a term', () => {
    expect(r.sampling.spanMs).toBeGreaterThanOrEqual(60_000);
    expect(r.sampling.samples).toBeGreaterThanOrEqual(500);
    expect(r.sampling.twoLeaders).toBe(0);
    expect(r.termOverlaps).toEqual([]);
    expect(r.terms).toBeGreaterThanOrEqual(6);
    expect(r.creationsOutsideTerms).toEqual([]);
  });

  test('0 duplicate (run, attempt) creations across 5 SIGKILLs of the leader', () => {
    expect(r.failovers).toHaveLength(5);
    expect(r.creations).toBeGreaterThan(100);
    expect(r.duplicates).toEqual([]);
  });

  test('0 lost slots: every slot of the window Succeeded or Missed with a recorded reason', () => {
    expect(r.slotsJudged).toBeGreaterThan(200);
    expect(r.lost).toEqual([]);
    expect(r.slotsSucceeded + r.slotsMissed).toBe(r.slotsJudged);
  });

  test("every attempt's log archived exactly once", () => {
    expect(r.attemptsChecked).toBe(r.creations);
    expect(r.logProblems).toEqual([]);
    expect(r.logsArchivedOnce).toBe(r.attemptsChecked);
  });

  test('failover: a new leader acts within the lease (+ retries) after each SIGKILL', () => {
    for (const f of r.failovers) expect(f.firstActionMs).toBeLessThanOrEqual(3000 + 2 * 500 + 5000);
  });
});
