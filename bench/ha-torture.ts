/**
 * HA crash torture (acceptance 2): 3 `acictl controller --store postgres://…` processes on one
 * local PostgreSQL, the emulator as its own process; `kills` times the replica holding the lease
 * is SIGKILLed at a seeded random point (and replaced), while `jobs` jobs with second-level
 * schedules (`S * * * * *`: each job once a minute at its own second S; `period=N` for every N s) and a 1 s pulse fire. Prints the seed and
 * the figures: duplicate (run, attempt) creations in the emulator's log, slots judged / Succeeded /
 * Missed with a reason / lost, attempts whose log was archived exactly once, leadership samples
 * (every 100 ms). Exits 1 when a count is wrong. Short lease by default (3 s) so 30 kills take
 * minutes; the controllers run without the client-side ACI create budget (ACICTL_ARM_LIMITS=off:
 * 200 jobs a minute are far beyond ACI's 100 creates per 5 minutes).
 *
 *   node dist/bench/ha-torture.js [kills=30] [jobs=200] [period=60] [lease=3000,2000,500] [seed=N] [minUpMs=2000] [maxUpMs=6000]
 */
import { main } from './lib/common';
import { parseLease, runHaBench } from './lib/ha';

main(async (opts) => {
  const seed = Number(opts.seed ?? Date.now() % 1_000_000);
  process.stderr.write(`  ha-torture: seed ${seed}\n`);
  return runHaBench({
    kills: Number(opts.kills ?? 30),
    jobs: Number(opts.jobs ?? 200),
    periodSeconds: Number(opts.period ?? 60),
    lease: parseLease(opts.lease ?? '3000,2000,500'),
    seed,
    minUpMs: Number(opts.minUpMs ?? 2000),
    maxUpMs: Number(opts.maxUpMs ?? 6000),
    sampleMs: 100,
    tailMs: 10_000,
  });
});
