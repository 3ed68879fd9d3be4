/**
 * IANA time zones as pieces of constant UTC offset. Offsets come from Intl (the tz database that
 * ships with Node); transitions are found once per zone and UTC year and cached, so the hot path
 * (offset of an instant, the piece around it) is a few comparisons instead of an Intl call.
 */
import { ScheduleError } from './expression';

const SECOND = 1000;
const HOUR = 3_600_000;
/** Probe spacing when looking for transitions; no two transitions of the tz database are closer. */
const PROBE = 12 * HOUR;

/** A change of UTC offset: at instant `at` the offset goes from `before` to `after` (milliseconds). */
export interface Transition {
  at: number;
  before: number;
  after: number;
}

/** A span of real time [start, end) with one UTC offset. */
export interface Segment {
  start: number;
  end: number;
  offset: number;
  /** The latest transition at or before `start` (in this or the previous year), or null. */
  last: Transition | null;
}

interface Chunk {
  start: number;
  end: number;
  startOffset: number;
  /** Transitions with start <= at < end, oldest first. */
  transitions: Transition[];
  /** The last transition before `start` (from the previous year), filled in on first use. */
  previous?: Transition | null;
}

const OFFSET_TEXT = /GMT(?:([+-])(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?)?$/;

/** Throws ScheduleError unless `timeZone` is an IANA zone name Node knows. */
export function checkTimeZone(timeZone: string): void {
  if (typeof timeZone !== 'string' || timeZone.trim() === '') throw new ScheduleError('time zone must be an IANA name such as UTC or Europe/Berlin');
  if (/^[+-]\d/.test(timeZone) || /^\d/.test(timeZone)) {
    throw new ScheduleError(`time zone "${timeZone}" is an offset, not an IANA name such as UTC or Europe/Berlin (offsets do not follow daylight saving time)`);
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new ScheduleError(`unknown time zone "${timeZone}"; use an IANA name such as UTC, Europe/Berlin or America/New_York`);
  }
}

export class Zone {
  private readonly format: Intl.DateTimeFormat;
  private readonly chunks = new Map<number, Chunk>();
  private recent: Chunk | null = null;

  constructor(readonly name: string) {
    checkTimeZone(name);
    this.format = new Intl.DateTimeFormat('en-US', { timeZone: name, timeZoneName: 'longOffset' });
  }

  /** UTC offset (local minus UTC, milliseconds) at an instant, straight from Intl. */
  rawOffset(ms: number): number {
    const m = OFFSET_TEXT.exec(this.format.format(ms));
    if (!m || m[1] === undefined) return 0;
    const abs = Number(m[2]) * HOUR + Number(m[3] ?? 0) * 60_000 + Number(m[4] ?? 0) * SECOND;
    return m[1] === '-' ? -abs : abs;
  }

  /** UTC offset at an instant (cached). */
  offsetAt(ms: number): number {
    const c = this.chunkAt(ms);
    let off = c.startOffset;
    for (const t of c.transitions) {
      if (t.at > ms) break;
      off = t.after;
    }
    return off;
  }

  /** The piece of constant offset that contains `ms`; pieces are also cut at UTC year boundaries. */
  segmentAt(ms: number): Segment {
    const c = this.chunkAt(ms);
    const ts = c.transitions;
    let i = -1;
    while (i + 1 < ts.length && ts[i + 1].at <= ms) i++;
    const end = i + 1 < ts.length ? ts[i + 1].at : c.end;
    if (i >= 0) return { start: ts[i].at, end, offset: ts[i].after, last: ts[i] };
    if (c.previous === undefined) {
      const prev = this.chunkAt(c.start - 1).transitions;
      c.previous = prev.length ? prev[prev.length - 1] : null;
      this.recent = c;
    }
    return { start: c.start, end, offset: c.startOffset, last: c.previous };
  }

  private chunkAt(ms: number): Chunk {
    const r = this.recent;
    if (r && ms >= r.start && ms < r.end) return r;
    const year = new Date(ms).getUTCFullYear();
    let c = this.chunks.get(year);
    if (!c) {
      c = this.buildChunk(year);
      this.chunks.set(year, c);
    }
    this.recent = c;
    return c;
  }

  private buildChunk(year: number): Chunk {
    const start = Date.UTC(year, 0, 1);
    const end = Date.UTC(year + 1, 0, 1);
    const transitions: Transition[] = [];
    let a = start - SECOND;
    let offA = this.rawOffset(a);
    const startOffset = this.rawOffset(start);
    for (let b = start; ; ) {
      const offB = b === start ? startOffset : this.rawOffset(b);
      if (offB !== offA) {
        const at = this.findTransition(a, b, offA);
        if (at < end) transitions.push({ at, before: offA, after: this.rawOffset(at) });
      }
      if (b >= end) break;
      a = b;
      offA = offB;
      b = Math.min(b + PROBE, end);
    }
    return { start, end, startOffset, transitions };
  }

  /** Smallest whole second in (a, b] whose offset differs from `offA` (the offset at a). */
  private findTransition(a: number, b: number, offA: number): number {
    let lo = a;
    let hi = b;
    while (hi - lo > SECOND) {
      const mid = lo + Math.floor((hi - lo) / (2 * SECOND)) * SECOND;
      if (this.rawOffset(mid) === offA) lo = mid;
      else hi = mid;
    }
    return hi;
  }
}

const zones = new Map<string, Zone>();

/** The shared Zone object for a name (zones are immutable apart from their caches). */
export function zoneFor(name: string): Zone {
  let z = zones.get(name);
  if (!z) {
    z = new Zone(name);
    zones.set(name, z);
  }
  return z;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** ISO 8601 with the zone's offset, e.g. 2026-03-29T03:00:00+02:00 (milliseconds only when non-zero). */
export function formatInZone(ms: number, zone: Zone): string {
  const off = zone.offsetAt(ms);
  const d = new Date(ms + off);
  const frac = d.getUTCMilliseconds() ? `.${pad(d.getUTCMilliseconds(), 3)}` : '';
  const abs = Math.abs(off);
  const oh = Math.floor(abs / HOUR);
  const om = Math.floor((abs % HOUR) / 60_000);
  const os = Math.floor((abs % 60_000) / SECOND);
  const offText = `${off < 0 ? '-' : '+'}${pad(oh)}:${pad(om)}${os ? `:${pad(os)}` : ''}`;
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${frac}${offText}`;
}
