/**
 * A job seen for the first time is anchored at the moment it was stored, not at its first
 * reconcile: a slot that passed in between (a controller killed during start-up, a long start-up
 * queue) is still due under the usual missed-slot rules — and nothing before the job existed is.
 */
import { plan } from '../../src/plan';
import { T, inputOf, render } from './fixtures';

const base = { name: 'first sight', expect: [] as string[], job: { schedule: '0 * * * *' }, state: null, now: '10:00:30' };

test('a slot between the job being stored and its first reconcile is run', () => {
  const out = plan({ ...inputOf(base), jobCreatedAt: T('09:59:50') });
  const lines = out.actions.map(render);
  expect(lines[0]).toMatch(/^initState .*09:59:50/);
  expect(lines).toContain('startRun j-202601101000');
});

test('without a creation time, or created after the slot, the first sight anchors at now and runs nothing old', () => {
  for (const input of [inputOf(base), { ...inputOf(base), jobCreatedAt: T('10:00:10') }]) {
    const lines = plan(input).actions.map(render);
    expect(lines.some((l) => l.startsWith('startRun'))).toBe(false);
  }
});

test('a job stored long ago is still bounded by the missed-slot rules (latest slot only, within the deadline)', () => {
  // Stored two days ago, first reconciled now: catchup false runs at most the latest slot, and only
  // within startingDeadlineSeconds (default 300 s).
  const late = plan({ ...inputOf({ ...base, now: '10:10:00' }), jobCreatedAt: T('2026-01-08T00:00:00Z') }).actions.map(render);
  expect(late.filter((l) => l.startsWith('startRun'))).toEqual([]);
  const inTime = plan({ ...inputOf({ ...base, now: '10:03:00' }), jobCreatedAt: T('2026-01-08T00:00:00Z') }).actions.map(render);
  expect(inTime.filter((l) => l.startsWith('startRun'))).toHaveLength(1);
});
