/** A cron schedule in words ("At 00:00, every day (UTC)"), by cronstrue; memoised per expression. */
import cronstrue from 'cronstrue';
import { MACROS } from '../schedule/expression';

const cache = new Map<string, string>();

export function scheduleInWords(schedule: string | undefined, timeZone: string | undefined): string {
  if (!schedule) return 'manual runs only';
  const key = `${schedule}\u0000${timeZone ?? 'UTC'}`;
  let words = cache.get(key);
  if (words === undefined) {
    const trimmed = schedule.trim();
    const cron = MACROS[trimmed.toLowerCase()] ?? trimmed;
    try {
      words = cronstrue.toString(cron, { use24HourTimeFormat: true, verbose: true });
    } catch {
      words = 'not a valid schedule';
    }
    words = `${words} (${timeZone ?? 'UTC'})`;
    if (cache.size > 10_000) cache.clear();
    cache.set(key, words);
  }
  return words;
}
