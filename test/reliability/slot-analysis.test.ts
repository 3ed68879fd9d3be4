/** The crash/fault analysis itself: it must flag duplicates, lost slots and silent restarts (else the torture proves nothing). */
import { analyse, slotsIn, type Creation, type JobRule, type Life } from './lib/slot-analysis';

const T = Date.UTC(2026, 10, 24, 3, 0, 0);
const s = (sec: number) => T + sec * 1000;
const iso = (ms: number) => new Date(ms).toISOString();

function creation(job: string, slotMs: number, attempt = 1, suffix = ''): Creation {
  return {
    name: `${job}-${slotMs}${attempt > 1 ? `-a${attempt}` : ''}${suffix}`,
    time: iso(slotMs + 10),
    tags: { 'acictl.dev/job': job, 'acictl.dev/run': `${job}-${slotMs}`, 'acictl.dev/scheduled-time': iso(slotMs), 'acictl.dev/attempt': String(attempt) },
  };
}

const every1: JobRule = { name: 'j1', periodSeconds: 1, catchup: false, maxCatchupRuns: 10, deadlineSeconds: 10 };
const every2c: JobRule = { name: 'j2', periodSeconds: 2, catchup: true, maxCatchupRuns: 10, deadlineSeconds: 5 };
// Up 0–20 s, down 20–30 s (ready again at 30 s), up until 40 s.
const lives: Life[] = [
  { spawnAt: s(-1), readyAt: s(0), killAt: s(20) },
  { spawnAt: s(29), readyAt: s(30), killAt: s(40) },
];
const base = { lives, starts: [], windowStart: s(0), windowEnd: s(40), settleMs: 1500, actMs: 1500 };

function allUpSlots(rule: JobRule): Creation[] {
  return slotsIn(rule.periodSeconds, s(0), s(40))
    .filter((x) => (x >= s(1.5) && x <= s(18.5)) || (x >= s(31.5) && x <= s(38.5)))
    .map((x) => creation(rule.name, x));
}

test('slotsIn lists whole multiples of the period', () => {
  expect(slotsIn(2, s(0.5), s(6))).toEqual([s(2), s(4), s(6)]);
});

test('catchup: false — every up slot run plus the latest downtime slot: clean', () => {
  const c = [...allUpSlots(every1), creation('j1', s(29))];
  const a = analyse({ ...base, jobs: [every1], creations: c });
  expect(a.duplicates).toEqual([]);
  expect(a.lost).toEqual([]);
  expect(a.restartsWithoutRun).toEqual([]);
  expect(a.allowedMissed).toBeGreaterThan(5);
});

test('a second creation for the same slot and attempt is a duplicate; a retry attempt is not', () => {
  const c = [...allUpSlots(every1), creation('j1', s(29)), creation('j1', s(5), 1, '-x'), creation('j1', s(6), 2)];
  const a = analyse({ ...base, jobs: [every1], creations: c });
  expect(a.duplicates).toHaveLength(1);
  expect(a.duplicates[0]).toContain(iso(s(5)));
});

test('a missing slot while up is lost; a restart that runs nothing of its downtime is flagged', () => {
  const c = allUpSlots(every1).filter((x) => x.tags['acictl.dev/scheduled-time'] !== iso(s(10)));
  const a = analyse({ ...base, jobs: [every1], creations: c });
  expect(a.lost).toEqual([`j1@${iso(s(10))}`]);
  expect(a.restartsWithoutRun).toHaveLength(1);
});

test('catchup: true — downtime slots within the deadline are required, older ones are allowed missed', () => {
  // Back at 30 s (+1.5 s to settle) with a 5 s deadline: slots 28 and 30 must run, 20–26 may be missed.
  const without = allUpSlots(every2c);
  const a = analyse({ ...base, jobs: [every2c], creations: without });
  expect(a.lost).toEqual([`j2@${iso(s(28))}`, `j2@${iso(s(30))}`]);
  const withCatchup = [...without, creation('j2', s(28)), creation('j2', s(30))];
  expect(analyse({ ...base, jobs: [every2c], creations: withCatchup }).lost).toEqual([]);
});

test('a start that is not a creation (a re-PUT or start of an existing group) is a re-execution', () => {
  const a = analyse({
    ...base,
    jobs: [every1],
    creations: allUpSlots(every1),
    starts: [{ ...creation('j1', s(5)), reason: 'update' }],
  });
  expect(a.reExecutions).toHaveLength(1);
});

test('lives killed during start-up count as downtime', () => {
  const l: Life[] = [lives[0], { spawnAt: s(21), readyAt: Number.POSITIVE_INFINITY, killAt: s(22) }, lives[1]];
  const a = analyse({ ...base, lives: l, jobs: [every1], creations: [...allUpSlots(every1), creation('j1', s(29))] });
  expect(a.lost).toEqual([]);
  expect(a.restartsWithoutRun).toEqual([]);
});

test('a kill right after the first start-up: slots before the first ready are not owed by the restart', () => {
  // First life ready at 0.2 s and killed at 0.26 s (the window starts at its ready); back at 0.8 s.
  const early: Life[] = [
    { spawnAt: s(-0.5), readyAt: s(0.2), killAt: s(0.26) },
    { spawnAt: s(0.3), readyAt: s(0.8), killAt: s(10) },
  ];
  const c = slotsIn(1, s(2), s(8)).map((x) => creation('j1', x));
  const a = analyse({ ...base, lives: early, windowStart: s(0.2), windowEnd: s(10), jobs: [every1], creations: c });
  expect(a.restartsWithoutRun).toEqual([]);
  // The same restart with a slot inside its downtime window (after the first ready) is still owed.
  const later: Life[] = [
    { spawnAt: s(-0.5), readyAt: s(0.2), killAt: s(3.2) },
    { spawnAt: s(3.3), readyAt: s(3.8), killAt: s(10) },
  ];
  const c2 = slotsIn(1, s(5), s(8)).map((x) => creation('j1', x));
  expect(analyse({ ...base, lives: later, windowStart: s(0.2), windowEnd: s(10), jobs: [every1], creations: c2 }).restartsWithoutRun).toHaveLength(1);
});
