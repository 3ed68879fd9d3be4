/**
 * A rate-limited work queue of keys, in the manner of client-go's workqueue: events only enqueue
 * keys and workers reconcile them level-triggered.
 *
 * - A key is queued at most once (dedup) and never processed by two workers at once; a key added
 *   while it is being processed is processed again right after.
 * - `addAfter(key, ms)`: one delayed entry per key, the earliest due time wins. Delayed entries are
 *   independent of the ready queue: a key due later may also be added now (the later wake-up then
 *   finds nothing to do, which is harmless for a level-triggered handler).
 * - `addRateLimited(key)`: delay = max(per-key exponential backoff, the overall token bucket's
 *   wait), so a storm of failures is bounded both per key and in total; `forget(key)` resets it.
 * - Waits are capped (WAIT_CAP_MS): a key due in a year wakes the timer daily and is re-checked,
 *   never handed to setTimeout beyond Node's 2^31-1 ms limit.
 * - Handler result: a throw/rejection → `addRateLimited`; otherwise `forget` and, when
 *   `requeueAfterMs` is a number, `addAfter`.
 * - Handlers that finish without waiting for I/O (most reconciles of idle jobs) chain through
 *   promise callbacks, which never let the event loop run: after `sliceMs` of such work the queue
 *   yields (setImmediate) so timers, the API and health checks stay responsive during a burst of
 *   10,000 reconciles at start-up.
 */
import { MAX_TIMER_MS, WAIT_CAP_MS, systemClock } from '../api/clock';
import type { Clock } from '../api/clock';

export interface TimerFunctions {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: TimerFunctions = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface ReconcileResult {
  /** Process the key again after this many ms (e.g. the next slot, a polling interval); null = only on events. */
  requeueAfterMs: number | null;
}

export type KeyHandler = (key: string, signal: AbortSignal) => Promise<ReconcileResult | void> | ReconcileResult | void;

export interface WorkQueueOptions {
  /** Parallel workers (default 4). */
  concurrency?: number;
  /** First retry delay of a failing key (default 500 ms); doubles per failure… */
  baseDelayMs?: number;
  /** …up to this cap (default 5 min). */
  maxDelayMs?: number;
  /** Overall limit on rate-limited re-adds: sustained rate and burst (default 10/s, burst 100). */
  rateLimit?: { perSecond: number; burst: number };
  /** Longest single timer wait; re-checked after it (default WAIT_CAP_MS). */
  waitCapMs?: number;
  clock?: Clock;
  timers?: TimerFunctions;
  /** Called when a handler throws (the key is requeued with backoff). */
  onError?: (key: string, err: unknown, requeues: number) => void;
  /** Longest stretch of dispatching without letting the event loop run (default 20 ms). */
  sliceMs?: number;
}

export class WorkQueue {
  /** FIFO of ready keys: `ready[readyHead…]` (a head index, so taking one is O(1)). */
  private ready: string[] = [];
  private readyHead = 0;
  /** When the current stretch without a turn of the event loop began (null: a turn has run since). */
  private sliceStart: number | null = null;
  private yieldPending = false;
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys added while being processed: requeued when the handler finishes. */
  private readonly dirty = new Set<string>();
  private readonly delayed = new Map<string, number>();
  /**
   * Min-heap of (due, key) for the delayed keys. Entries are never removed in place: an entry
   * whose due time no longer matches `delayed` (superseded by an earlier addAfter, or fired) is
   * stale and skipped when it reaches the top. Compacted when stale entries dominate.
   */
  private readonly heap = new DueHeap();
  private readonly failures = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<void>>();
  private handler: KeyHandler | undefined;
  private timer: { handle: unknown; at: number } | undefined;
  private abort = new AbortController();
  private stopping = false;
  private idleWaiters: (() => void)[] = [];
  private bucket: { tokens: number; at: number };

  private readonly concurrency: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly rate: { perSecond: number; burst: number };
  private readonly waitCapMs: number;
  private readonly clock: Clock;
  private readonly timers: TimerFunctions;
  private readonly onError: WorkQueueOptions['onError'];
  private readonly sliceMs: number;

  constructor(opts: WorkQueueOptions = {}) {
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.baseDelayMs = opts.baseDelayMs ?? 500;
    this.maxDelayMs = opts.maxDelayMs ?? 5 * 60_000;
    this.rate = opts.rateLimit ?? { perSecond: 10, burst: 100 };
    this.waitCapMs = Math.min(opts.waitCapMs ?? WAIT_CAP_MS, MAX_TIMER_MS);
    this.clock = opts.clock ?? systemClock;
    this.timers = opts.timers ?? systemTimers;
    this.onError = opts.onError;
    this.sliceMs = opts.sliceMs ?? 20;
    this.bucket = { tokens: this.rate.burst, at: this.clock.now() };
  }

  /** Queue a key for processing now (deduplicated). */
  add(key: string): void {
    if (this.stopping) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.ready.push(key);
    this.dispatch();
  }

  /** Queue a key after `ms`; if it already waits, the earlier due time wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopping) return;
    if (ms === Infinity) return;
    if (!(ms > 0)) {
      this.add(key);
      return;
    }
    const due = this.clock.now() + ms;
    const current = this.delayed.get(key);
    if (current !== undefined && current <= due) return;
    this.delayed.set(key, due);
    this.heap.push(due, key);
    if (this.heap.size() > 64 && this.heap.size() > 2 * this.delayed.size) this.heap.rebuild(this.delayed);
    this.arm();
  }

  /** Queue a key after its backoff: max(per-key exponential delay, overall token-bucket delay). */
  addRateLimited(key: string): void {
    if (this.stopping) return;
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const perKey = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(n, 52));
    this.addAfter(key, Math.max(perKey, this.reserveToken()));
  }

  /** Reset a key's backoff (after a success). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** How many times the key was requeued with backoff since its last `forget`. */
  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Keys ready to be processed (not counting delayed or in-flight ones). */
  len(): number {
    return this.ready.length - this.readyHead;
  }

  /** Keys waiting for a delayed add. */
  delayedLen(): number {
    return this.delayed.size;
  }

  /** Keys being processed now. */
  processingLen(): number {
    return this.processing.size;
  }

  /** When a key's delayed add is due (epoch ms), if it has one. */
  dueAt(key: string): number | undefined {
    return this.delayed.get(key);
  }

  /** Start the workers. */
  start(handler: KeyHandler): void {
    if (this.handler) throw new Error('WorkQueue already started');
    if (this.stopping) throw new Error('WorkQueue is shut down');
    this.handler = handler;
    this.dispatch();
  }

  /** Resolves once nothing is ready or being processed (delayed keys may still wait). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stop: no new keys are accepted or started, timers are cleared. `drain: true` waits for the
   * in-flight handlers to finish; `drain: false` aborts their signals and returns at once.
   */
  async shutdown(opts: { drain: boolean }): Promise<void> {
    this.stopping = true;
    if (this.timer) this.timers.clearTimeout(this.timer.handle);
    this.timer = undefined;
    this.delayed.clear();
    this.heap.clear();
    this.ready = [];
    this.readyHead = 0;
    this.queued.clear();
    this.dirty.clear();
    if (!opts.drain) {
      this.abort.abort(new Error('work queue shut down'));
      this.notifyIdle();
      return;
    }
    await Promise.all([...this.inflight.values()]);
    this.notifyIdle();
  }

  // internals ---------------------------------------------------------------------------------

  private reserveToken(): number {
    const now = this.clock.now();
    const { perSecond, burst } = this.rate;
    const b = this.bucket;
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) * perSecond) / 1000);
    b.at = now;
    b.tokens -= 1;
    return b.tokens >= 0 ? 0 : Math.ceil((-b.tokens * 1000) / perSecond);
  }

  private dispatch(): void {
    if (!this.handler || this.stopping || this.yieldPending) return;
    while (this.processing.size < this.concurrency && this.len() > 0) {
      if (this.mustYield()) return;
      const key = this.ready[this.readyHead++]!;
      if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
        this.ready = this.ready.slice(this.readyHead);
        this.readyHead = 0;
      }
      this.queued.delete(key);
      this.processing.add(key);
      this.inflight.set(key, this.process(key));
    }
  }

  private async process(key: string): Promise<void> {
    let result: ReconcileResult | void = undefined;
    let failed = false;
    let error: unknown;
    try {
      result = await this.handler!(key, this.abort.signal);
    } catch (err) {
      failed = true;
      error = err;
    }
    this.processing.delete(key);
    this.inflight.delete(key);
    if (!this.stopping) {
      if (failed) {
        this.addRateLimited(key);
        try {
          this.onError?.(key, error, this.numRequeues(key));
        } catch {
          // a faulty error hook must not stop the queue
        }
      } else {
        this.forget(key);
        const after = result?.requeueAfterMs;
        if (typeof after === 'number') this.addAfter(key, after);
      }
      if (this.dirty.delete(key)) this.add(key);
      this.dispatch();
    }
    if (this.isIdle()) this.notifyIdle();
  }

  /**
   * True when this stretch has run for `sliceMs` without a turn of the event loop: dispatching
   * resumes from a setImmediate callback (after timers and I/O callbacks have had their turn).
   */
  private mustYield(): boolean {
    const now = performance.now();
    if (this.sliceStart === null) {
      this.sliceStart = now;
      // reaching the check phase means the loop turned: a new stretch starts afterwards
      setImmediate(() => {
        this.sliceStart = null;
      }).unref();
      return false;
    }
    if (now - this.sliceStart < this.sliceMs) return false;
    this.yieldPending = true;
    setImmediate(() => {
      this.yieldPending = false;
      this.sliceStart = null;
      this.dispatch();
    });
    return true;
  }

  private isIdle(): boolean {
    return this.processing.size === 0 && (this.len() === 0 || this.stopping || !this.handler);
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** The earliest live due time (drops stale heap entries on the way), or Infinity. */
  private earliestDue(): number {
    for (;;) {
      const top = this.heap.peek();
      if (!top) return Infinity;
      if (this.delayed.get(top.key) === top.due) return top.due;
      this.heap.pop();
    }
  }

  /** Arm one timer for the earliest delayed key, capped so long waits are re-checked. O(log n). */
  private arm(): void {
    if (this.stopping) return;
    const earliest = this.earliestDue();
    if (earliest === Infinity) {
      if (this.timer) this.timers.clearTimeout(this.timer.handle);
      this.timer = undefined;
      return;
    }
    const now = this.clock.now();
    const wait = Math.min(Math.max(0, earliest - now), this.waitCapMs);
    const at = now + wait;
    if (this.timer && this.timer.at <= at) return; // an earlier (or equal) wake-up is already armed
    if (this.timer) this.timers.clearTimeout(this.timer.handle);
    const handle = this.timers.setTimeout(() => this.fire(handle), wait);
    this.timer = { handle, at };
  }

  private fire(handle: unknown): void {
    if (this.timer?.handle !== handle) return;
    this.timer = undefined;
    const now = this.clock.now();
    // Pop due entries in due order (ties: insertion order is not guaranteed, as before with sort).
    for (;;) {
      const top = this.heap.peek();
      if (!top || top.due > now) break;
      this.heap.pop();
      if (this.delayed.get(top.key) !== top.due) continue; // stale
      this.delayed.delete(top.key);
      this.add(top.key);
    }
    this.arm();
  }
}

/** A binary min-heap of (due, key), ordered by due time, then by insertion sequence. */
export class DueHeap {
  private dues: number[] = [];
  private keys: string[] = [];
  private seqs: number[] = [];
  private seq = 0;

  size(): number {
    return this.dues.length;
  }

  clear(): void {
    this.dues = [];
    this.keys = [];
    this.seqs = [];
  }

  peek(): { due: number; key: string } | undefined {
    return this.dues.length === 0 ? undefined : { due: this.dues[0]!, key: this.keys[0]! };
  }

  push(due: number, key: string): void {
    this.dues.push(due);
    this.keys.push(key);
    this.seqs.push(this.seq++);
    this.up(this.dues.length - 1);
  }

  pop(): { due: number; key: string } | undefined {
    const n = this.dues.length;
    if (n === 0) return undefined;
    const top = { due: this.dues[0]!, key: this.keys[0]! };
    const lastDue = this.dues.pop()!;
    const lastKey = this.keys.pop()!;
    const lastSeq = this.seqs.pop()!;
    if (n > 1) {
      this.dues[0] = lastDue;
      this.keys[0] = lastKey;
      this.seqs[0] = lastSeq;
      this.down(0);
    }
    return top;
  }

  /** Replace the contents with exactly the live entries of `live` (key → due). */
  rebuild(live: ReadonlyMap<string, number>): void {
    this.clear();
    for (const [key, due] of live) {
      this.dues.push(due);
      this.keys.push(key);
      this.seqs.push(this.seq++);
    }
    for (let i = (this.dues.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private less(i: number, j: number): boolean {
    const a = this.dues[i]!;
    const b = this.dues[j]!;
    return a < b || (a === b && this.seqs[i]! < this.seqs[j]!);
  }

  private swap(i: number, j: number): void {
    const d = this.dues[i]!;
    this.dues[i] = this.dues[j]!;
    this.dues[j] = d;
    const k = this.keys[i]!;
    this.keys[i] = this.keys[j]!;
    this.keys[j] = k;
    const s = this.seqs[i]!;
    this.seqs[i] = this.seqs[j]!;
    this.seqs[j] = s;
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.dues.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(l, m)) m = l;
      if (r < n && this.less(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
