/**
 * The work queue's delayed keys live in a min-heap: these tests check the heap itself against a
 * sorted reference, and that the queue keeps its semantics (earliest wins, due order, one timer)
 * with many keys, stale (superseded) heap entries and wake-ups far apart.
 */
import fc from 'fast-check';
import { DueHeap, WorkQueue } from '../../src/controller/workqueue';

describe('DueHeap', () => {
  test('pops in due order, ties in insertion order (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 200 }), (dues) => {
        const h = new DueHeap();
        dues.forEach((d, i) => h.push(d, `k${i}`));
        const out: string[] = [];
        for (let e = h.pop(); e; e = h.pop()) out.push(e.key);
        const expected = dues.map((d, i) => ({ d, i })).sort((a, b) => a.d - b.d || a.i - b.i).map((x) => `k${x.i}`);
        expect(out).toEqual(expected);
        expect(h.size()).toBe(0);
      }),
    );
  });

  test('rebuild keeps exactly the live entries', () => {
    const h = new DueHeap();
    for (let i = 0; i < 10; i++) h.push(100 - i, `k${i}`);
    h.rebuild(new Map([['a', 5], ['b', 1], ['c', 3]]));
    expect(h.size()).toBe(3);
    expect([h.pop()!.key, h.pop()!.key, h.pop()!.key]).toEqual(['b', 'c', 'a']);
    expect(h.pop()).toBeUndefined();
  });
});

/** Fake clock and timers; counts setTimeout calls. */
function fakeTime() {
  let t = 1_000_000;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let seq = 0;
  let armed = 0;
  return {
    now: () => t,
    armed: () => armed,
    live: () => timers.size,
    timers: {
      setTimeout: (fn: () => void, ms: number) => {
        armed++;
        timers.set(++seq, { at: t + ms, fn });
        return seq;
      },
      clearTimeout: (h: unknown) => void timers.delete(h as number),
    },
    async advance(ms: number) {
      const end = t + ms;
      for (;;) {
        for (let i = 0; i < 20; i++) await Promise.resolve();
        let next: [number, { at: number; fn: () => void }] | undefined;
        for (const e of timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
        if (!next) break;
        timers.delete(next[0]);
        t = Math.max(t, next[1].at);
        next[1].fn();
      }
      t = end;
      for (let i = 0; i < 20; i++) await Promise.resolve();
    },
  };
}

describe('WorkQueue with many delayed keys', () => {
  test('10,000 keys: each processed once at its earliest due time, in due order, with one live timer', async () => {
    const time = fakeTime();
    const q = new WorkQueue({ clock: { now: time.now }, timers: time.timers, concurrency: 1, sliceMs: Infinity }); // fake time: no real-time yields
    const seen: { key: string; at: number }[] = [];
    q.start((key) => {
      seen.push({ key, at: time.now() });
      return { requeueAfterMs: null };
    });
    const t0 = time.now();
    const due = new Map<string, number>();
    // Pseudo-random delays; every key is added twice, the second add earlier for even keys (wins)
    // and later for odd ones (ignored): the heap then holds stale entries that must be skipped.
    let x = 12345;
    const rnd = () => (x = (x * 1103515245 + 12345) % 2 ** 31) % 100_000;
    for (let i = 0; i < 10_000; i++) {
      const k = `job-${i}`;
      const a = 1000 + rnd();
      const b = i % 2 === 0 ? Math.max(1, a - 500) : a + 500;
      q.addAfter(k, a);
      q.addAfter(k, b);
      due.set(k, Math.min(a, b));
    }
    expect(q.delayedLen()).toBe(10_000);
    expect(time.live()).toBe(1);
    expect(q.dueAt('job-0')).toBe(t0 + due.get('job-0')!);
    await time.advance(200_000);
    expect(seen).toHaveLength(10_000);
    expect(new Set(seen.map((s) => s.key)).size).toBe(10_000);
    for (const s of seen) expect(s.at - t0).toBe(due.get(s.key));
    for (let i = 1; i < seen.length; i++) expect(seen[i].at).toBeGreaterThanOrEqual(seen[i - 1].at);
    expect(q.delayedLen()).toBe(0);
    expect(time.live()).toBe(0);
  });

  test('a key re-added after it fired is scheduled afresh; stale entries do not fire it early', async () => {
    const time = fakeTime();
    const q = new WorkQueue({ clock: { now: time.now }, timers: time.timers, sliceMs: Infinity });
    const seen: number[] = [];
    const t0 = time.now();
    q.start(() => {
      seen.push(time.now() - t0);
      return { requeueAfterMs: null };
    });
    q.addAfter('k', 5000);
    q.addAfter('k', 1000); // wins; the 5000 entry is now stale
    await time.advance(2000);
    q.addAfter('k', 6000); // due at 8000; the stale 5000 entry must not fire it
    await time.advance(10_000);
    expect(seen).toEqual([1000, 8000]);
  });
});
