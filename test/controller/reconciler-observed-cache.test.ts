import { ObservedCache } from '../../src/controller/observed-cache';
import { group } from '../plan/fixtures';

describe('ObservedCache', () => {
  const scope = { subscriptionId: 'sub-0', resourceGroup: 'rg1' };

  it('indexes groups by job tag and replaces a scope wholesale on resync', () => {
    const c = new ObservedCache();
    expect(c.isSynced(scope)).toBe(false);
    c.replaceScope(scope, [group('a-1', { job: 'a' }), group('b-1', { job: 'b' }), group('a-2', { job: 'a' })]);
    expect(c.isSynced({ subscriptionId: 'sub-0', resourceGroup: 'RG1' })).toBe(true);
    expect(c.groupsOfJob('a').map((g) => g.name)).toEqual(['a-1', 'a-2']);
    expect(c.jobNames()).toEqual(['a', 'b']);
    c.replaceScope(scope, [group('b-1', { job: 'b' })]);
    expect(c.groupsOfJob('a')).toEqual([]);
    expect(c.jobNames()).toEqual(['b']);
  });

  it('upsert replaces (keeping the instance view of a GET), remove forgets, other scopes are untouched', () => {
    const c = new ObservedCache();
    c.replaceScope(scope, [group('a-1', { job: 'a' })]);
    c.upsert({ ...group('x-1', { job: 'x', state: 'Running' }), resourceGroup: 'rg2' });
    c.upsert(group('a-1', { job: 'a', state: 'Succeeded' }));
    expect(c.groupsOfJob('a')[0].state).toBe('Succeeded');
    c.replaceScope(scope, []);
    expect(c.groupsOfJob('x').map((g) => g.resourceGroup)).toEqual(['rg2']);
    c.remove({ subscriptionId: 'sub-0', resourceGroup: 'rg2', name: 'x-1' });
    expect(c.size()).toBe(0);
  });

  it('callers cannot mutate the cache: what goes in is copied, what comes out is frozen', () => {
    const c = new ObservedCache();
    const g = group('a-1', { job: 'a' });
    c.upsert(g);
    g.tags['acictl.dev/run'] = 'changed after upsert';
    expect(c.groupsOfJob('a')[0].tags['acictl.dev/run']).toBe('a-1');
    expect(() => {
      (c.groupsOfJob('a')[0].tags as Record<string, string>)['acictl.dev/run'] = 'tampered';
    }).toThrow(TypeError);
    expect(() => {
      (c.get(g)! as { name: string }).name = 'other';
    }).toThrow(TypeError);
    expect(c.get(g)!.tags['acictl.dev/run']).toBe('a-1');
    // reads hand out the cached objects themselves: no copy per read
    expect(c.groupsOfJob('a')[0]).toBe(c.get(g));
  });
});
