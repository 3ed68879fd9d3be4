/**
 * Pure analysis of a crash/fault torture run: which slots were due, which were run (from the
 * emulator's creation log, i.e. from outside the controller), which were run twice, and which were
 * lost although the rules say they had to run.
 *
 * "Lost" is defined from the planner's contract (DESIGN §2, §7.1):
 *  - a slot s is REQUIRED when the controller was up from `readyAt + settleMs` ≤ s until
 *    s + actMs ≤ killAt of the same life: it had the whole window to record and start it;
 *  - a slot in a downtime (from killAt - actMs to the next readyAt + settleMs) is REQUIRED only when
 *    the job has `catchup: true`, it is within the newest `maxCatchupRuns` downtime slots, and its
 *    `startingDeadlineSeconds` still allowed it when the controller was back (s + deadline ≥ readyAt);
 *  - with `catchup: false` downtime slots may be missed, but each restart must run the latest missed
 *    one: at least one run with a slot in (killAt - actMs, nextReadyAt] (the planner starts
 *    `latest(now)` at its first reconcile, which happens before the API says it listens).
 * A slot that is neither required nor run is "allowed missed".
 */
import { TAG_ATTEMPT, TAG_JOB, TAG_RUN, TAG_SCHEDULED_TIME } from '../../../src/api/names';

export interface JobRule {
  name: string;
  /** `*\/N * * * * *`: slots are the UTC instants that are multiples of N seconds. */
  periodSeconds: number;
  catchup: boolean;
  maxCatchupRuns: number;
  deadlineSeconds: number;
}

export interface Life {
  /** When the controller process was spawned. */
  spawnAt: number;
  /** When it logged that it listens (first reconciles are done or under way). */
  readyAt: number;
  /** When it was SIGKILLed (or, for the last life, when the analysis window closes). */
  killAt: number;
}

export interface Creation {
  name: string;
  time: string;
  tags: Record<string, string>;
}

export interface StartRecord extends Creation {
  reason: string;
}

export interface JobAnalysis {
  job: string;
  due: number;
  required: number;
  run: number;
  duplicates: string[];
  lost: string[];
  allowedMissed: number;
  restartsWithoutRun: string[];
}

export interface Analysis {
  due: number;
  required: number;
  run: number;
  duplicates: string[];
  lost: string[];
  allowedMissed: number;
  restartsWithoutRun: string[];
  /** Container runs that a re-PUT or start of an existing group re-executed (starts not caused by a creation). */
  reExecutions: string[];
  perJob: JobAnalysis[];
}

export function slotsIn(periodSeconds: number, fromInclusive: number, toInclusive: number): number[] {
  const p = periodSeconds * 1000;
  const out: number[] = [];
  for (let s = Math.ceil(fromInclusive / p) * p; s <= toInclusive; s += p) out.push(s);
  return out;
}

export function analyse(a: {
  jobs: JobRule[];
  lives: Life[];
  creations: Creation[];
  starts: StartRecord[];
  /** Slots in [windowStart, windowEnd] are judged (e.g. first readyAt … the moment the jobs were suspended). */
  windowStart: number;
  windowEnd: number;
  /** Time the controller gets after becoming ready before slots count as its responsibility. */
  settleMs: number;
  /** Time the controller needs after a slot to record it durably (a kill sooner may lose it legitimately). */
  actMs: number;
}): Analysis {
  const perJob: JobAnalysis[] = [];
  const reExecutions: string[] = [];
  for (const s of a.starts) if (s.reason !== 'create' && s.tags[TAG_JOB]) reExecutions.push(`${s.name} (${s.reason} at ${s.time})`);

  for (const job of a.jobs) {
    const mine = a.creations.filter((c) => c.tags[TAG_JOB] === job.name);
    // (slot, attempt) → creations
    const byAttempt = new Map<string, Creation[]>();
    const runSlots = new Set<number>();
    for (const c of mine) {
      const slot = Date.parse(c.tags[TAG_SCHEDULED_TIME]);
      const key = `${c.tags[TAG_SCHEDULED_TIME]}#${c.tags[TAG_ATTEMPT] ?? '1'}`;
      const list = byAttempt.get(key) ?? [];
      list.push(c);
      byAttempt.set(key, list);
      if (!c.tags[TAG_RUN]?.includes('-m')) runSlots.add(slot);
    }
    const duplicates = [...byAttempt.entries()].filter(([, l]) => l.length > 1).map(([k, l]) => `${job.name}@${k}: ${l.map((c) => c.name).join(', ')}`);

    const due = slotsIn(job.periodSeconds, a.windowStart, a.windowEnd);
    // Lives killed during start-up never became ready: their time counts as downtime.
    const lives = a.lives.filter((l) => Number.isFinite(l.readyAt)).sort((x, y) => x.spawnAt - y.spawnAt);
    const lost: string[] = [];
    let required = 0;
    let allowedMissed = 0;
    for (const s of due) {
      const up = lives.some((l) => l.readyAt + a.settleMs <= s && s + a.actMs <= l.killAt);
      let req = up;
      // Before the first life settled, the job's anchor (its first sight) is not known precisely.
      if (!up && job.catchup && lives.length > 0 && s >= lives[0].readyAt + a.settleMs) {
        const next = lives.find((l) => l.readyAt + a.settleMs > s);
        if (next) {
          const downSlots = slotsIn(job.periodSeconds, s, next.readyAt).length;
          req = downSlots <= job.maxCatchupRuns && s + job.deadlineSeconds * 1000 >= next.readyAt + a.settleMs;
        }
      }
      if (req) required++;
      if (runSlots.has(s)) continue;
      if (req) lost.push(`${job.name}@${new Date(s).toISOString()}`);
      else allowedMissed++;
    }
    const restartsWithoutRun: string[] = [];
    for (let i = 0; i + 1 < lives.length; i++) {
      // Slots before the judged window (before the first life was ready, i.e. before the jobs
      // existed) are never due: a kill right after the first start-up has no downtime slot to run.
      const from = Math.max(lives[i].killAt - a.actMs, a.windowStart);
      const to = lives[i + 1].readyAt;
      if (to < a.windowStart || from > a.windowEnd) continue;
      if (slotsIn(job.periodSeconds, from, to).length === 0) continue;
      const ran = [...runSlots].some((s) => s > from && s <= to);
      if (!ran) restartsWithoutRun.push(`${job.name}: restart ${i + 1} (down ${new Date(lives[i].killAt).toISOString()} … ready ${new Date(to).toISOString()})`);
    }
    perJob.push({
      job: job.name,
      due: due.length,
      required,
      run: due.filter((s) => runSlots.has(s)).length,
      duplicates,
      lost,
      allowedMissed,
      restartsWithoutRun,
    });
  }
  const sum = (f: (j: JobAnalysis) => number) => perJob.reduce((n, j) => n + f(j), 0);
  return {
    due: sum((j) => j.due),
    required: sum((j) => j.required),
    run: sum((j) => j.run),
    duplicates: perJob.flatMap((j) => j.duplicates),
    lost: perJob.flatMap((j) => j.lost),
    allowedMissed: sum((j) => j.allowedMissed),
    restartsWithoutRun: perJob.flatMap((j) => j.restartsWithoutRun),
    reExecutions,
    perJob,
  };
}
