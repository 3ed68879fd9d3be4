/**
 * The crash and fault parts as jest suites, parameterised by size, so the reduced (`npm test`) and
 * the long (`npm run test:reliability`) versions run the same assertions.
 */
import { fmt, writeFigures } from './figures';
import { describeReading, runCrashTorture, runFaultTorture, type AciReading, type CrashResult, type FaultResult } from './torture';

const verbose = process.env.ACICTL_RELIABILITY_VERBOSE === '1';
const log = (s: string) => {
  if (verbose) process.stderr.write(`${s}\n`);
};

export function crashSuite(o: { label: string; file: string; kills: number; seed: number; maxUpMs: number; timeoutMs: number; reading?: AciReading }): void {
  describe(`Invariant 1: exactly once per slot — crash torture (${o.label}: ${o.kills} SIGKILLs, seed ${o.seed}; ${describeReading(o.reading)})`, () => {
    let r: CrashResult;

    beforeAll(async () => {
      r = await runCrashTorture({ kills: o.kills, seed: o.seed, maxUpMs: o.maxUpMs, reading: o.reading, log });
      const a = r.analysis;
      const ok = a.duplicates.length === 0 && a.reExecutions.length === 0 && a.lost.length === 0 && a.restartsWithoutRun.length === 0 && r.finished.problems.length === 0 && r.ownership.problems.length === 0;
      writeFigures(o.file, {
        part: `crash (${o.label}${o.reading ? `; ${describeReading(o.reading)}` : ''})`,
        summary:
          `${r.kills} kills (${r.killsBeforeReady} during start-up), ${fmt(a.due)} slots due, ${fmt(a.run)} run, ${fmt(a.required)} required, ` +
          `${a.allowedMissed} allowed missed (downtime), ${a.duplicates.length + a.reExecutions.length} duplicates, ${a.lost.length} lost, ` +
          `${r.finished.checked} runs checked finished in the store (${r.finished.logsChecked} with their logs), ${r.ownership.problems.length} foreign-group writes`,
        figures: { ...r, analysis: { ...a, perJob: a.perJob } },
        ok,
      });
    }, o.timeoutMs);

    test('no slot has two runs for one attempt, and no container group was re-executed by a repeated PUT/start', () => {
      expect(r.analysis.due).toBeGreaterThan(0);
      expect(r.analysis.run).toBeGreaterThan(0);
      expect(r.analysis.duplicates).toEqual([]);
      expect(r.analysis.reExecutions).toEqual([]);
    });

    test('no slot inside its deadline is lost while the controller is up (catchup: true slots of downtimes included)', () => {
      expect(r.analysis.required).toBeGreaterThan(0);
      expect(r.analysis.lost).toEqual([]);
    });

    test('each restart runs the latest missed slot of a catchup: false job', () => {
      expect(r.analysis.restartsWithoutRun).toEqual([]);
    });

    test('every run that started is recorded as finished in the store file after a clean stop, its logs kept (Invariant 7)', () => {
      expect(r.finished.checked).toBeGreaterThan(0);
      expect(r.finished.logsChecked).toBeGreaterThan(0);
      expect(r.finished.problems).toEqual([]);
      expect(r.cleanExit).toBe(0);
    });

    test('Invariant 2 (ownership): unmanaged and other-instance groups were never updated, stopped or deleted', () => {
      expect(r.ownership.groups).toBe(3);
      expect(r.ownership.problems).toEqual([]);
    });
  });
}

export function faultSuite(o: { label: string; file: string; durationMs: number; seed: number; periods: [number, number]; timeoutMs: number; maxRequestsPerRun: number; reading?: AciReading; faults?: string }): void {
  describe(`Invariant 9: one throttled call does not stop the others — fault torture (${o.label}: ${Math.round(o.durationMs / 1000)} s, schedules every ${o.periods.join(' s and ')} s, seed ${o.seed}; ${describeReading(o.reading)})`, () => {
    let r: FaultResult;

    beforeAll(async () => {
      r = await runFaultTorture({ durationMs: o.durationMs, seed: o.seed, periods: o.periods, reading: o.reading, faults: o.faults, log });
      const dup = r.analysis.duplicates.length + r.analysis.reExecutions.length;
      const ok = !r.controllerExitedEarly && dup === 0 && r.lostStrict.length === 0 && r.finished.problems.length === 0 && r.ownership.problems.length === 0 && r.requestsPerRun <= o.maxRequestsPerRun;
      writeFigures(o.file, {
        part: `faults (${o.label}${o.reading ? `; ${describeReading(o.reading)}` : ''})`,
        summary:
          `${fmt(r.requests)} requests, ${fmt(r.injected)} injected faults (${Object.entries(r.injectedByKind).map(([k, v]) => `${k}: ${v}`).join(', ')}), ` +
          `${r.runs} runs, ${r.requestsPerRun.toFixed(1)} requests/run, peak ${r.peakRequestsPerSecond.toFixed(1)} req/s, ${dup} duplicates, ` +
          `${r.lostStrict.length} lost (+${r.lateSuperseded.length} late slots superseded, catchup: false), ${r.controllerExitedEarly ? 1 : 0} crashes`,
        figures: r as unknown as Record<string, unknown>,
        ok,
      });
    }, o.timeoutMs);

    test('the controller never exits under faults, and stops cleanly afterwards', () => {
      expect(r.controllerExitedEarly).toBe(false);
      expect(r.cleanExit).toBe(0);
      expect(r.injected).toBeGreaterThan(0);
    });

    test('every run completes and is recorded finished; no duplicates', () => {
      expect(r.runs).toBeGreaterThan(0);
      expect(r.finished.problems).toEqual([]);
      expect(r.analysis.duplicates).toEqual([]);
      expect(r.analysis.reExecutions).toEqual([]);
    });

    test('no slot of a catchup job is lost while the controller is up', () => {
      expect(r.lostStrict).toEqual([]);
    });

    test('it backs off rather than hammering: bounded requests per run', () => {
      expect(r.requestsPerRun).toBeLessThanOrEqual(o.maxRequestsPerRun);
    });

    test('Invariant 2 (ownership): foreign groups untouched under faults', () => {
      expect(r.ownership.problems).toEqual([]);
    });
  });
}
