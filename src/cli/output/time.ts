/** Human time formatting for tables (kubectl's style: "45s", "5m30s", "95m", "5h30m", "3d4h", "400d"). */

export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

/** Age of an instant relative to now ("5m"), or "<none>". */
export function age(at: number | undefined, now: number): string {
  return at === undefined ? '<none>' : humanDuration(now - at);
}

/** Time until an instant ("in 5m"; "now" when due or past), or "<none>". */
export function until(at: number | undefined, now: number): string {
  if (at === undefined) return '<none>';
  return at <= now ? 'now' : `in ${humanDuration(at - now)}`;
}

/** An ISO instant without milliseconds. */
export function isoSeconds(ms: number | undefined): string {
  return ms === undefined ? '<none>' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A duration for prose (describe): the two largest units, "2h15m", "45s", "3d4h", "1y20d". */
export function readableDuration(ms: number): string {
  let s = Math.floor(Math.abs(ms) / 1000);
  const units: [string, number][] = [['y', 365 * 86400], ['d', 86400], ['h', 3600], ['m', 60], ['s', 1]];
  const first = units.findIndex(([, size]) => s >= size);
  if (first < 0) return '0s';
  const parts: string[] = [];
  for (const [u, size] of units.slice(first, first + 2)) {
    const n = Math.floor(s / size);
    if (n > 0) parts.push(`${n}${u}`);
    s -= n * size;
  }
  return parts.join('');
}

/**
 * One readable form for an instant in `describe`: "2026-12-03 00:00 UTC (in 2h15m)" or
 * "2026-12-03 00:00:30 UTC (5m ago)"; seconds only when not zero, never milliseconds.
 */
export function readableTime(at: number | string | undefined | null, now: number): string | undefined {
  const ms = typeof at === 'string' ? Date.parse(at) : at ?? undefined;
  if (ms === undefined || Number.isNaN(ms)) return undefined;
  const iso = new Date(ms).toISOString();
  const clock = iso.slice(17, 19) === '00' ? iso.slice(11, 16) : iso.slice(11, 19);
  const diff = ms - now;
  const rel = Math.abs(diff) < 1000 ? 'now' : diff > 0 ? `in ${readableDuration(diff)}` : `${readableDuration(diff)} ago`;
  return `${iso.slice(0, 10)} ${clock} UTC (${rel})`;
}
