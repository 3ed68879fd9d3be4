/** startup-summary.ts: states with reasons, next runs in absolute + relative time, the block and the records. */
import type { StoredJob } from '../../src/store/types';
import { absoluteTime, buildStartupSummary, formatSummaryBlock, relativeTime, summaryRecords, BLOCK_JOB_LIMIT } from '../../src/controller/startup-summary';

const NOW = Date.parse('2026-12-02T21:45:00Z');

function job(name: string, over: { spec?: Record<string, unknown>; status?: StoredJob['status']; file?: string; deleting?: boolean } = {}): StoredJob {
  return {
    name, uid: `u-${name}`, resourceVersion: 1, generation: 1, creationTimestamp: '2026-12-01T00:00:00Z',
    ...(over.deleting ? { deletionTimestamp: '2026-12-02T21:00:00Z' } : {}),
    finalizers: [], labels: {}, annotations: {},
    spec: { schedule: '@daily', template: { containers: [] }, ...(over.spec ?? {}) } as unknown as StoredJob['spec'],
    source: over.file ? { kind: 'directory', root: '/m', file: over.file } : { kind: 'api' },
    status: over.status ?? {},
  };
}
const ready = { type: 'Ready', status: 'True' as const, reason: 'Reconciled', message: 'ok', lastTransitionTime: '' };

test('relative and absolute times', () => {
  expect(relativeTime(2 * 3600_000 + 15 * 60_000)).toBe('2h15m');
  expect(relativeTime(45_000)).toBe('45s');
  expect(relativeTime(5 * 60_000 + 10_000)).toBe('5m10s');
  expect(relativeTime(3 * 86_400_000 + 4 * 3600_000 + 59_000)).toBe('3d4h');
  expect(relativeTime(3600_000)).toBe('1h');
  expect(absoluteTime(Date.parse('2026-12-03T00:00:00Z'))).toBe('2026-12-03 00:00 UTC');
  expect(absoluteTime(Date.parse('2026-12-03T00:00:30Z'))).toBe('2026-12-03 00:00:30 UTC');
});

test('each state with its reason and next run; files with errors and no job; commands for a Ready job', () => {
  const s = buildStartupSummary({
    now: NOW,
    apiUrl: 'http://127.0.0.1:8642',
    httpsUrl: 'https://127.0.0.1:8642',
    kubeconfig: '/s/kubeconfig',
    jobs: [
      job('zeta', { file: '/m/zeta.yaml', status: { conditions: [ready], nextScheduleTime: '2026-12-03T00:00:00.000Z' } }),
      job('broken', { file: '/m/broken.yaml', status: { conditions: [{ type: 'Invalid', status: 'True', reason: 'SourceInvalid', message: '/m/broken.yaml:3:1: unknown field', lastTransitionTime: '' }], nextScheduleTime: '2026-12-03T00:00:00.000Z' } }),
      job('paused', { status: { conditions: [ready], suspended: true } }),
      job('held', { spec: { suspend: true, schedule: '30 2 * * *', timeZone: 'Europe/Berlin' }, file: '/m/held.yaml', status: { conditions: [ready], suspended: true } }),
      job('manual', { spec: { schedule: undefined }, status: { conditions: [ready] } }),
      job('fresh', { status: {} }),
      job('gone', { deleting: true, status: { conditions: [ready] } }),
    ],
    sourceErrors: [
      { file: '/m/broken.yaml', line: 3, column: 1, message: 'unknown field' },
      { file: '/m/new.yaml', line: 7, column: 5, message: 'schedule: not a cron expression' },
      { file: '/m/new.yaml', line: 9, column: 5, message: 'second error' },
    ],
  });
  const by = Object.fromEntries(s.jobs.map((j) => [j.job, j]));
  expect(s.jobs.map((j) => j.job)).toEqual(['broken', 'fresh', 'gone', 'held', 'manual', 'paused', 'zeta']);
  expect(by.zeta).toMatchObject({ state: 'Ready', nextRun: '2026-12-03T00:00:00.000Z', next: '2026-12-03 00:00 UTC (in 2h15m)' });
  expect(by.broken).toMatchObject({ state: 'Invalid', reason: 'SourceInvalid: /m/broken.yaml:3:1: unknown field', next: '2026-12-03 00:00 UTC (in 2h15m), with the last valid spec' });
  expect(by.paused).toMatchObject({ state: 'Suspended', reason: 'suspended at run time (npx acictl resume paused)', nextRun: null });
  // 02:30 in Berlin is 01:30 UTC in winter
  expect(by.held).toMatchObject({ state: 'Suspended', reason: 'spec.suspend is true in /m/held.yaml', next: 'none while suspended (would be 2026-12-03 01:30 UTC)' });
  expect(by.manual).toMatchObject({ state: 'Ready', nextRun: null, next: 'manual runs only (npx acictl run manual)' });
  expect(by.fresh).toMatchObject({ state: 'Pending', reason: 'not reconciled yet' });
  expect(by.gone.state).toBe('Deleting');
  expect(s.invalidFiles).toEqual([{ file: '/m/new.yaml', line: 7, column: 5, message: 'schedule: not a cron expression' }]);
  expect(s.tryNext).toEqual(['npx acictl run manual', 'npx acictl logs manual']);

  const block = formatSummaryBlock(s, { path: (f) => f.replace(/^\/m\//, 'manifests/') });
  expect(block).toContain('acictl controller is up: 7 jobs (2 Ready, 1 Invalid, 2 Suspended, 1 Pending, 1 Deleting)');
  expect(block).toMatch(/\n  zeta +Ready +2026-12-03 00:00 UTC \(in 2h15m\)\n/);
  expect(block).toMatch(/↳ spec\.suspend is true in manifests\/held\.yaml/);
  expect(block).toContain('invalid file, no job: manifests/new.yaml:7:5: schedule: not a cron expression');
  expect(block).toContain('(kubectl: https://127.0.0.1:8642)');

  const recs = summaryRecords(s);
  expect(recs.filter((r) => r.fields.summary === 'job')).toHaveLength(7);
  expect(recs.find((r) => r.fields.job === 'zeta')!.msg).toBe('zeta: Ready; next run 2026-12-03 00:00 UTC (in 2h15m)');
  expect(recs[recs.length - 1]!.fields).toMatchObject({ summary: 'api', url: 'http://127.0.0.1:8642', kubeconfig: '/s/kubeconfig', jobs: 7 });
});

test('the block lists at most BLOCK_JOB_LIMIT jobs, then says how many more', () => {
  const jobs = Array.from({ length: BLOCK_JOB_LIMIT + 5 }, (_, i) => job(`j${String(i).padStart(3, '0')}`, { status: { conditions: [ready] } }));
  const block = formatSummaryBlock(buildStartupSummary({ now: NOW, apiUrl: 'http://x', kubeconfig: 'k', jobs, sourceErrors: [] }));
  expect(block).toContain('… and 5 more: npx acictl get jobs');
  expect(block).not.toContain(`j${String(BLOCK_JOB_LIMIT).padStart(3, '0')}`);
});
