import { AZURE_RATE_LIMITS, backoffDelay, DEFAULT_RETRY, RateLimiter, scaleLimits, type Sleep } from '../../src/aci/rate-limit';

/** A fake clock with timers: sleeps resolve only when `run` advances time to them. */
class FakeTime {
  now = 0;
  private timers: { at: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  clock = { now: () => this.now };
  sleep: Sleep = (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const t = { at: this.now + ms, resolve, reject };
      this.timers.push(t);
      signal?.addEventListener('abort', () => {
        this.timers = this.timers.filter((x) => x !== t);
        reject(signal.reason);
      });
    });
  async flush(): Promise<void> {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  }
  /** Advance time timer by timer until `until` resolves. */
  async run<T>(until: Promise<T>): Promise<T> {
    let done = false;
    const p = until.finally(() => (done = true));
    for (let guard = 0; guard < 100_000; guard++) {
      await this.flush();
      if (done) return p;
      this.timers.sort((a, b) => a.at - b.at);
      const t = this.timers.shift();
      if (!t) {
        await this.flush();
        if (done) return p;
        throw new Error('deadlock: nothing to wait for');
      }
      this.now = Math.max(this.now, t.at);
      t.resolve();
    }
    throw new Error('too many steps');
  }
}

describe('RateLimiter', () => {
  test('a token bucket admits its capacity at once, then at the refill rate', async () => {
    const ft = new FakeTime();
    const rl = new RateLimiter({ writes: { capacity: 5, refillPerSecond: 1 }, aciCreates: [] }, { clock: ft.clock, sleep: ft.sleep });
    const granted: number[] = [];
    const all = Promise.all(
      Array.from({ length: 8 }, async () => {
        const p = await rl.acquire('write');
        granted.push(ft.now);
        p.done();
      }),
    );
    await ft.run(all);
    expect(granted).toEqual([0, 0, 0, 0, 0, 1000, 2000, 3000]);
  });

  test('a sliding window counts calls until they finish and one window after: the server never sees more', async () => {
    const ft = new FakeTime();
    const rl = new RateLimiter({ writes: null, aciCreates: [{ limit: 3, windowMs: 10_000 }] }, { clock: ft.clock, sleep: ft.sleep });
    const starts: number[] = [];
    const finishes: number[] = [];
    const one = async () => {
      const p = await rl.acquire('create');
      starts.push(ft.now);
      await ft.sleep(100 + 50 * starts.length); // the call takes a while
      finishes.push(ft.now);
      p.done();
    };
    await ft.run(Promise.all(Array.from({ length: 7 }, one)));
    expect(starts.slice(0, 3)).toEqual([0, 0, 0]);
    expect(starts[3]).toBeGreaterThan(10_000);
    // Whatever instant inside [start, finish] the server saw each request at, no window of 10 s holds more than 3.
    for (let i = 0; i < starts.length; i++) {
      const inWindow = starts.filter((s, j) => finishes[j] > starts[i] - 10_000 && s <= starts[i]);
      expect(inWindow.length).toBeLessThanOrEqual(3);
    }
  });

  test('create needs both the write bucket and every ACI window', async () => {
    const ft = new FakeTime();
    const rl = new RateLimiter(
      { writes: { capacity: 2, refillPerSecond: 0.5 }, aciCreates: [{ limit: 3, windowMs: 1000 }, { limit: 4, windowMs: 60_000 }] },
      { clock: ft.clock, sleep: ft.sleep },
    );
    const granted: number[] = [];
    await ft.run(
      Promise.all(
        Array.from({ length: 6 }, async () => {
          const p = await rl.acquire('create');
          granted.push(ft.now);
          p.done();
        }),
      ),
    );
    expect(granted.slice(0, 4)).toEqual([0, 0, 2000, 4000]);
    expect(granted[4]).toBeGreaterThanOrEqual(60_000);
  });

  test('pause (429 Retry-After) holds the class back; reads are unaffected', async () => {
    const ft = new FakeTime();
    const rl = new RateLimiter(AZURE_RATE_LIMITS, { clock: ft.clock, sleep: ft.sleep });
    rl.pause('create', 7000);
    let readAt = -1;
    let createAt = -1;
    const r = rl.acquire('read').then((p) => ((readAt = ft.now), p.done()));
    const c = rl.acquire('create').then((p) => ((createAt = ft.now), p.done()));
    await ft.run(Promise.all([r, c]));
    expect(readAt).toBe(0);
    expect(createAt).toBe(7000);
  });

  test('waiting is abortable and FIFO; an aborted waiter does not block the next', async () => {
    const ft = new FakeTime();
    const rl = new RateLimiter({ writes: { capacity: 1, refillPerSecond: 1 } }, { clock: ft.clock, sleep: ft.sleep });
    (await rl.acquire('write')).done();
    const ac = new AbortController();
    const order: string[] = [];
    const a = rl.acquire('write', ac.signal).then(
      () => order.push('a'),
      () => order.push('a-aborted'),
    );
    const b = rl.acquire('write').then((p) => (order.push(`b@${ft.now}`), p.done()));
    await ft.flush();
    ac.abort(new Error('stop'));
    await ft.run(Promise.all([a, b]));
    expect(order).toEqual(['a-aborted', 'b@1000']);
  });

  test('scaleLimits compresses time only', () => {
    const s = scaleLimits(AZURE_RATE_LIMITS, 60);
    expect(s.writes).toEqual({ capacity: 200, refillPerSecond: 600 });
    expect(s.aciCreates).toEqual([
      { limit: 100, windowMs: 5000 },
      { limit: 300, windowMs: 60_000 },
    ]);
  });

  test('backoffDelay: jittered within [ceiling/2, ceiling], exponential, capped', () => {
    expect(backoffDelay(1, DEFAULT_RETRY, () => 0)).toBe(250);
    expect(backoffDelay(1, DEFAULT_RETRY, () => 1)).toBe(500);
    expect(backoffDelay(3, DEFAULT_RETRY, () => 1)).toBe(2000);
    expect(backoffDelay(20, DEFAULT_RETRY, () => 1)).toBe(DEFAULT_RETRY.maxDelayMs);
  });
});
