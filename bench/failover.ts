/**
 * HA failover time (acceptance 3): 3 replicas on one local PostgreSQL, the emulator as its own
 * process, 20 jobs every 10 s and a pulse job every second (so something is always due). `kills`
 * times, at a seeded random point of the leader's renew cycle, the replica holding the lease is
 * SIGKILLed (and a new one started). Per kill:
 *   takeover     = SIGKILL → the new holder's 'became leader' log line (its own clock = this machine's);
 *   first action = SIGKILL → the first container-group creation (an ARM write) the emulator logged at
 *                  or after that line: the new leader's first launch (the pulse slot(s) it owes).
 * Reports p50 and max of both over the kills. `lease=default` is Kubernetes' 15 s / 10 s / 2 s;
 * `lease=5000,3300,700` the same ratios at 5 s. The duplicate / lost / log counts of the torture
 * are checked too (exit 1 when wrong).
 *
 *   node dist/bench/failover.js [kills=30] [lease=default|D,R,P] [jobs=20] [seed=N]
 */
import { main } from './lib/common';
import { parseLease, runHaBench } from './lib/ha';

main(async (opts) => {
  const seed = Number(opts.seed ?? Date.now() % 1_000_000);
  const lease = parseLease(opts.lease ?? 'default');
  const renew = lease?.retry ?? 2000;
  process.stderr.write(`  failover: seed ${seed}\n`);
  return runHaBench({
    kills: Number(opts.kills ?? 30),
    jobs: Number(opts.jobs ?? 20),
    periodSeconds: 10,
    lease,
    seed,
    // after the new leader's first action (and its replacement's start-up): 1–4 renew periods, so the
    // SIGKILL lands anywhere in the renew cycle
    minUpMs: renew,
    maxUpMs: 4 * renew,
    sampleMs: 100,
    tailMs: 5000,
  });
});
