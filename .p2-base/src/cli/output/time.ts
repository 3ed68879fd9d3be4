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
