/** Retries, Retry-After, timeouts and error kinds against the emulator's fault injection. */
import { AciError } from '../../src/aci/types';
import { startEmulator } from '../../src/emulator';
import { makeAdapter, type Emulator, type Exchange } from './emulator-harness';
import { desiredGroup, minimalTemplate } from './fixtures';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ runtime: 'simulate', faults: 'put:429=0.5,get:503=0.3,list:500=0.3,reset=0.05,retryAfterMs=30,seed=7', lroDelayMs: 10 });
});
afterAll(async () => {
  await emu?.close();
});

test('429/5xx/resets are retried (Retry-After honoured) until every call succeeds', async () => {
  const log: Exchange[] = [];
  const calls: { op: string; outcome: string }[] = [];
  const aci = makeAdapter(emu, 'ctl-f', log, { retry: { maxRetries: 8, baseDelayMs: 5, maxDelayMs: 50 }, onCall: (op, outcome) => calls.push({ op, outcome }) });
  const scope = { subscriptionId: emu.subscriptionId, resourceGroup: 'rgf' };
  for (let i = 0; i < 12; i++) {
    const ref = { ...scope, name: `f-${i}` };
    try {
      await aci.createOrUpdate(desiredGroup(ref, minimalTemplate({ resourceGroup: 'rgf' }), 'ctl-f'), { ifNoneMatch: true });
    } catch (e) {
      // A reset after a processed PUT makes the retry meet the group: Conflict, and the group is there.
      expect(e).toBeInstanceOf(AciError);
      expect((e as AciError).kind).toBe('Conflict');
    }
    expect((await aci.get(ref)).name).toBe(`f-${i}`);
  }
  const owned = await aci.listOwned(scope);
  expect(owned).toHaveLength(12);
  expect(calls.some((c) => c.outcome === 'Throttled')).toBe(true);
  expect(calls.some((c) => c.outcome === 'Transient')).toBe(true);
  expect(emu.stats().throttled + Object.values(emu.stats().injectedFaults).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
});

test('without retries the typed error surfaces: Throttled carries retryAfterMs', async () => {
  const aci = makeAdapter(emu, 'ctl-f', [], { retry: { maxRetries: 0 } });
  const kinds = new Set<string>();
  let retryAfter: number | undefined;
  for (let i = 0; i < 20; i++) {
    try {
      await aci.createOrUpdate(desiredGroup({ subscriptionId: emu.subscriptionId, resourceGroup: 'rgf', name: `t-${i}` }, minimalTemplate({ resourceGroup: 'rgf' }), 'ctl-f'), { ifNoneMatch: true });
    } catch (e) {
      const err = e as AciError;
      kinds.add(err.kind);
      if (err.kind === 'Throttled') retryAfter = err.retryAfterMs;
    }
  }
  expect(kinds.has('Throttled')).toBe(true);
  expect(retryAfter).toBe(30);
});

test('every attempt is bounded by the call timeout', async () => {
  const slow = await startEmulator({ runtime: 'simulate', faults: 'latency=400ms' });
  try {
    const aci = makeAdapter(slow, 'ctl-f', [], { callTimeoutMs: 50, retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    const started = Date.now();
    const err = await aci.get({ subscriptionId: slow.subscriptionId, resourceGroup: 'rg', name: 'x' }).catch((e) => e);
    expect(err).toBeInstanceOf(AciError);
    expect(err).toMatchObject({ kind: 'Transient', code: 'Timeout' });
    expect(Date.now() - started).toBeLessThan(400);
  } finally {
    await slow.close();
  }
});

test('a caller abort stops the call (not retried, not mapped)', async () => {
  const aci = makeAdapter(emu, 'ctl-f', []);
  const ac = new AbortController();
  ac.abort(new Error('shutting down'));
  await expect(aci.listOwned({ subscriptionId: emu.subscriptionId, resourceGroup: 'rgf' }, { signal: ac.signal })).rejects.toThrow('shutting down');
});
