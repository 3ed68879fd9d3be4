/** Time is injected everywhere: the pure core takes `now` as an argument, the shell a Clock. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Node timers overflow past 2^31-1 ms (24.8 days); every wait is capped and re-checked. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** The cap the controller uses for long waits (a job due in a year wakes daily and re-plans). */
export const WAIT_CAP_MS = 24 * 60 * 60 * 1000;
