/**
 * Client-side budget for ARM calls, so the controller spreads its work instead of collecting 429s.
 *
 * Every call belongs to a class:
 *   read   — GET, list pages, logs                 → ARM reads bucket
 *   write  — start, stop                           → ARM writes bucket
 *   create — PUT of a container group              → ARM writes bucket + ACI create windows
 *   delete — DELETE of a container group           → ARM deletes bucket + ACI delete windows
 * A call waits (abortably) until every gate of its class has room, in FIFO order per class.
 *
 * ARM's own limits are token buckets (capacity, refill per second); ACI's are sliding windows
 * ("100 per 5 minutes and 300 per hour"). A token bucket cannot enforce a sliding window (a full
 * bucket plus its refill lets 2×N through in one window), so windows are enforced as windows.
 * A window counts a call from the moment it is granted until it *finishes* and for one window
 * after that: the server saw the request at some instant between the two, so the server's count in
 * any window is never above ours, whatever the network delay.
 *
 * A 429 pauses every gate of the call's class for its Retry-After (`pause`).
 */
import type { Clock } from '../api/clock';
import { systemClock } from '../api/clock';

export interface BucketLimit {
  capacity: number;
  refillPerSecond: number;
}

export interface WindowLimit {
  limit: number;
  windowMs: number;
}

export interface RateLimits {
  /** ARM reads per subscription (null: unlimited). */
  reads?: BucketLimit | null;
  /** ARM writes (PUT, POST) per subscription. */
  writes?: BucketLimit | null;
  /** ARM deletes per subscription. */
  deletes?: BucketLimit | null;
  /** ACI container-group creates (every PUT counts). */
  aciCreates?: WindowLimit[];
  /** ACI container-group deletes. */
  aciDeletes?: WindowLimit[];
}

export type CallClass = 'read' | 'write' | 'create' | 'delete';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * Defaults from ARM-FACTS: ARM token buckets (reads 250 refilling 25/s, writes 200 refilling 10/s,
 * deletes 200 refilling 10/s; the legacy hourly figures 12,000 / 1,200 / 15,000 are looser over an
 * hour only for writes, see `writesHourly`), ACI 100 creates and 100 deletes per 5 minutes and
 * 300 of each per hour.
 */
export const AZURE_RATE_LIMITS: Required<RateLimits> = {
  reads: { capacity: 250, refillPerSecond: 25 },
  writes: { capacity: 200, refillPerSecond: 10 },
  deletes: { capacity: 200, refillPerSecond: 10 },
  aciCreates: [
    { limit: 100, windowMs: 5 * MINUTE },
    { limit: 300, windowMs: HOUR },
  ],
  aciDeletes: [
    { limit: 100, windowMs: 5 * MINUTE },
    { limit: 300, windowMs: HOUR },
  ],
};

/**
 * Compress time by `factor` (e.g. 60: an hour's budget in a minute): windows shrink, refill rates
 * grow, capacities and limits stay. For benchmarks against an emulator scaled the same way.
 */
export function scaleLimits(limits: RateLimits, factor: number): RateLimits {
  const b = (x: BucketLimit | null | undefined) => (x ? { capacity: x.capacity, refillPerSecond: x.refillPerSecond * factor } : x);
  const w = (xs: WindowLimit[] | undefined) => xs?.map((x) => ({ limit: x.limit, windowMs: x.windowMs / factor }));
  return { reads: b(limits.reads), writes: b(limits.writes), deletes: b(limits.deletes), aciCreates: w(limits.aciCreates), aciDeletes: w(limits.aciDeletes) };
}

/** Sleep that rejects with the signal's reason when aborted. Injectable for tests (fake clock). */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

interface Gate {
  /** ms until a call may pass (0: now; Infinity: only when an in-flight call finishes). */
  waitMs(now: number): number;
  take(now: number): void;
  finish(now: number): void;
  pausedUntil: number;
  describe(): string;
}

class BucketGate implements Gate {
  private tokens: number;
  private last: number;
  pausedUntil = 0;

  constructor(private readonly cfg: BucketLimit, now: number, private readonly label: string) {
    this.tokens = cfg.capacity;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.cfg.capacity, this.tokens + ((now - this.last) / 1000) * this.cfg.refillPerSecond);
      this.last = now;
    }
  }

  waitMs(now: number): number {
    this.refill(now);
    const pause = Math.max(0, this.pausedUntil - now);
    if (this.tokens >= 1) return pause;
    if (this.cfg.refillPerSecond <= 0) return Math.max(pause, HOUR);
    return Math.max(pause, Math.ceil(((1 - this.tokens) / this.cfg.refillPerSecond) * 1000));
  }

  take(now: number): void {
    this.refill(now);
    this.tokens -= 1;
  }

  finish(): void {}

  describe(): string {
    return `${this.label} bucket ${this.cfg.capacity} + ${this.cfg.refillPerSecond}/s`;
  }
}

class WindowGate implements Gate {
  private inFlight = 0;
  /** Finish instants of completed calls still inside the window, oldest first. */
  private finished: number[] = [];
  pausedUntil = 0;

  constructor(private readonly cfg: WindowLimit, private readonly label: string) {}

  private expire(now: number): void {
    while (this.finished.length && this.finished[0] <= now - this.cfg.windowMs) this.finished.shift();
  }

  waitMs(now: number): number {
    this.expire(now);
    const pause = Math.max(0, this.pausedUntil - now);
    if (this.inFlight + this.finished.length < this.cfg.limit) return pause;
    if (this.finished.length === 0) return Infinity;
    return Math.max(pause, this.finished[0] + this.cfg.windowMs - now + 1);
  }

  take(): void {
    this.inFlight += 1;
  }

  finish(now: number): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.finished.push(now);
  }

  describe(): string {
    return `${this.label} ${this.cfg.limit} per ${this.cfg.windowMs} ms`;
  }
}

export interface RateLimiterOptions {
  clock?: Clock;
  sleep?: Sleep;
  /** Longest single sleep while waiting (re-checks after it). */
  maxSleepMs?: number;
}

/** A granted call: call `done()` when it has finished (success or failure). */
export interface Permit {
  done(): void;
  /** How long the call waited for the budget. */
  waitedMs: number;
}

export class RateLimiter {
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private readonly maxSleepMs: number;
  private readonly gates: Record<CallClass, Gate[]>;
  private readonly tails = new Map<CallClass, Promise<void>>();
  private wakeups: (() => void)[] = [];

  constructor(limits: RateLimits = AZURE_RATE_LIMITS, opts: RateLimiterOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.sleep = opts.sleep ?? realSleep;
    this.maxSleepMs = opts.maxSleepMs ?? 5_000;
    const now = this.clock.now();
    const l = { ...AZURE_RATE_LIMITS, ...limits };
    const reads = l.reads ? [new BucketGate(l.reads, now, 'reads')] : [];
    const writes = l.writes ? [new BucketGate(l.writes, now, 'writes')] : [];
    const deletes = l.deletes ? [new BucketGate(l.deletes, now, 'deletes')] : [];
    const creates = (l.aciCreates ?? []).map((w) => new WindowGate(w, 'ACI creates'));
    const aciDeletes = (l.aciDeletes ?? []).map((w) => new WindowGate(w, 'ACI deletes'));
    this.gates = { read: reads, write: writes, create: [...writes, ...creates], delete: [...deletes, ...aciDeletes] };
  }

  /** Wait for room for one call of `cls` (FIFO per class). Rejects when `signal` aborts. */
  async acquire(cls: CallClass, signal?: AbortSignal): Promise<Permit> {
    const started = this.clock.now();
    const prev = this.tails.get(cls) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(cls, tail);
    try {
      await this.abortable(prev, signal);
      const gates = this.gates[cls];
      for (;;) {
        if (signal?.aborted) throw signal.reason ?? new Error('aborted');
        const now = this.clock.now();
        const wait = Math.max(0, ...gates.map((g) => g.waitMs(now)));
        if (wait === 0) {
          for (const g of gates) g.take(now);
          break;
        }
        await this.waitFor(Number.isFinite(wait) ? Math.min(wait, this.maxSleepMs) : this.maxSleepMs, signal);
      }
    } finally {
      release();
      if (this.tails.get(cls) === tail) this.tails.delete(cls);
    }
    let finished = false;
    return {
      waitedMs: this.clock.now() - started,
      done: () => {
        if (finished) return;
        finished = true;
        const now = this.clock.now();
        for (const g of this.gates[cls]) g.finish(now);
        this.wake();
      },
    };
  }

  /** Stop granting calls of `cls` (every gate it uses) for `ms` — ARM said 429 with Retry-After. */
  pause(cls: CallClass, ms: number): void {
    const until = this.clock.now() + ms;
    for (const g of this.gates[cls]) g.pausedUntil = Math.max(g.pausedUntil, until);
  }

  /** The configured gates, for logs and benchmark output. */
  describe(): Record<CallClass, string[]> {
    return {
      read: this.gates.read.map((g) => g.describe()),
      write: this.gates.write.map((g) => g.describe()),
      create: this.gates.create.map((g) => g.describe()),
      delete: this.gates.delete.map((g) => g.describe()),
    };
  }

  private wake(): void {
    const w = this.wakeups;
    this.wakeups = [];
    for (const f of w) f();
  }

  /** Sleep `ms`, or less if a call finishes (a window gate may have room then). */
  private async waitFor(ms: number, signal?: AbortSignal): Promise<void> {
    const inner = new AbortController();
    const onAbort = () => inner.abort(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let woke!: () => void;
    const wakeup = new Promise<void>((r) => (woke = r));
    this.wakeups.push(woke);
    try {
      await Promise.race([this.sleep(ms, inner.signal), wakeup]);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.wakeups = this.wakeups.filter((f) => f !== woke);
      if (!inner.signal.aborted) inner.abort(new Error('woken'));
    }
    if (signal?.aborted) throw signal.reason ?? new Error('aborted');
  }

  private abortable(p: Promise<void>, signal?: AbortSignal): Promise<void> {
    if (!signal) return p;
    if (signal.aborted) return Promise.reject(signal.reason ?? new Error('aborted'));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason ?? new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      p.then(
        () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      );
    });
  }
}

export interface RetryPolicy {
  /** Retries after the first attempt for Transient / Throttled errors. */
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 3, baseDelayMs: 500, maxDelayMs: 15_000 };

/** Exponential backoff with full jitter: uniform in [base·2^(n-1)/2, base·2^(n-1)], capped. */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
