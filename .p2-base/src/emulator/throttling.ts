/**
 * ARM throttling model: token buckets per subscription for reads, writes and deletes (the newer ARM
 * model), plus ACI's own sliding-window limits on container-group creates (PUT) and deletes per hour
 * and per 5 minutes. Time comes from an injected clock so tests can move it by hand.
 */

export interface BucketConfig {
  capacity: number;
  refillPerSecond: number;
}

export interface WindowLimit {
  perHour: number;
  per5Minutes: number;
}

export interface ThrottlingConfig {
  reads?: BucketConfig;
  writes?: BucketConfig;
  deletes?: BucketConfig;
  /** ACI limit on container-group PUTs (create or update). */
  creates?: WindowLimit;
  /** ACI limit on container-group DELETEs. */
  aciDeletes?: WindowLimit;
}

/** Documented Azure values (ARM-FACTS): ARM buckets 250/25 s⁻¹ reads, 200/10 s⁻¹ writes and deletes; ACI 300/h and 100/5 min. */
export const AZURE_THROTTLING: Required<ThrottlingConfig> = {
  reads: { capacity: 250, refillPerSecond: 25 },
  writes: { capacity: 200, refillPerSecond: 10 },
  deletes: { capacity: 200, refillPerSecond: 10 },
  creates: { perHour: 300, per5Minutes: 100 },
  aciDeletes: { perHour: 300, per5Minutes: 100 },
};

class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly cfg: BucketConfig, now: number) {
    this.tokens = cfg.capacity;
    this.last = now;
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.tokens = Math.min(this.cfg.capacity, this.tokens + elapsed * this.cfg.refillPerSecond);
    this.last = now;
  }

  /** Milliseconds until one token is available (0 when one is available now). */
  wait(now: number): number {
    this.refill(now);
    if (this.tokens >= 1) return 0;
    if (this.cfg.refillPerSecond <= 0) return 3_600_000;
    return Math.ceil(((1 - this.tokens) / this.cfg.refillPerSecond) * 1000);
  }

  take(): number {
    this.tokens -= 1;
    return Math.floor(this.tokens);
  }
}

const HOUR = 3_600_000;
const FIVE_MIN = 300_000;

class SlidingWindow {
  private readonly stamps: number[] = [];

  constructor(private readonly limit: WindowLimit) {}

  private prune(now: number): void {
    while (this.stamps.length && this.stamps[0] <= now - HOUR) this.stamps.shift();
  }

  private countSince(since: number): number {
    let n = 0;
    for (let i = this.stamps.length - 1; i >= 0 && this.stamps[i] > since; i--) n++;
    return n;
  }

  /** Milliseconds until one more request fits both windows (0 = fits now). */
  wait(now: number): number {
    this.prune(now);
    let wait = 0;
    const inFive = this.countSince(now - FIVE_MIN);
    if (inFive >= this.limit.per5Minutes) {
      const oldest = this.stamps[this.stamps.length - inFive + (inFive - this.limit.per5Minutes)];
      wait = Math.max(wait, oldest + FIVE_MIN - now);
    }
    if (this.stamps.length >= this.limit.perHour) {
      const oldest = this.stamps[this.stamps.length - this.limit.perHour];
      wait = Math.max(wait, oldest + HOUR - now);
    }
    return Math.max(wait, 0);
  }

  record(now: number): { pt1h: number; pt5m: number } {
    this.stamps.push(now);
    return {
      pt1h: Math.max(0, this.limit.perHour - this.stamps.length),
      pt5m: Math.max(0, this.limit.per5Minutes - this.countSince(now - FIVE_MIN)),
    };
  }
}

export type RequestCategory = 'read' | 'write' | 'delete';

export type ThrottleResult =
  | { ok: true; headers: Record<string, string> }
  | { ok: false; retryAfterMs: number; message: string; headers: Record<string, string> };

const BUCKET_HEADER: Record<RequestCategory, string> = {
  read: 'x-ms-ratelimit-remaining-subscription-reads',
  write: 'x-ms-ratelimit-remaining-subscription-writes',
  delete: 'x-ms-ratelimit-remaining-subscription-deletes',
};

/** Values reported when throttling is off (the classic hourly allowances, never depleted). */
const UNLIMITED_REMAINING: Record<RequestCategory, number> = { read: 11999, write: 1199, delete: 14999 };

export class Throttler {
  private readonly buckets: Partial<Record<RequestCategory, TokenBucket>> = {};
  private readonly creates?: SlidingWindow;
  private readonly deletes?: SlidingWindow;

  constructor(private readonly cfg: ThrottlingConfig | undefined, now: number) {
    if (cfg?.reads) this.buckets.read = new TokenBucket(cfg.reads, now);
    if (cfg?.writes) this.buckets.write = new TokenBucket(cfg.writes, now);
    if (cfg?.deletes) this.buckets.delete = new TokenBucket(cfg.deletes, now);
    if (cfg?.creates) this.creates = new SlidingWindow(cfg.creates);
    if (cfg?.aciDeletes) this.deletes = new SlidingWindow(cfg.aciDeletes);
  }

  /** Admits (and accounts for) one request, or says how long to wait. `aci` marks ACI's create/delete limits. */
  admit(category: RequestCategory, aci: 'create' | 'delete' | undefined, now: number): ThrottleResult {
    const headers: Record<string, string> = {};
    const bucket = this.buckets[category];
    const window = aci === 'create' ? this.creates : aci === 'delete' ? this.deletes : undefined;
    const bucketWait = bucket ? bucket.wait(now) : 0;
    const windowWait = window ? window.wait(now) : 0;
    if (bucketWait > 0 || windowWait > 0) {
      const which = windowWait > 0
        ? `container group ${aci === 'create' ? 'create/update' : 'delete'} requests`
        : `${category} requests`;
      return {
        ok: false,
        retryAfterMs: Math.max(bucketWait, windowWait),
        headers: { [BUCKET_HEADER[category]]: '0' },
        message: `Number of ${which} for subscription exceeded the limit. Please try again after ${Math.ceil(Math.max(bucketWait, windowWait) / 1000)} seconds.`,
      };
    }
    headers[BUCKET_HEADER[category]] = String(bucket ? bucket.take() : UNLIMITED_REMAINING[category]);
    if (window) {
      const rem = window.record(now);
      headers['x-ms-ratelimit-remaining-subscription-resource-requests-pt1h'] = String(rem.pt1h);
      headers['x-ms-ratelimit-remaining-subscription-resource-requests-pt5m'] = String(rem.pt5m);
    } else if (aci && !this.cfg) {
      headers['x-ms-ratelimit-remaining-subscription-resource-requests-pt1h'] = '299';
      headers['x-ms-ratelimit-remaining-subscription-resource-requests-pt5m'] = '99';
    }
    return { ok: true, headers };
  }
}
