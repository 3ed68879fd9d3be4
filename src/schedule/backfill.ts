/**
 * Backfill ranges: which slots of a schedule `acictl backfill JOB --from T1 --to T2` covers. Pure.
 *
 * The range is inclusive at both ends and clipped at `now` (a backfill never runs a slot that is
 * not due yet: the schedule does that), and bounded so one request cannot queue an unbounded
 * amount of work.
 */
import { ScheduleError } from './expression';

/** Most slots one backfill may cover. */
export const MAX_BACKFILL_SLOTS = 1000;

export interface SlotSource {
  between(fromExclusive: number, toInclusive: number, limit: number): number[];
}

/** The slots in [from, min(to, now)], oldest first; throws ScheduleError on a bad or too large range. */
export function backfillSlots(schedule: SlotSource, from: number, to: number, now: number, limit = MAX_BACKFILL_SLOTS): number[] {
  if (!Number.isFinite(from) || !Number.isFinite(to)) throw new ScheduleError('--from and --to must be instants');
  if (to < from) throw new ScheduleError('--to is before --from');
  const end = Math.min(to, now);
  if (end < from) return [];
  const slots = schedule.between(from - 1, end, limit + 1);
  if (slots.length > limit) throw new ScheduleError(`the range holds more than ${limit} slots; split it`);
  return slots;
}
