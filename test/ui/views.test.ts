/** The UI's views from a store: rows follow the change feed, filter and sort, the run grid. */
import { MemoryStore } from '../../src/store/memory';
import type { StoredJob } from '../../src/store/types';
import { JobRowIndex, gridOf, listJobRows } from '../../src/ui/views';
import { jobObject, run } from '../cli/harness';

async function put(store: MemoryStore, name: string, labels: Record<string, string>, status: StoredJob['status'] = {}, schedule = '@daily'): Promise<void> {
  const spec = { ...jobObject(name).spec, schedule };
  await store.putJob({ name, labels, annotations: {}, finalizers: [], spec, source: { kind: 'directory', root: '/m', file: `/m/sub/${name}.yaml` }, status });
}

describe('UI views', () => {
  test('the row index follows creates, updates and deletes; filter by name part and label; sort by next run', async () => {
    const store = new MemoryStore();
    const index = new JobRowIndex(store);
    await put(store, 'alpha', { team: 'data' }, { nextScheduleTime: '2026-06-02T00:00:00Z' });
    await put(store, 'beta', { team: 'ml' }, { nextScheduleTime: '2026-06-01T00:00:00Z' });
    let page = await listJobRows(store, {}, index);
    expect(page.items.map((r) => r.name)).toEqual(['alpha', 'beta']);
    expect(page.items[0]).toMatchObject({ words: 'At 00:00, every day (UTC)', schedule: '@daily', source: { kind: 'directory', file: 'sub/alpha.yaml' }, state: 'NotReady' });
    expect((await listJobRows(store, { sort: 'next' }, index)).items.map((r) => r.name)).toEqual(['beta', 'alpha']);
    expect((await listJobRows(store, { q: 'team=ml' }, index)).items.map((r) => r.name)).toEqual(['beta']);
    expect((await listJobRows(store, { q: 'alp' }, index)).items.map((r) => r.name)).toEqual(['alpha']);
    // an update after the index was built: Invalid with its position; a new job; a delete
    await put(store, 'alpha', { team: 'data' }, { conditions: [{ type: 'Invalid', status: 'True', reason: 'SourceInvalid', message: 'sub/alpha.yaml:7:3: error: unknown field', lastTransitionTime: '2026-06-01T00:00:00Z' }] });
    await put(store, 'gamma', {}, {}, '*/30 * * * * *');
    await store.deleteJob('beta');
    page = await listJobRows(store, {}, index);
    expect(page.items.map((r) => [r.name, r.state])).toEqual([['alpha', 'Invalid'], ['gamma', 'NotReady']]);
    expect(page.items[0]!.reason).toBe('sub/alpha.yaml:7:3: error: unknown field');
    expect(page.total).toBe(2);
    index.close();
  });

  test('pages: offset and limit over the sorted, filtered rows', async () => {
    const store = new MemoryStore();
    for (let i = 0; i < 120; i++) await put(store, `job-${String(i).padStart(3, '0')}`, { even: String(i % 2 === 0) });
    const index = new JobRowIndex(store);
    const p2 = await listJobRows(store, { q: 'even=true', offset: 50, limit: 50, dir: 'desc' }, index);
    expect(p2).toMatchObject({ total: 120, matched: 60, offset: 50 });
    expect(p2.items.map((r) => r.name)).toEqual(Array.from({ length: 10 }, (_, k) => `job-${String(18 - 2 * k).padStart(3, '0')}`));
  });

  test('the grid: runs with their attempt counts and missed slots, oldest first, the last N', async () => {
    const store = new MemoryStore();
    await put(store, 'alpha', {});
    const d = (day: number): number => Date.parse(`2026-06-${String(day).padStart(2, '0')}T00:00:00Z`);
    await store.putRun(run('alpha', 'alpha-1', d(1), 'Succeeded', [{}]));
    await store.putRun(run('alpha', 'alpha-2', d(2), 'Failed', [{ phase: 'Failed' }, { phase: 'Failed' }]));
    await store.addEvent({ time: '2026-06-03T00:05:00Z', job: 'alpha', type: 'Warning', reason: 'MissedSchedule', message: '1 slot(s) up to 2026-06-03T00:00:00.000Z missed (DeadlineExceeded)' });
    await store.putRun(run('alpha', 'alpha-4', d(4), 'Running', [{ phase: 'Running' }]));
    await store.addEvent({ time: '2026-06-05T00:05:00Z', job: 'alpha', type: 'Warning', reason: 'MissedSchedule', message: '1 slot(s) up to 2026-06-05T00:00:00.000Z missed (ConcurrencyForbid)' });
    expect((await gridOf(store, 'alpha', 4)).map((c) => [c.outcome, c.attempts, c.run ?? null])).toEqual([
      ['Failed', 2, 'alpha-2'],
      ['Missed', 0, null],
      ['Running', 1, 'alpha-4'],
      ['Skipped', 0, null],
    ]);
  });
});
