import { MemoryContainerGroups } from '../../src/aci/memory';
import { mapSecretResolver } from '../../src/aci/secrets';
import { AciError, isAciError } from '../../src/aci/types';
import { TAG_MANAGED_BY } from '../../src/api/names';
import { desiredGroup, fullTemplate, minimalTemplate, SECRET_VALUES } from './fixtures';

const SUB = 'sub-1';
const ref = (name: string) => ({ subscriptionId: SUB, resourceGroup: 'rg1', name });

function mk(opts: { startPending?: boolean } = {}) {
  let t = Date.parse('2026-11-24T02:00:00Z');
  const clock = { now: () => t };
  const m = new MemoryContainerGroups({ instanceId: 'ctl-a', clock, secrets: mapSecretResolver(SECRET_VALUES), ...opts });
  return { m, advance: (ms: number) => (t += ms) };
}

async function rejectKind(p: Promise<unknown>): Promise<AciError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AciError) return e;
    throw e;
  }
  throw new Error('expected an AciError');
}

describe('MemoryContainerGroups', () => {
  test('create → Running, finish → Succeeded/Failed, list has no instance view', async () => {
    const { m } = mk();
    const created = await m.createOrUpdate(desiredGroup(ref('r1'), minimalTemplate(), 'ctl-a'));
    expect(created.state).toBe('Running');
    expect(created.tags[TAG_MANAGED_BY]).toBe('ctl-a');
    m.finish('r1', 0);
    expect((await m.get(ref('r1'))).state).toBe('Succeeded');
    await m.createOrUpdate(desiredGroup(ref('r2'), minimalTemplate(), 'ctl-a'));
    m.finish('r2', 3);
    const g2 = await m.get(ref('r2'));
    expect(g2.state).toBe('Failed');
    expect(g2.containers![0]).toMatchObject({ name: 'main', state: 'Terminated', exitCode: 3 });
    const list = await m.listOwned({ subscriptionId: SUB, resourceGroup: 'rg1' });
    expect(list.map((g) => g.name)).toEqual(['r1', 'r2']);
    expect(list[0].state).toBeUndefined();
    expect(m.calls.map((c) => c.op)).toEqual(['createOrUpdate', 'get', 'createOrUpdate', 'get', 'listOwned']);
  });

  test('startPending: Pending on create, Running on the next get', async () => {
    const { m } = mk({ startPending: true });
    const g = await m.createOrUpdate(desiredGroup(ref('p'), minimalTemplate(), 'ctl-a'));
    expect(g.state).toBe('Pending');
    expect((await m.get(ref('p'))).state).toBe('Running');
  });

  test('ownership: unmanaged and foreign groups are never listed, stop/delete/start/update refuse them', async () => {
    const { m } = mk();
    m.seedUnmanaged({ ...ref('theirs') });
    m.seedUnmanaged({ ...ref('other-ctl'), tags: { [TAG_MANAGED_BY]: 'ctl-b' } });
    await m.createOrUpdate(desiredGroup(ref('mine'), minimalTemplate(), 'ctl-a'));
    expect((await m.listOwned({ subscriptionId: SUB, resourceGroup: 'rg1' })).map((g) => g.name)).toEqual(['mine']);
    for (const name of ['theirs', 'other-ctl']) {
      expect((await rejectKind(m.stop(ref(name)))).kind).toBe('Forbidden');
      expect((await rejectKind(m.delete(ref(name)))).kind).toBe('Forbidden');
      expect((await rejectKind(m.start(ref(name)))).kind).toBe('Forbidden');
      expect((await rejectKind(m.createOrUpdate(desiredGroup(ref(name), minimalTemplate(), 'ctl-a')))).kind).toBe('Forbidden');
      expect(m.has(name)).toBe(true);
    }
    await m.delete(ref('absent'));
    await m.delete(ref('mine'));
    expect(m.has('mine')).toBe(false);
  });

  test('ifNoneMatch → Conflict; immutable change → Invalid InvalidContainerGroupUpdate; in-place update restarts', async () => {
    const { m } = mk();
    await m.createOrUpdate(desiredGroup(ref('g'), minimalTemplate(), 'ctl-a'), { ifNoneMatch: true });
    const c = await rejectKind(m.createOrUpdate(desiredGroup(ref('g'), minimalTemplate(), 'ctl-a'), { ifNoneMatch: true }));
    expect(c.kind).toBe('Conflict');
    const t2 = minimalTemplate({ restartPolicy: 'OnFailure' });
    const inv = await rejectKind(m.createOrUpdate(desiredGroup(ref('g'), t2, 'ctl-a')));
    expect(inv).toMatchObject({ kind: 'Invalid', code: 'InvalidContainerGroupUpdate' });
    m.finish('g', 0);
    const t3 = minimalTemplate();
    t3.containers[0].image = 'busybox:2';
    const upd = await m.createOrUpdate(desiredGroup(ref('g'), t3, 'ctl-a'));
    expect(upd.state).toBe('Running');
    expect(m.inspect('g').template!.containers[0].image).toBe('busybox:2');
    expect(m.inspect('g').puts).toBe(2);
  });

  test('secrets resolve through the resolver; a missing one is SecretMissing naming the source, not stored', async () => {
    const { m } = mk();
    await m.createOrUpdate(desiredGroup(ref('full'), fullTemplate(), 'ctl-a'));
    expect(JSON.stringify(m.inspect('full'))).not.toMatch(/s3cr3t/);
    const bare = new MemoryContainerGroups({ instanceId: 'ctl-a' });
    const e = await rejectKind(bare.createOrUpdate(desiredGroup(ref('full'), fullTemplate(), 'ctl-a')));
    expect(e.kind).toBe('SecretMissing');
    expect(e.message).toMatch(/DB_PASSWORD/);
    expect(bare.has('full')).toBe(false);
  });

  test('injectError: before and after the effect, by op and name, with a count', async () => {
    const { m } = mk();
    m.injectError('createOrUpdate', new AciError('Throttled', 'slow down', 'TooManyRequests', 5000, 429), 2);
    for (let i = 0; i < 2; i++) {
      const e = await rejectKind(m.createOrUpdate(desiredGroup(ref('x'), minimalTemplate(), 'ctl-a')));
      expect(e.retryAfterMs).toBe(5000);
    }
    expect(m.has('x')).toBe(false);
    m.injectError('createOrUpdate', new AciError('Transient', 'reset'), 1, { afterEffect: true, name: 'y' });
    await m.createOrUpdate(desiredGroup(ref('x'), minimalTemplate(), 'ctl-a'));
    expect(isAciError(await rejectKind(m.createOrUpdate(desiredGroup(ref('y'), minimalTemplate(), 'ctl-a'))), 'Transient')).toBe(true);
    expect(m.has('y')).toBe(true);
  });

  test('stop, start and logs with tail', async () => {
    const { m } = mk();
    await m.createOrUpdate(desiredGroup(ref('l'), minimalTemplate(), 'ctl-a'));
    m.setLogs('l', 'main', 'a\nb\n');
    m.appendLog('l', 'main', 'c\n');
    expect(await m.logs(ref('l'), 'main')).toBe('a\nb\nc\n');
    expect(await m.logs(ref('l'), 'main', { tail: 2 })).toBe('b\nc\n');
    expect((await rejectKind(m.logs(ref('l'), 'nope'))).kind).toBe('NotFound');
    await m.stop(ref('l'));
    expect((await m.get(ref('l'))).state).toBe('Stopped');
    await m.start(ref('l'));
    const g = await m.get(ref('l'));
    expect(g.state).toBe('Running');
    expect(await m.logs(ref('l'), 'main')).toBe('');
    expect((await rejectKind(m.get(ref('none')))).kind).toBe('NotFound');
  });

  test('an aborted signal rejects the call', async () => {
    const { m } = mk();
    const ac = new AbortController();
    ac.abort(new Error('stopped'));
    await expect(m.listOwned({ subscriptionId: SUB, resourceGroup: 'rg1' }, { signal: ac.signal })).rejects.toThrow('stopped');
  });
});
