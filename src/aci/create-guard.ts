/**
 * Create guard: exactly once without trusting `If-None-Match`.
 *
 * Microsoft's ContainerGroups_CreateOrUpdate declares no `If-None-Match` parameter, so whether ARM
 * honours it (412 on an existing group), ignores it (the PUT updates the group and restarts its
 * containers: a slot runs twice) or rejects it (400) is an assumption. This guard keeps a create
 * safe under all three:
 *
 * - Before RE-SENDING a create whose earlier PUT may have gone through (a lost response, a reset
 *   after the request was sent, a timeout, a 5xx), it GETs the deterministic name. A group that
 *   carries this create's ownership, job, run and attempt tags is the earlier PUT: it is adopted,
 *   never PUT again. Any other group there answers Conflict (the caller decides, as for a 412).
 *   Only a 429 is re-sent without a look: ARM refuses a throttled request before it processes it.
 * - `If-None-Match: *` is still sent as a second guard while the service has not shown that it
 *   refuses it. A 400 naming the header switches it off for the rest of the process (and the
 *   create is retried at once without it, after the same GET).
 * - A create answered 200 (an update) instead of 201 shows the header was ignored and a group was
 *   already there; from then on every create is preceded by a GET (`verifyFirst`), as it is when the
 *   caller says the name may already be taken (`mayExist`: a Reuse group).
 */
import { TAG_ATTEMPT, TAG_JOB, TAG_MANAGED_BY, TAG_RUN } from '../api/names';
import type { ObservedGroup } from '../api/observed';
import { AciError } from './types';

/** What the guard learned about the service's handling of the header (per process). */
export interface PreconditionKnowledge {
  /** The service refused the header (400): creates go without it. */
  headerRefused: boolean;
  /** A create was answered as an update: the header is not honoured, so look before every create. */
  headerIgnored: boolean;
}

export interface GuardedCreateDeps {
  /** One PUT, no retries. Resolves with the HTTP status and the group. */
  put(withHeader: boolean): Promise<{ status: number; group: ObservedGroup }>;
  /** One GET by the deterministic name (with its own retries); null when absent. */
  get(): Promise<ObservedGroup | null>;
  /** Waits before the next PUT (backoff); `n` is the 1-based retry number. */
  backoff(n: number, e: AciError): Promise<void>;
  maxRetries: number;
  knowledge: PreconditionKnowledge;
  onEvent?(what: 'adopted' | 'taken' | 'header-refused' | 'header-ignored', detail: Record<string, unknown>): void;
}

const HOLD_TAGS = [TAG_MANAGED_BY, TAG_JOB, TAG_RUN] as const;

/** Whether a group's tags say it is the group this create would make (same owner, job, run and attempt). */
export function holdsCreate(desiredTags: Record<string, string>, observed: Record<string, string>): boolean {
  for (const k of HOLD_TAGS) if (desiredTags[k] === undefined || observed[k] !== desiredTags[k]) return false;
  return (observed[TAG_ATTEMPT] ?? '1') === (desiredTags[TAG_ATTEMPT] ?? '1');
}

/** A 400 that refuses the If-None-Match header itself (not the body). */
export function refusesHeader(e: unknown): boolean {
  if (!(e instanceof AciError) || e.kind !== 'Invalid') return false;
  return /if-none-match/i.test(e.message) || /^(InvalidHeaderValue|UnsupportedHeader|PreconditionNotSupported|InvalidRequestHeaders?)$/i.test(e.code ?? '');
}

/** Whether a failed PUT may nevertheless have been processed by the service. */
export function mayHaveLanded(e: unknown): boolean {
  if (!(e instanceof AciError)) return true;
  if (e.kind === 'Throttled') return false;
  return e.retryable;
}

/**
 * One create (`If-None-Match` intent) with the guard. Returns the group (PUT answer or adopted);
 * throws Conflict when another group holds the name, or the last error.
 */
export async function guardedCreate(desiredTags: Record<string, string>, d: GuardedCreateDeps, opts: { mayExist?: boolean } = {}): Promise<ObservedGroup> {
  const k = d.knowledge;
  let look = Boolean(opts.mayExist) || k.headerIgnored;
  for (let n = 0; ; n++) {
    if (look) {
      const g = await d.get();
      if (g) {
        if (holdsCreate(desiredTags, g.tags)) {
          d.onEvent?.('adopted', { group: g.name, retry: n });
          return g;
        }
        d.onEvent?.('taken', { group: g.name });
        throw new AciError('Conflict', `container group '${g.name}' already exists`, 'AlreadyExists', undefined, 409);
      }
    }
    let landed = false;
    try {
      const withHeader = !k.headerRefused;
      const r = await d.put(withHeader);
      if (r.status === 200 && !k.headerIgnored) {
        // An update, though we asked for a create: a group was there and the header did not stop us.
        k.headerIgnored = true;
        d.onEvent?.('header-ignored', { group: r.group.name, withHeader });
      }
      return r.group;
    } catch (e) {
      if (!k.headerRefused && refusesHeader(e)) {
        k.headerRefused = true;
        d.onEvent?.('header-refused', { code: (e as AciError).code });
        look = true;
        continue;
      }
      if (!(e instanceof AciError) || !e.retryable || n >= d.maxRetries) throw e;
      landed = mayHaveLanded(e);
      await d.backoff(n + 1, e);
    }
    look = look || landed;
  }
}
