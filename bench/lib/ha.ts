/**
 * Shared by bench/ha-torture.ts and bench/failover.ts: options → runHaTorture (test/fixtures/
 * ha-torture.ts, built into dist with the benches), result → flat bench figures. A count that is
 * wrong (duplicates, lost slots, logs not archived exactly once, two leaders in a sample,
 * overlapping terms) sets the exit code to 1; without PostgreSQL binaries the result is "skipped".
 */
import { findPostgres } from '../../test/fixtures/postgres';
import { describeTorture, runHaTorture, type HaTortureOptions, type HaTortureResult } from '../../test/fixtures/ha-torture';
import type { LeaseSpec } from '../../test/fixtures/ha-cluster';
import { progress, type BenchResult } from './common';

/** `lease=default` or `lease=DURATION,RENEW,RETRY` (ms). */
export function parseLease(v: unknown): LeaseSpec | null {
  if (v === undefined || v === 'default') return null;
  const [duration, renew, retry] = String(v).split(',').map(Number);
  if (!(duration > renew && renew > retry && retry > 0)) throw new Error(`lease: expected default or DURATION,RENEW,RETRY in ms (got ${String(v)})`);
  return { duration, renew, retry };
}

export function countsWrong(r: HaTortureResult): string[] {
  const wrong: string[] = [];
  if (r.duplicates.length) wrong.push(`${r.duplicates.length} duplicate (run, attempt): ${r.duplicates.slice(0, 5).join('; ')}`);
  if (r.lost.length) wrong.push(`${r.lost.length} lost slots: ${r.lost.slice(0, 5).join('; ')}`);
  if (r.logProblems.length) wrong.push(`${r.logProblems.length} attempts whose log was not archived exactly once: ${r.logProblems.slice(0, 5).join('; ')}`);
  if (r.sampling.twoLeaders) wrong.push(`${r.sampling.twoLeaders} samples with two leaders`);
  if (r.termOverlaps.length) wrong.push(`overlapping terms: ${r.termOverlaps.slice(0, 3).join('; ')}`);
  if (r.creationsOutsideTerms.length) wrong.push(`${r.creationsOutsideTerms.length} creations outside a term`);
  if (r.failovers.length !== r.kills) wrong.push(`${r.failovers.length} failovers for ${r.kills} kills`);
  return wrong;
}

export async function runHaBench(o: Omit<HaTortureOptions, 'log'>): Promise<BenchResult> {
  const found = findPostgres();
  if ('missing' in found) return { skipped: `skipped: ${found.missing}` };
  const r = await runHaTorture({ ...o, log: progress });
  progress(describeTorture(r));
  const wrong = countsWrong(r);
  for (const w of wrong) progress(`WRONG: ${w}`);
  if (wrong.length) process.exitCode = 1;
  return {
    seed: r.seed,
    kills: r.kills,
    jobs: r.jobs,
    periodSeconds: r.periodSeconds,
    lease: r.lease,
    replicasStarted: r.replicasStarted,
    creations: r.creations,
    duplicates: r.duplicates.length,
    slotsJudged: r.slotsJudged,
    slotsSucceeded: r.slotsSucceeded,
    slotsMissed: r.slotsMissed,
    missedReasons: JSON.stringify(r.missedReasons),
    missedEvents: r.missedEvents.join(' | '),
    lostSlots: r.lost.length,
    catchUpMs: r.catchUpMs ?? 'not caught up',
    jobsBehindAtSuspend: r.jobsBehindAtSuspend,
    attemptsChecked: r.attemptsChecked,
    logsArchivedOnce: r.logsArchivedOnce,
    logProblems: r.logProblems.length,
    samples: r.sampling.samples,
    sampledSeconds: Math.round(r.sampling.spanMs / 1000),
    samplesTwoLeaders: r.sampling.twoLeaders,
    samplesNoLeader: r.sampling.noLeader,
    termOverlaps: r.termOverlaps.length,
    creationsOutsideTerms: r.creationsOutsideTerms.length,
    takeoverP50Ms: r.takeoverP50Ms,
    takeoverMaxMs: r.takeoverMaxMs,
    firstActionP50Ms: r.firstActionP50Ms,
    firstActionMaxMs: r.firstActionMaxMs,
    firstActionsMs: r.failovers.map((f) => f.firstActionMs).join(','),
    fencingRefusals: r.fencingRefusals,
    countsWrong: wrong.length,
    durationSeconds: Math.round(r.durationMs / 1000),
    loadAvg1: r.loadAvg1,
    loadAvgMax: r.loadAvgMax,
  };
}
