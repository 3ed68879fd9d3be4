/**
 * Slots of one cron expression in one time zone, without start/end bounds.
 *
 * croner enumerates matching wall-clock times on a naive clock (offset 0, so no DST of its own);
 * this file turns them into real instants, one piece of constant UTC offset at a time, with the
 * classic cron (Vixie/ISC) DST rules of DESIGN §2:
 *  - a wall-clock time that does not exist (spring forward): a fixed-time job runs once at the
 *    instant of the jump; a wildcard job does not run;
 *  - a wall-clock time that occurs twice (fall back): a fixed-time job runs at the first
 *    occurrence only; a wildcard job runs at both, since they are different real instants.
 * Which jobs are wildcard jobs: see ParsedExpression.wild.
 */
import { Cron, CronDate, CronOptions, CronPattern } from 'croner';
import type { ParsedExpression } from './expression';
import type { Segment, Zone } from './zone';

/** How far the search for a slot goes before it gives up (the rarest schedules, such as Feb 29
 *  on a Sunday, fire every 28 years; Gregorian century rules stretch that to at most 40). */
const HORIZON_MS = 50 * 366 * 86_400_000;
/** Instants the library answers for: years 1 to 9999 (outside, Date and croner give up). */
const MIN_MS = -62_135_596_800_000;
const MAX_MS = 253_402_300_799_999;
const inRange = (t: number): boolean => t >= MIN_MS && t <= MAX_MS; // false for NaN

export class Slots {
  private readonly pattern: CronPattern;
  private readonly options: CronOptions;
  private readonly wild: boolean;

  constructor(readonly expression: ParsedExpression, readonly zone: Zone) {
    // The Cron object normalises the options; its pattern and options then drive CronDate directly,
    // which skips Cron's per-call bookkeeping (startAt/stopAt/maxRuns) and is about twice as fast.
    const cron = new Cron(expression.pattern, { utcOffset: 0, mode: '6-part', domAndDow: false, paused: true });
    this.options = cron.options;
    this.pattern = new CronPattern(expression.pattern, undefined, { mode: '6-part' });
    this.wild = expression.wild;
  }

  /** First matching wall-clock time strictly after `local` (naive milliseconds, offset 0), or null. */
  private localNext(local: number): number | null {
    const d = new CronDate(new Date(local), 0).increment(this.pattern, this.options, false);
    return d ? d.getTime() : null;
  }

  /** Last matching wall-clock time at or before `local`, or null. */
  private localLatest(local: number): number | null {
    const d = new CronDate(new Date(local + 1), 0).decrement(this.pattern, this.options);
    return d ? d.getTime() : null;
  }

  /** Whether a matching wall-clock time lies in [from, to). */
  private matchIn(from: number, to: number): boolean {
    const l = this.localNext(from - 1);
    return l !== null && l < to;
  }

  /** A fixed-time job skips wall-clock times of the repeated span after a fall-back (second pass). */
  private secondPass(seg: Segment, local: number): boolean {
    const t = seg.last;
    return !this.wild && t !== null && t.before > t.after && local < t.at + t.before;
  }

  /** A fixed-time job whose times fall in the gap of a spring-forward at `seg.start` runs at the jump. */
  private gapSlot(seg: Segment): boolean {
    const t = seg.last;
    return !this.wild && t !== null && t.at === seg.start && t.after > t.before && this.matchIn(t.at + t.before, t.at + t.after);
  }

  /**
   * Spans known to hold no slot, from earlier answers: [a, b) with a slot at b and none in (a, b)
   * (from next), or [l, a] with a slot at l and none in (l, a] (from latest). A controller asks the
   * same schedule the same question many times (every reconcile of every job sharing it plans from
   * the same anchor), and croner's date search is the expensive part of planning.
   */
  private readonly nextMemo: { from: number; slot: number }[] = [];
  private readonly latestMemo: { at: number; slot: number }[] = [];

  /** First slot after `from` (or at it, when `inclusive`), or null. */
  next(from: number, inclusive: boolean): number | null {
    for (const m of this.nextMemo) {
      // no slot in (m.from, m.slot), one at m.slot
      if (inclusive ? from > m.from && from <= m.slot : from >= m.from && from < m.slot) return m.slot;
    }
    const t = this.search(from, inclusive);
    if (t !== null && !inclusive) remember(this.nextMemo, { from, slot: t });
    return t;
  }

  private search(from: number, inclusive: boolean): number | null {
    if (!inRange(from)) return null;
    const limit = from + HORIZON_MS;
    let lo = from;
    let incl = inclusive;
    while (lo <= limit && lo <= MAX_MS) {
      const seg = this.zone.segmentAt(lo);
      if (incl && lo === seg.start && this.gapSlot(seg)) return lo;
      const o = seg.offset;
      let local = this.localNext(incl ? lo + o - 1 : lo + o);
      if (local !== null && this.secondPass(seg, local)) local = this.localNext(seg.last!.at + seg.last!.before - 1);
      if (local === null) return null;
      if (local - o < seg.end) return local - o;
      lo = seg.end;
      incl = true;
    }
    return null;
  }

  /** Last slot at or before `at`, or null. */
  latest(at: number): number | null {
    for (const m of this.latestMemo) if (at >= m.slot && at <= m.at) return m.slot; // one at m.slot, none in (m.slot, m.at]
    const t = this.searchLatest(at);
    if (t !== null) remember(this.latestMemo, { at, slot: t });
    return t;
  }

  private searchLatest(at: number): number | null {
    if (at > MAX_MS) at = MAX_MS;
    if (!inRange(at)) return null;
    const limit = at - HORIZON_MS;
    let hi = at;
    while (hi >= limit && hi >= MIN_MS) {
      const seg = this.zone.segmentAt(hi);
      const o = seg.offset;
      const local = this.localLatest(hi + o);
      if (local !== null && local - o >= seg.start && !this.secondPass(seg, local)) return local - o;
      // Everything left in this piece is a suppressed second pass, or there is nothing in it.
      if (this.gapSlot(seg)) return seg.start;
      if (local === null) return null;
      hi = seg.start - 1;
    }
    return null;
  }
}

/** Keep the few most recent spans (callers ask around a handful of instants: anchors, now). */
function remember<T>(memo: T[], entry: T): void {
  memo.unshift(entry);
  if (memo.length > 4) memo.pop();
}
