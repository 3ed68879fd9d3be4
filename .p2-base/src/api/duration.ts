/**
 * Durations of the manifest API: "500ms", "30s", "1m", "1h30m", "2h", "1d", "1.5h".
 *
 * A duration is one or more `<number><unit>` parts, units in descending order and each at most once
 * (`1h30m` yes, `30m1h` no — that is almost always a typo). Units: d (24 h), h, m, s, ms. The bare
 * string "0" is accepted as zero. Whitespace, signs and exponents are not.
 */

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const UNIT_ORDER = ['d', 'h', 'm', 's', 'ms'];
const PART = /(\d+(?:\.\d+)?)(ms|d|h|m|s)/y;

/** Largest accepted duration: 10 years, far beyond any sensible timeout or delay. */
export const MAX_DURATION_MS = 10 * 365 * 86_400_000;

export class DurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DurationError';
  }
}

/** Parses a duration into milliseconds (rounded to a whole millisecond). Throws DurationError. */
export function parseDuration(text: string): number {
  if (typeof text !== 'string') throw new DurationError(`a duration must be a string like "30s", "1m" or "1h30m"`);
  if (text === '0') return 0;
  if (text.length === 0) throw new DurationError('empty duration; use e.g. "30s", "1m" or "1h30m"');
  let pos = 0;
  let total = 0;
  let lastUnit = -1;
  while (pos < text.length) {
    PART.lastIndex = pos;
    const m = PART.exec(text);
    if (!m) {
      throw new DurationError(`invalid duration "${text}": expected <number><unit> parts with units d, h, m, s, ms (e.g. "1h30m")`);
    }
    const unitIndex = UNIT_ORDER.indexOf(m[2]);
    if (unitIndex <= lastUnit) {
      throw new DurationError(`invalid duration "${text}": units must appear once each, largest first (d, h, m, s, ms)`);
    }
    lastUnit = unitIndex;
    total += Number(m[1]) * UNIT_MS[m[2]];
    pos = PART.lastIndex;
  }
  const ms = Math.round(total);
  if (!Number.isFinite(ms) || ms > MAX_DURATION_MS) throw new DurationError(`duration "${text}" is too long (at most 10 years)`);
  return ms;
}

/** True when `parseDuration(text)` would succeed. */
export function isDuration(text: unknown): boolean {
  if (typeof text !== 'string') return false;
  try {
    parseDuration(text);
    return true;
  } catch {
    return false;
  }
}

/** Formats milliseconds as the shortest canonical duration: 0 → "0s", 5400000 → "1h30m", 1500 → "1s500ms". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new DurationError(`cannot format ${ms} as a duration`);
  let rest = Math.round(Math.abs(ms));
  if (rest === 0) return '0s';
  let out = ms < 0 ? '-' : '';
  for (const unit of UNIT_ORDER) {
    const size = UNIT_MS[unit];
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
