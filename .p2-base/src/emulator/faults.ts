/**
 * Fault injection: `--faults "429=0.2,500=0.05,503=0.05,reset=0.02,lost=0.01,latency=0-200ms,seed=42"`.
 * Each entry is `[operation:]kind=value`; an entry with an operation prefix (e.g. `put:429=0.5`)
 * overrides the global rate of that kind for that operation only. Rates are fractions (0.2) or
 * percentages (20%). Kinds:
 *  - `429` (with Retry-After), `500`, `503` (with Retry-After): answered before the request is processed;
 *  - `reset`: the connection is destroyed before the request is processed;
 *  - `lost`: the request IS processed, then the connection is destroyed (the client never sees the answer);
 *  - `latency=MIN-MAXms` (or `Nms`): added delay drawn uniformly;
 *  - `seed=N`: PRNG seed (default 1), so a run is reproducible for a given request order;
 *  - `retryAfterMs=N`: the `retry-after-ms` sent with injected 429/503 (default 100; `Retry-After` is
 *    its value rounded up to whole seconds).
 */

export type FaultKind = '429' | '500' | '503' | 'reset' | 'lost';
export const FAULT_KINDS: readonly FaultKind[] = ['429', '500', '503', 'reset', 'lost'];

interface FaultRates {
  rates: Partial<Record<FaultKind, number>>;
  latency?: [number, number];
}

export interface FaultSpec {
  global: FaultRates;
  perOperation: Record<string, FaultRates>;
  seed: number;
  retryAfterMs: number;
}

export interface FaultDecision {
  kind?: FaultKind;
  latencyMs: number;
}

function parseRate(raw: string, entry: string): number {
  const pct = raw.endsWith('%');
  const n = Number(pct ? raw.slice(0, -1) : raw);
  const rate = pct ? n / 100 : n;
  if (!Number.isFinite(rate) || rate < 0 || rate > 1) throw new Error(`invalid fault rate in "${entry}" (use a fraction 0..1 or a percentage)`);
  return rate;
}

function parseLatency(raw: string, entry: string): [number, number] {
  const m = /^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?(ms|s)?$/.exec(raw.trim());
  if (!m) throw new Error(`invalid latency in "${entry}" (use MIN-MAXms or Nms)`);
  const unit = m[3] === 's' ? 1000 : 1;
  const lo = Number(m[1]) * unit;
  const hi = (m[2] !== undefined ? Number(m[2]) : Number(m[1])) * unit;
  if (hi < lo) throw new Error(`invalid latency in "${entry}": maximum below minimum`);
  return [lo, hi];
}

/** Parses a fault spec; throws an Error with a readable message on a malformed one. */
export function parseFaultSpec(spec: string | undefined): FaultSpec {
  const out: FaultSpec = { global: { rates: {} }, perOperation: {}, seed: 1, retryAfterMs: 100 };
  if (!spec || !spec.trim()) return out;
  for (const rawEntry of spec.split(',')) {
    const entry = rawEntry.trim();
    if (!entry) continue;
    const eq = entry.indexOf('=');
    if (eq < 0) throw new Error(`invalid fault entry "${entry}" (expected KIND=VALUE)`);
    let key = entry.slice(0, eq).trim();
    const value = entry.slice(eq + 1).trim();
    let target = out.global;
    const colon = key.indexOf(':');
    if (colon >= 0) {
      const op = key.slice(0, colon).trim();
      key = key.slice(colon + 1).trim();
      if (!op) throw new Error(`invalid fault entry "${entry}" (empty operation)`);
      target = out.perOperation[op] ??= { rates: {} };
    }
    if ((FAULT_KINDS as readonly string[]).includes(key)) {
      target.rates[key as FaultKind] = parseRate(value, entry);
    } else if (key === 'latency') {
      target.latency = parseLatency(value, entry);
    } else if (key === 'seed' && target === out.global) {
      const n = Number(value);
      if (!Number.isInteger(n)) throw new Error(`invalid seed in "${entry}"`);
      out.seed = n;
    } else if ((key === 'retryAfterMs' || key === 'retry-after-ms') && target === out.global) {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) throw new Error(`invalid retryAfterMs in "${entry}"`);
      out.retryAfterMs = n;
    } else {
      throw new Error(`unknown fault kind "${key}" in "${entry}" (known: ${FAULT_KINDS.join(', ')}, latency, seed, retryAfterMs)`);
    }
  }
  let total = 0;
  for (const k of FAULT_KINDS) total += out.global.rates[k] ?? 0;
  if (total > 1) throw new Error('fault rates add up to more than 1');
  return out;
}

/** mulberry32: a small, fast, seedable PRNG (uniform in [0, 1)). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Decides, deterministically for a given seed and request order, which fault (if any) a request meets. */
export class FaultInjector {
  private readonly random: () => number;

  constructor(readonly spec: FaultSpec) {
    this.random = seededRandom(spec.seed);
  }

  get enabled(): boolean {
    const any = (r: FaultRates) => Boolean(r.latency) || FAULT_KINDS.some((k) => (r.rates[k] ?? 0) > 0);
    return any(this.spec.global) || Object.values(this.spec.perOperation).some(any);
  }

  /** `applyGlobal` false: only operation-specific entries apply (e.g. the identity endpoint). */
  decide(operation: string, applyGlobal = true): FaultDecision {
    const own = this.spec.perOperation[operation];
    const global = applyGlobal ? this.spec.global : { rates: {} };
    if (!own && !applyGlobal) return { latencyMs: 0 };
    const r = this.random();
    let acc = 0;
    let kind: FaultKind | undefined;
    for (const k of FAULT_KINDS) {
      acc += own?.rates[k] ?? global.rates[k] ?? 0;
      if (r < acc) {
        kind = k;
        break;
      }
    }
    const latency = own?.latency ?? global.latency;
    const latencyMs = latency ? latency[0] + (latency[1] - latency[0]) * this.random() : 0;
    return { kind, latencyMs };
  }
}
