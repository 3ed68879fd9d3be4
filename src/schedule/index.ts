/**
 * Schedules (DESIGN §2): cron expression + IANA time zone + optional start/end → slots.
 *
 * Pure: no I/O and no wall clock — every instant is an argument (epoch milliseconds). croner parses
 * and matches wall-clock times; `slots.ts` applies the classic cron DST rules on top.
 */
import { ParsedExpression, ScheduleError, parseExpression } from './expression';
import { Slots } from './slots';
import { checkTimeZone, formatInZone, zoneFor } from './zone';

export { ScheduleError } from './expression';

export interface ScheduleOptions {
  /** IANA time zone name, e.g. UTC, Europe/Berlin. */
  timeZone: string;
  /** No slot before this instant (inclusive bound), epoch ms. */
  startTime?: number | null;
  /** No slot after this instant (inclusive bound), epoch ms. */
  endTime?: number | null;
}

export interface Schedule {
  readonly expression: string;
  readonly timeZone: string;
  /** First slot strictly after `afterMs` (and >= startTime, <= endTime), or null. */
  next(afterMs: number): number | null;
  /** Latest slot <= `atMs` (and >= startTime), or null. */
  latest(atMs: number): number | null;
  /** Slots in (fromExclusive, toInclusive], oldest first, at most `limit` (from the oldest end). */
  between(fromExclusive: number, toInclusive: number, limit: number): number[];
  /** Data interval of a slot: [previous slot, slot) — Airflow semantics: a @daily run at D+1 00:00
   *  covers day D. For the first slot (no previous), start = slot - (next(slot) - slot). */
  dataInterval(slot: number): { start: number; end: number };
}

/** Compiled (expression, zone) pairs; bounded so a long-running controller does not grow forever. */
const CACHE_LIMIT = 20_000;
const cache = new Map<string, Slots>();

function slotsFor(expression: string, timeZone: string): Slots {
  const key = `${timeZone}\u0000${expression}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const parsed: ParsedExpression = parseExpression(expression);
  const slots = new Slots(parsed, zoneFor(timeZone));
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(key, slots);
  return slots;
}

function checkInstant(name: string, v: number | null | undefined): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ScheduleError(`${name} must be epoch milliseconds, got ${String(v)}`);
  return v;
}

class BoundedSchedule implements Schedule {
  private readonly start: number | null;
  private readonly end: number | null;

  constructor(
    readonly expression: string,
    readonly timeZone: string,
    private readonly slots: Slots,
    opts: ScheduleOptions,
  ) {
    this.start = checkInstant('startTime', opts.startTime);
    this.end = checkInstant('endTime', opts.endTime);
  }

  next(afterMs: number): number | null {
    const t = this.start !== null && this.start > afterMs ? this.slots.next(this.start, true) : this.slots.next(afterMs, false);
    return t !== null && (this.end === null || t <= this.end) ? t : null;
  }

  latest(atMs: number): number | null {
    const t = this.slots.latest(this.end !== null && this.end < atMs ? this.end : atMs);
    return t !== null && (this.start === null || t >= this.start) ? t : null;
  }

  between(fromExclusive: number, toInclusive: number, limit: number): number[] {
    const out: number[] = [];
    let t = fromExclusive;
    while (out.length < limit) {
      const n = this.next(t);
      if (n === null || n > toInclusive) break;
      out.push(n);
      t = n;
    }
    return out;
  }

  dataInterval(slot: number): { start: number; end: number } {
    const prev = this.latest(slot - 1);
    if (prev !== null) return { start: prev, end: slot };
    const next = this.next(slot) ?? this.slots.next(slot, false);
    return { start: next === null ? slot : slot - (next - slot), end: slot };
  }
}

/** Compiles a schedule; throws ScheduleError on a bad expression, zone or bound. Cached per
 *  (expression, zone): compiling the same pair again is a map lookup. */
export function compileSchedule(expression: string, opts: ScheduleOptions): Schedule {
  return new BoundedSchedule(expression, opts.timeZone, slotsFor(expression, opts.timeZone), opts);
}

/** The error message for a bad expression or time zone, or null when both are fine (for validators). */
export function checkSchedule(expression: string, timeZone: string): string | null {
  try {
    checkTimeZone(timeZone);
    slotsFor(expression, timeZone);
    return null;
  } catch (err) {
    if (err instanceof ScheduleError) return err.message;
    throw err;
  }
}

/** The first `count` slots strictly after `fromMs`. */
export function nextSlots(expression: string, opts: ScheduleOptions, fromMs: number, count: number): number[] {
  return compileSchedule(expression, opts).between(fromMs, Number.POSITIVE_INFINITY, count);
}

/** ISO 8601 with the zone's offset, e.g. 2026-03-29T03:00:00+02:00. Throws ScheduleError on a bad zone. */
export function formatSlot(ms: number, timeZone: string): string {
  return formatInZone(ms, zoneFor(timeZone));
}
export { backfillSlots, MAX_BACKFILL_SLOTS } from './backfill';
