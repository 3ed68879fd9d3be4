/**
 * Fault injection (seeded, deterministic) and the ARM/ACI throttling model: the SDK's own retry
 * policy rides through 20% injected 429s (and 5xx / resets); the Azure preset refuses creates after
 * 100 in 5 minutes with 429 SubscriptionRequestsThrottled + Retry-After, using a hand-moved clock.
 */
import { FaultInjector, parseFaultSpec } from '../../src/emulator/faults';
import { AZURE_THROTTLING, Throttler } from '../../src/emulator/throttling';
import { startEmulator } from '../../src/emulator';
import { clientFor, FAST, shGroup } from './helpers';

describe('fault spec', () => {
  test('parses rates, percentages, per-operation overrides, latency and seed', () => {
    const s = parseFaultSpec('429=0.2,500=5%,503=0.05,reset=0.02,latency=0-200ms,seed=42,put:429=0.5,get:latency=5ms,retryAfterMs=30');
    expect(s.global.rates).toEqual({ '429': 0.2, '500': 0.05, '503': 0.05, reset: 0.02 });
    expect(s.global.latency).toEqual([0, 200]);
    expect(s.seed).toBe(42);
    expect(s.retryAfterMs).toBe(30);
    expect(s.perOperation.put.rates['429']).toBe(0.5);
    expect(s.perOperation.get.latency).toEqual([5, 5]);
    expect(() => parseFaultSpec('429=2')).toThrow(/rate/);
    expect(() => parseFaultSpec('teapot=0.1')).toThrow(/unknown fault kind/);
    expect(() => parseFaultSpec('429=0.6,500=0.6')).toThrow(/more than 1/);
  });

  test('the same seed gives the same decisions; rates are respected', () => {
    const run = (seed: number) => {
      const f = new FaultInjector(parseFaultSpec(`429=0.2,500=0.1,seed=${seed}`));
      return Array.from({ length: 2000 }, () => f.decide('get').kind ?? '-');
    };
    const a = run(7);
    expect(run(7)).toEqual(a);
    expect(run(8)).not.toEqual(a);
    const share = (k: string) => a.filter((x) => x === k).length / a.length;
    expect(share('429')).toBeGreaterThan(0.16);
    expect(share('429')).toBeLessThan(0.24);
    expect(share('500')).toBeGreaterThan(0.07);
    expect(share('500')).toBeLessThan(0.13);
    const perOp = new FaultInjector(parseFaultSpec('put:429=1'));
    expect(perOp.decide('put').kind).toBe('429');
    expect(perOp.decide('get').kind).toBeUndefined();
  });
});

describe('throttling model', () => {
  test('token bucket: capacity, then 429 with a wait, refilled over time', () => {
    let now = 0;
    const t = new Throttler({ writes: { capacity: 3, refillPerSecond: 2 } }, now);
    const results = [1, 2, 3, 4].map(() => t.admit('write', undefined, now));
    expect(results.map((r) => r.ok)).toEqual([true, true, true, false]);
    expect(results[0].headers['x-ms-ratelimit-remaining-subscription-writes']).toBe('2');
    const refused = results[3];
    expect(refused.ok === false && refused.retryAfterMs).toBe(500);
    now += 500;
    expect(t.admit('write', undefined, now).ok).toBe(true);
    // Reads are not limited by this config.
    expect(t.admit('read', undefined, now).ok).toBe(true);
  });

  test('ACI windows: 100 per 5 minutes, 300 per hour', () => {
    let now = 1_000_000;
    const t = new Throttler({ creates: AZURE_THROTTLING.creates }, now);
    let ok = 0;
    for (let i = 0; i < 120; i++) if (t.admit('write', 'create', now).ok) ok++;
    expect(ok).toBe(100);
    const r = t.admit('write', 'create', now);
    expect(r.ok).toBe(false);
    expect(r.ok === false && r.retryAfterMs).toBe(300_000);
    for (const step of [1, 2]) {
      now += 300_000;
      let n = 0;
      for (let i = 0; i < 120; i++) if (t.admit('write', 'create', now).ok) n++;
      expect([step, n]).toEqual([step, 100]);
    }
    now += 300_000; // 300 in the last hour: the hourly window refuses now
    expect(t.admit('write', 'create', now).ok).toBe(false);
  });
});

describe('through the SDK', () => {
  test('20% injected 429s (plus some 5xx and resets): the SDK retry completes every call; stats show the retries', async () => {
    const emu = await startEmulator({ faults: '429=0.2,503=0.03,500=0.03,reset=0.02,seed=11,retryAfterMs=5', lroDelayMs: 10 });
    try {
      const client = clientFor(emu, { maxRetries: 12 });
      const n = 25;
      for (let i = 0; i < n; i++) await client.containerGroups.beginCreateOrUpdateAndWait('f', `g-${i}`, shGroup('exit 0'), FAST);
      for (let i = 0; i < n; i++) expect((await client.containerGroups.get('f', `g-${i}`)).name).toBe(`g-${i}`);
      let listed = 0;
      for await (const _ of client.containerGroups.listByResourceGroup('f')) listed++;
      expect(listed).toBe(n);
      const s = emu.stats();
      expect(s.creations).toHaveLength(n);
      expect(s.injectedFaults['429']).toBeGreaterThan(0);
      expect(s.responses['429']).toBe(s.injectedFaults['429']);
      // Every get was retried until it succeeded: more get requests than gets asked for, 200s == n.
      expect(s.requests.get).toBeGreaterThan(n);
      const faultsSeen = Object.values(s.injectedFaults).reduce((a, b) => a + b, 0);
      const totalRequests = Object.values(s.requests).reduce((a, b) => a + b, 0);
      expect(faultsSeen / totalRequests).toBeGreaterThan(0.15);
    } finally {
      await emu.close();
    }
  });

  test('a "lost" fault processes the request but drops the answer: the client fails, the group exists', async () => {
    const emu = await startEmulator({ faults: 'put:lost=1', lroDelayMs: 5 });
    try {
      const client = clientFor(emu, { maxRetries: 0 });
      await expect(client.containerGroups.beginCreateOrUpdate('lost', 'ghost', shGroup('exit 0'), FAST)).rejects.toThrow();
      expect((await client.containerGroups.get('lost', 'ghost')).name).toBe('ghost');
      expect(emu.stats().injectedFaults.lost).toBe(1);
      expect(emu.stats().creations.map((c) => c.name)).toEqual(['ghost']);
    } finally {
      await emu.close();
    }
  });

  test('azure preset: a burst of 150 creates meets 429 SubscriptionRequestsThrottled after 100 in 5 minutes', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const emu = await startEmulator({ throttling: 'azure', clock: { now: () => now }, lroDelayMs: 5 });
    try {
      const client = clientFor(emu, { maxRetries: 0 });
      const outcomes: (number | string)[] = [];
      const retryAfter: string[] = [];
      let remaining5m: string | undefined;
      for (let i = 0; i < 150; i++) {
        now += 100; // 150 creates in 15 s — well under the write bucket's refill
        try {
          await client.containerGroups.beginCreateOrUpdate('burst', `b-${i}`, shGroup('exit 0'), {
            ...FAST,
            onResponse: (r) => {
              if (r.status === 429) retryAfter.push(r.headers.get('retry-after') ?? '');
              if (r.request.method === 'PUT' && r.status < 300) remaining5m = r.headers.get('x-ms-ratelimit-remaining-subscription-resource-requests-pt5m');
            },
          });
          outcomes.push(201);
        } catch (e) {
          outcomes.push((e as { code?: string }).code ?? 'error');
        }
      }
      expect(outcomes.slice(0, 100).every((o) => o === 201)).toBe(true);
      expect(outcomes.slice(100).every((o) => o === 'SubscriptionRequestsThrottled')).toBe(true);
      expect(remaining5m).toBe('0');
      expect(Number(retryAfter[0])).toBeGreaterThan(250); // the window frees up about 5 minutes after the first create
      expect(emu.stats().throttled).toBe(50);
      // Five minutes later creates are admitted again.
      now += 300_000;
      await client.containerGroups.beginCreateOrUpdate('burst', 'later', shGroup('exit 0'), FAST);
      expect(emu.stats().creations).toHaveLength(101);
    } finally {
      await emu.close();
    }
  });
});
