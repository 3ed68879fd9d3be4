import { MAX_TIMER_MS, WAIT_CAP_MS } from '../../src/api/clock';
import { WorkQueue } from '../../src/controller/workqueue';
import type { KeyHandler, WorkQueueOptions } from '../../src/controller/workqueue';

/** A hand-moved clock with timers; records every requested wait. */
class FakeTime {
  t = 1_000_000;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private seq = 0;
  readonly waits: number[] = [];
  readonly clock = { now: () => this.t };
  readonly timerFns = {
    setTimeout: (fn: () => void, ms: number) => {
      if (ms > MAX_TIMER_MS) throw new Error(`timer overflow: ${ms}`);
      this.waits.push(ms);
      const id = ++this.seq;
      this.timers.set(id, { at: this.t + ms, fn });
      return id;
    },
    clearTimeout: (h: unknown) => {
      this.timers.delete(h as number);
    },
  };
  /** Move time forward, firing due timers in order, letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
    await settle();
  }
  pending(): number {
    return this.timers.size;
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function setup(opts: Partial<WorkQueueOptions> = {}) {
  const time = new FakeTime();
  const q = new WorkQueue({ clock: time.clock, timers: time.timerFns, sliceMs: Infinity, ...opts }); // fake time: no real-time yields
  return { time, q };
}

describe('WorkQueue', () => {
  test('deduplicates keys queued before processing', async () => {
    const { q } = setup({ concurrency: 1 });
    const seen: string[] = [];
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(2);
    q.start(async (k) => {
      seen.push(k);
      return { requeueAfterMs: null };
    });
    await q.whenIdle();
    expect(seen).toEqual(['a', 'b']);
    expect(q.len()).toBe(0);
  });

  test('one key is never processed concurrently; re-added while processing → processed again after', async () => {
    const { q } = setup({ concurrency: 4 });
    let running = 0;
    let maxRunning = 0;
    const gates: { resolve: () => void }[] = [];
    const seen: string[] = [];
    q.start(async (k) => {
      seen.push(k);
      running++;
      maxRunning = Math.max(maxRunning, running);
      const d = deferred();
      gates.push(d);
      await d.promise;
      running--;
      return { requeueAfterMs: null };
    });
    q.add('a');
    await settle();
    expect(q.processingLen()).toBe(1);
    q.add('a');
    q.add('a');
    await settle();
    expect(seen).toEqual(['a']); // not started twice
    expect(q.len()).toBe(0);
    gates[0].resolve();
    await settle();
    expect(seen).toEqual(['a', 'a']); // exactly one more time
    gates[1].resolve();
    await q.whenIdle();
    expect(seen).toEqual(['a', 'a']);
    expect(maxRunning).toBe(1);
  });

  test('runs up to `concurrency` different keys in parallel', async () => {
    const { q } = setup({ concurrency: 3 });
    const gate = deferred();
    let running = 0;
    let maxRunning = 0;
    q.start(async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await gate.promise;
      running--;
      return { requeueAfterMs: null };
    });
    for (const k of ['a', 'b', 'c', 'd', 'e']) q.add(k);
    await settle();
    expect(running).toBe(3);
    expect(q.len()).toBe(2);
    gate.resolve();
    await q.whenIdle();
    expect(maxRunning).toBe(3);
  });

  test('errors requeue with exponential backoff up to the cap; success forgets', async () => {
    const { time, q } = setup({ baseDelayMs: 100, maxDelayMs: 1000, rateLimit: { perSecond: 1000, burst: 1000 } });
    const times: number[] = [];
    let failUntil = 7;
    q.start(async () => {
      times.push(time.t);
      if (times.length <= failUntil) throw new Error('boom');
      return { requeueAfterMs: null };
    });
    q.add('k');
    await time.advance(10_000);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(gaps).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    expect(q.numRequeues('k')).toBe(0); // the 8th call succeeded → forgotten
    // after forget, the next failure starts from the base delay again
    failUntil = 9;
    times.length = 8;
    q.add('k');
    await time.advance(1000);
    expect(times.length).toBe(10);
    expect(times[9] - times[8]).toBe(100);
  });

  test('onError sees the key, the error and the requeue count', async () => {
    const calls: [string, string, number][] = [];
    const { time, q } = setup({ baseDelayMs: 10, onError: (k, e, n) => calls.push([k, (e as Error).message, n]) });
    let n = 0;
    q.start(async () => {
      if (++n <= 2) throw new Error(`fail ${n}`);
      return { requeueAfterMs: null };
    });
    q.add('x');
    await time.advance(100);
    expect(calls).toEqual([
      ['x', 'fail 1', 1],
      ['x', 'fail 2', 2],
    ]);
    expect(n).toBe(3);
  });

  test('the overall token bucket spaces out rate-limited re-adds', async () => {
    const { time, q } = setup({ baseDelayMs: 1, rateLimit: { perSecond: 10, burst: 2 } });
    const at = new Map<string, number>();
    q.start(async (k) => {
      at.set(k, time.t);
      return { requeueAfterMs: null };
    });
    const t0 = time.t;
    for (const k of ['a', 'b', 'c', 'd']) q.addRateLimited(k);
    await time.advance(1000);
    // two from the burst right away (after the 1 ms per-key delay), then one per 100 ms
    expect([...at.entries()].map(([k, t]) => [k, t - t0])).toEqual([
      ['a', 1],
      ['b', 1],
      ['c', 100],
      ['d', 200],
    ]);
  });

  test('delayed adds: the earliest due time wins', async () => {
    const { time, q } = setup();
    const at: number[] = [];
    q.start(async () => {
      at.push(time.t);
      return { requeueAfterMs: null };
    });
    const t0 = time.t;
    q.addAfter('k', 5000);
    q.addAfter('k', 2000); // earlier: wins
    q.addAfter('k', 9000); // later: ignored
    expect(q.dueAt('k')).toBe(t0 + 2000);
    expect(q.delayedLen()).toBe(1);
    await time.advance(10_000);
    expect(at.map((t) => t - t0)).toEqual([2000]);
    expect(q.delayedLen()).toBe(0);
  });

  test('requeueAfterMs from the handler schedules the next processing', async () => {
    const { time, q } = setup();
    const at: number[] = [];
    q.start(async () => {
      at.push(time.t);
      return { requeueAfterMs: at.length < 3 ? 1500 : null };
    });
    const t0 = time.t;
    q.add('k');
    await time.advance(60_000);
    expect(at.map((t) => t - t0)).toEqual([0, 1500, 3000]);
  });

  test('a key due in a year is re-checked under the timer cap, never overflowed', async () => {
    const { time, q } = setup();
    const year = 365 * 24 * 3600 * 1000;
    const at: number[] = [];
    q.start(async () => {
      at.push(time.t);
      return { requeueAfterMs: null };
    });
    const t0 = time.t;
    q.addAfter('yearly', year);
    expect(Math.max(...time.waits)).toBeLessThanOrEqual(WAIT_CAP_MS);
    await time.advance(year - 1);
    expect(at).toEqual([]);
    expect(time.waits.length).toBeGreaterThanOrEqual(365);
    expect(Math.max(...time.waits)).toBeLessThanOrEqual(WAIT_CAP_MS);
    await time.advance(1);
    expect(at.map((t) => t - t0)).toEqual([year]);
  });

  test('a nearer key re-arms the timer below a capped far one', async () => {
    const { time, q } = setup();
    const seen: string[] = [];
    q.start(async (k) => {
      seen.push(k);
      return { requeueAfterMs: null };
    });
    q.addAfter('far', 100 * WAIT_CAP_MS);
    q.addAfter('near', 10);
    await time.advance(20);
    expect(seen).toEqual(['near']);
    expect(time.pending()).toBe(1);
  });

  test('shutdown with drain waits for in-flight handlers and starts nothing new', async () => {
    const { time, q } = setup({ concurrency: 1 });
    const gate = deferred();
    const seen: string[] = [];
    let finished = false;
    q.start(async (k) => {
      seen.push(k);
      await gate.promise;
      finished = true;
      return { requeueAfterMs: 10 };
    });
    q.add('a');
    q.add('b');
    q.addAfter('c', 5);
    await settle();
    let done = false;
    const p = q.shutdown({ drain: true }).then(() => (done = true));
    await settle();
    expect(done).toBe(false);
    gate.resolve();
    await p;
    expect(finished).toBe(true);
    await time.advance(1000);
    q.add('d');
    await settle();
    expect(seen).toEqual(['a']);
    expect(time.pending()).toBe(0);
  });

  test('shutdown without drain aborts the handlers\' signal and returns at once', async () => {
    const { q } = setup();
    const gate = deferred();
    let aborted = false;
    q.start(async (_k, signal) => {
      signal.addEventListener('abort', () => {
        aborted = true;
      });
      await gate.promise;
      return { requeueAfterMs: null };
    });
    q.add('a');
    await settle();
    await q.shutdown({ drain: false });
    expect(aborted).toBe(true);
    gate.resolve();
  });

  test('a handler that throws synchronously is requeued too', async () => {
    const { time, q } = setup({ baseDelayMs: 50 });
    let calls = 0;
    const handler: KeyHandler = () => {
      calls++;
      if (calls === 1) throw new Error('sync');
      return { requeueAfterMs: null };
    };
    q.start(handler);
    q.add('a');
    await time.advance(49);
    expect(calls).toBe(1);
    await time.advance(1);
    expect(calls).toBe(2);
  });
});

describe('yielding to the event loop', () => {
  test('a long chain of handlers that never wait lets timers and I/O callbacks run in between, in order, and finishes', async () => {
    const q = new WorkQueue({ concurrency: 4, sliceMs: 5 });
    const done: string[] = [];
    const busy = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    q.start((key) => {
      busy(1);
      done.push(key);
    });
    let ranAfter = -1;
    setTimeout(() => (ranAfter = done.length), 0);
    for (let i = 0; i < 200; i++) q.add(`k${String(i).padStart(3, '0')}`);
    await q.whenIdle();
    // the timer ran while keys were still waiting (about 200 ms of synchronous work in all)
    expect(ranAfter).toBeGreaterThan(0);
    expect(ranAfter).toBeLessThan(100);
    expect(done).toEqual(Array.from({ length: 200 }, (_, i) => `k${String(i).padStart(3, '0')}`));
    expect(q.len()).toBe(0);
    await q.shutdown({ drain: true });
  });
});
