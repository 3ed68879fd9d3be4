/**
 * AciContainerGroups: ContainerGroups on `@azure/arm-containerinstance`.
 *
 * HTTP requests per operation (each counts against the ARM budget and passes the rate limiter):
 *   listOwned       1 read per page (listByResourceGroup, every nextLink followed)
 *   listObserved    the same, items mapped with their container instance views when present
 *   get             1 read
 *   createOrUpdate  ifNoneMatch: 1 read (GET by name: is it there already?) + 1 write (the PUT, with
 *                   `If-None-Match: *` until ARM refuses it), and 1 read more before a re-send that may
 *                   follow a PUT that got through (create-guard.ts; `lookBeforeCreate`);
 *                   otherwise 1 read (ownership check: never update a group we do not own) + 1 write
 *   start           1 read (ownership) + 1 write (POST …/start; returns on 202, does not wait for the LRO)
 *   stop            1 read (ownership) + 1 write (POST …/stop, synchronous)
 *   delete          1 read (ownership; absent → done) + 1 delete (returns on 200/202/204, no LRO wait);
 *                   with `observedTags` (read by the caller in the same reconcile): the delete only,
 *                   after checking those tags carry our managed-by value (refused otherwise)
 *   logs            1 read
 * PUT, start and DELETE are sent as raw requests through the client's own pipeline (credential,
 * TLS options, user agent, api-version) instead of `begin*`: the SDK's pollers poll at once after
 * the initial request, which would spend a read per write for a result the reconciler observes
 * with `get` anyway.
 *
 * Every attempt waits for the rate limiter of its subscription (ARM budgets are per subscription), is bounded by `callTimeoutMs`, and is retried on
 * Transient (jittered backoff) and Throttled (after Retry-After, which also pauses the budget)
 * up to `retry.maxRetries` times. The SDK's own retry policy is switched off so every request is
 * counted here. Errors are AciError; their messages are scrubbed of the secret values of the call
 * and never carry the request.
 */
import { ContainerInstanceManagementClient, type ContainerGroup as ArmGroup } from '@azure/arm-containerinstance';
import type { TokenCredential } from '@azure/core-auth';
import { createPipelineRequest, type PipelinePolicy } from '@azure/core-rest-pipeline';
import type { Clock } from '../api/clock';
import { systemClock } from '../api/clock';
import { TAG_MANAGED_BY } from '../api/names';
import type { GroupRef, ObservedGroup } from '../api/observed';
import { guardedCreate, type PreconditionKnowledge } from './create-guard';
import { fromArmGroup, fromArmListItem, fromWire, toArmGroup, toWire } from './mapping';
import { backoffDelay, DEFAULT_RETRY, RateLimiter, realSleep, type CallClass, type RateLimits, type RetryPolicy, type Sleep } from './rate-limit';
import { prefetchSecrets, type SecretResolver, type SecretSource } from './secrets';
import { AciError, type CallOptions, type ContainerGroups, type DeleteOptions, type DesiredGroup, type Scope } from './types';

export interface AciLogger {
  debug?(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
  warn?(obj: object, msg?: string): void;
}

export interface AciContainerGroupsOptions {
  /** The controller's default subscription (refs carry their own; a client is made per subscription). */
  subscriptionId: string;
  /** Value of the managed-by tag: only groups carrying it are ever listed, updated, stopped or deleted. */
  instanceId: string;
  credential: TokenCredential;
  /** ARM endpoint; default https://management.azure.com. */
  endpoint?: string;
  /** PEM of a CA to trust (the emulator's self-signed certificate). */
  ca?: string;
  /** Where secret references are read (asynchronously, before any request), or a fixed map. */
  secrets: SecretSource | SecretResolver;
  /** Client-side budget (defaults: AZURE_RATE_LIMITS). Ignored when `limiter` is given. */
  limits?: RateLimits;
  /** A limiter shared with other adapters of the same subscription. */
  limiter?: RateLimiter;
  /** Bound on every single HTTP attempt; default 30 s. */
  callTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Called after every attempt: operation, outcome ('ok' or an AciError kind), duration. */
  onCall?: (op: string, outcome: string, ms: number) => void;
  logger?: AciLogger;
  /** Token scopes; default `${endpoint}/.default`. */
  credentialScopes?: string[];
  /** Extra pipeline policies (tests use one to see request bodies). */
  additionalPolicies?: { policy: PipelinePolicy; position: 'perCall' | 'perRetry' }[];
  clock?: Clock;
  sleep?: Sleep;
  random?: () => number;
  /**
   * The create guard (create-guard.ts), on by default. `false` re-sends a failed create PUT without
   * looking first and trusts `If-None-Match` alone — unsafe; only for the test that shows the guard is needed.
   */
  createGuard?: boolean;
  /**
   * `always` (default): every create GETs the name first, so a group already there (ours from an
   * earlier PUT, or somebody else's) is never PUT over even when ARM ignores `If-None-Match`.
   * `when-unsure`: only Reuse names, re-sends after a PUT that may have gone through, and every
   * create once ARM has been seen to ignore the header (one read less per run; a foreign group
   * holding a fresh run's name would then be updated once before the controller notices).
   */
  lookBeforeCreate?: 'always' | 'when-unsure';
}

const CREATE_GUARD_MESSAGES = {
  adopted: 'create: the earlier PUT had gone through (tags match); adopted instead of sending it again',
  taken: 'create: the name is held by another group; not sent',
  'header-refused': 'ARM refused If-None-Match; creates go without it, each after a GET by name',
  'header-ignored': 'ARM answered a create PUT as an update: If-None-Match is not honoured; every create now GETs first',
} as const;

const PROVIDER = 'providers/Microsoft.ContainerInstance/containerGroups';
const QUOTA_CODES = /quota|limitexceeded|ContainerGroupQuotaReached|RegionalQuota|StandardCores/i;
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED', 'REQUEST_SEND_ERROR', 'UND_ERR_SOCKET']);

function hdr(headers: unknown, name: string): string | undefined {
  if (!headers) return undefined;
  const h = headers as { get?: (n: string) => string | undefined } & Record<string, string>;
  if (typeof h.get === 'function') return h.get(name) ?? undefined;
  return h[name] ?? h[name.toLowerCase()];
}

/** Retry-After from headers: `retry-after-ms` / `x-ms-retry-after-ms` (ms) or `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(headers: unknown, now: number): number | undefined {
  const ms = hdr(headers, 'retry-after-ms') ?? hdr(headers, 'x-ms-retry-after-ms');
  if (ms !== undefined && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = hdr(headers, 'retry-after');
  if (ra === undefined) return undefined;
  if (Number.isFinite(Number(ra))) return Math.max(0, Number(ra) * 1000);
  const at = Date.parse(ra);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Replace every known secret value in a message (values shorter than 3 characters are not matched). */
export function scrub(message: string, secrets: Iterable<string>): string {
  let out = message;
  for (const s of secrets) if (s.length >= 3) out = out.split(s).join('***');
  return out.length > 600 ? `${out.slice(0, 600)}…` : out;
}

/** An AciError from an HTTP status and an ARM error body. */
export function errorFromStatus(status: number, code: string | undefined, message: string, retryAfter?: number): AciError {
  const c = code ?? `Http${status}`;
  if (status === 404) return new AciError('NotFound', message, c, undefined, status);
  if (status === 409 || status === 412) return new AciError('Conflict', message, c, undefined, status);
  if (status === 429) return new AciError('Throttled', message, c, retryAfter, status);
  if (status === 401) return new AciError('Unauthorized', message, c, undefined, status);
  if (status === 403) return new AciError('Forbidden', message, c, undefined, status);
  if (status === 408 || status >= 500) return new AciError('Transient', message, c, retryAfter, status);
  if (status >= 400 && QUOTA_CODES.test(c)) return new AciError('Quota', message, c, undefined, status);
  if (status >= 400) return new AciError('Invalid', message, c, undefined, status);
  return new AciError('Transient', message, c, undefined, status);
}

class TimeoutError extends Error {}

export class AciContainerGroups implements ContainerGroups {
  readonly instanceId: string;
  private readonly limiters = new Map<string, RateLimiter>();
  private readonly opts: AciContainerGroupsOptions;
  private readonly clients = new Map<string, ContainerInstanceManagementClient>();
  private readonly endpoint: string;
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;
  /** What creates have shown about If-None-Match (create-guard.ts). */
  readonly precondition: PreconditionKnowledge = { headerRefused: false, headerIgnored: false };

  constructor(opts: AciContainerGroupsOptions) {
    this.opts = opts;
    this.instanceId = opts.instanceId;
    this.endpoint = (opts.endpoint ?? 'https://management.azure.com').replace(/\/+$/, '');
    this.clock = opts.clock ?? systemClock;
    this.sleep = opts.sleep ?? realSleep;
    this.retry = { ...DEFAULT_RETRY, ...(opts.retry ?? {}) };
    this.timeoutMs = opts.callTimeoutMs ?? 30_000;
  }

  /** The budget of a subscription (ARM limits are per subscription); one shared limiter when given. */
  limiter(subscriptionId: string = this.opts.subscriptionId): RateLimiter {
    if (this.opts.limiter) return this.opts.limiter;
    let l = this.limiters.get(subscriptionId);
    if (!l) {
      l = new RateLimiter(this.opts.limits, { clock: this.clock, sleep: this.sleep });
      this.limiters.set(subscriptionId, l);
    }
    return l;
  }

  /** The SDK client of a subscription (made once). */
  client(subscriptionId: string = this.opts.subscriptionId): ContainerInstanceManagementClient {
    let c = this.clients.get(subscriptionId);
    if (!c) {
      c = new ContainerInstanceManagementClient(this.opts.credential, subscriptionId, {
        endpoint: this.endpoint,
        $host: this.endpoint,
        tlsOptions: this.opts.ca ? { ca: this.opts.ca } : undefined,
        retryOptions: { maxRetries: 0 },
        credentialScopes: this.opts.credentialScopes,
        additionalPolicies: this.opts.additionalPolicies,
      });
      this.clients.set(subscriptionId, c);
    }
    return c;
  }

  // ---- ContainerGroups -------------------------------------------------------------------

  async listOwned(scope: Scope, opts?: CallOptions): Promise<ObservedGroup[]> {
    const { items } = await this.listArm(scope, opts);
    return items.filter((g) => g.tags?.[TAG_MANAGED_BY] === this.instanceId).map((g) => fromArmGroup(g));
  }

  async listObserved(scope: Scope, opts?: CallOptions): Promise<{ groups: ObservedGroup[]; pages: number; views?: boolean }> {
    const { items, pages } = await this.listArm(scope, opts);
    // Only a deployed group says whether the service puts instance views in list items (a pending one may have none yet).
    const deployed = items.filter((g) => g.provisioningState === 'Succeeded');
    const views = deployed.length === 0 ? undefined : deployed.some((g) => g.containers?.some((c) => c.instanceView !== undefined));
    return { groups: items.filter((g) => g.tags?.[TAG_MANAGED_BY] === this.instanceId).map((g) => fromArmListItem(g)), pages, views };
  }

  private async listArm(scope: Scope, opts?: CallOptions): Promise<{ items: ArmGroup[]; pages: number }> {
    let pageCount = 0;
    const items = await this.call('list', 'read', scope.subscriptionId, scope.resourceGroup, opts, [], async (signal) => {
      pageCount = 0;
      const all: ArmGroup[] = [];
      // One listing; each page is one request and waits for its own read permit.
      const pages = this.client(scope.subscriptionId).containerGroups.listByResourceGroup(scope.resourceGroup, { abortSignal: signal }).byPage();
      for (let first = true; ; first = false) {
        const permit = first ? undefined : await this.limiter(scope.subscriptionId).acquire('read', signal);
        try {
          const r = await pages.next();
          if (r.done) break;
          pageCount++;
          all.push(...r.value);
        } finally {
          permit?.done();
        }
      }
      return all;
    });
    return { items, pages: pageCount };
  }

  async get(ref: GroupRef, opts?: CallOptions): Promise<ObservedGroup> {
    const g = await this.getArm(ref, opts);
    return fromArmGroup(g);
  }

  async createOrUpdate(desired: DesiredGroup, opts?: CallOptions & { ifNoneMatch?: boolean; mayExist?: boolean }): Promise<ObservedGroup> {
    const ref = desired.ref;
    const seen: string[] = [];
    const values = await prefetchSecrets(desired.template, this.opts.secrets);
    const recording: SecretResolver = {
      resolve: (r) => {
        const v = values.resolve(r);
        seen.push(v);
        return v;
      },
    };
    // Secrets first: a missing one fails the call before any request is made.
    const body = toArmGroup(desired, recording);
    if (!opts?.ifNoneMatch) await this.requireOwned(ref, 'update', opts, true);
    const json = JSON.stringify(toWire(body));
    const put = (withHeader: boolean, maxRetries?: number) => {
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (withHeader) headers['If-None-Match'] = '*';
      return this.call('createOrUpdate', 'create', ref.subscriptionId, ref.name, opts, seen, (signal) => this.raw(ref, 'PUT', '', signal, headers, json), maxRetries);
    };
    if (!opts?.ifNoneMatch) return fromArmGroup(fromWire((await put(false)).body));
    if (this.opts.createGuard === false) return fromArmGroup(fromWire((await put(true)).body));
    // A create: the guard (create-guard.ts) looks before any re-send that may follow a PUT that got through.
    return guardedCreate(desired.tags, {
      put: async (withHeader) => {
        const r = await put(withHeader, 0);
        return { status: r.status, group: fromArmGroup(fromWire(r.body)) };
      },
      get: async () => {
        try {
          return await this.get(ref, opts);
        } catch (e) {
          if (e instanceof AciError && e.kind === 'NotFound' && e.code !== 'ResourceGroupNotFound') return null;
          throw e;
        }
      },
      backoff: async (n, e) => {
        const delay = e.kind === 'Throttled' ? 0 : backoffDelay(n, this.retry, this.opts.random);
        this.opts.logger?.warn?.({ op: 'createOrUpdate', group: ref.name, kind: e.kind, code: e.code, attempt: n, delayMs: delay }, 'ARM call failed; retrying');
        if (delay > 0) await this.sleep(delay, opts?.signal);
      },
      maxRetries: this.retry.maxRetries,
      knowledge: this.precondition,
      onEvent: (what, detail) => {
        const level = what === 'adopted' || what === 'taken' ? 'info' : 'warn';
        this.opts.logger?.[level]?.({ group: ref.name, ...detail }, CREATE_GUARD_MESSAGES[what]);
      },
    }, { mayExist: opts.mayExist || this.opts.lookBeforeCreate !== 'when-unsure' });
  }

  async start(ref: GroupRef, opts?: CallOptions): Promise<void> {
    await this.requireOwned(ref, 'start', opts, false);
    await this.call('start', 'write', ref.subscriptionId, ref.name, opts, [], (signal) => this.raw(ref, 'POST', '/start', signal));
  }

  async stop(ref: GroupRef, opts?: CallOptions): Promise<void> {
    await this.requireOwned(ref, 'stop', opts, false);
    await this.call('stop', 'write', ref.subscriptionId, ref.name, opts, [], (signal) => this.client(ref.subscriptionId).containerGroups.stop(ref.resourceGroup, ref.name, { abortSignal: signal }));
  }

  async delete(ref: GroupRef, opts?: DeleteOptions): Promise<void> {
    if (opts?.observedTags) {
      this.checkOwned(ref, opts.observedTags, 'delete');
    } else {
      const exists = await this.requireOwned(ref, 'delete', opts, true);
      if (!exists) return;
    }
    try {
      await this.call('delete', 'delete', ref.subscriptionId, ref.name, opts, [], (signal) => this.raw(ref, 'DELETE', '', signal));
    } catch (e) {
      if (e instanceof AciError && e.kind === 'NotFound') return;
      throw e;
    }
  }

  async logs(ref: GroupRef, container: string, opts?: CallOptions & { tail?: number }): Promise<string> {
    const r = await this.call('logs', 'read', ref.subscriptionId, ref.name, opts, [], (signal) =>
      this.client(ref.subscriptionId).containers.listLogs(ref.resourceGroup, ref.name, container, { abortSignal: signal, ...(opts?.tail !== undefined ? { tail: opts.tail } : {}) }),
    );
    return r.content ?? '';
  }

  // ---- internals -------------------------------------------------------------------------

  private getArm(ref: GroupRef, opts?: CallOptions): Promise<ArmGroup> {
    return this.call('get', 'read', ref.subscriptionId, ref.name, opts, [], (signal) => this.client(ref.subscriptionId).containerGroups.get(ref.resourceGroup, ref.name, { abortSignal: signal }));
  }

  /**
   * GET the group and refuse (Forbidden) one without our managed-by tag. Returns false when it does
   * not exist and `absentOk`; throws NotFound otherwise.
   */
  private async requireOwned(ref: GroupRef, verb: string, opts: CallOptions | undefined, absentOk: boolean): Promise<boolean> {
    let g: ArmGroup;
    try {
      g = await this.getArm(ref, opts);
    } catch (e) {
      if (absentOk && e instanceof AciError && e.kind === 'NotFound') return false;
      throw e;
    }
    this.checkOwned(ref, g.tags ?? {}, verb);
    return true;
  }

  /** Refuse (Forbidden) a group whose tags lack our managed-by value. */
  private checkOwned(ref: GroupRef, tags: Record<string, string>, verb: string): void {
    if (tags[TAG_MANAGED_BY] !== this.instanceId) {
      throw new AciError('Forbidden', `container group '${ref.name}' in resource group '${ref.resourceGroup}' is not managed by this controller; refusing to ${verb} it`, 'NotOwned');
    }
  }

  /** One raw ARM request through the SDK client's pipeline. Resolves with the JSON body (if any) on 2xx. */
  private async raw(ref: GroupRef, method: 'PUT' | 'POST' | 'DELETE', suffix: string, signal: AbortSignal, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: unknown }> {
    const client = this.client(ref.subscriptionId);
    const url =
      `${this.endpoint}/subscriptions/${encodeURIComponent(ref.subscriptionId)}/resourceGroups/${encodeURIComponent(ref.resourceGroup)}/` +
      `${PROVIDER}/${encodeURIComponent(ref.name)}${suffix}?api-version=${client.apiVersion}`;
    const req = createPipelineRequest({ url, method, abortSignal: signal, body });
    for (const [k, v] of Object.entries(headers)) req.headers.set(k, v);
    req.headers.set('Accept', 'application/json');
    const res = await client.sendRequest(req);
    let parsed: unknown;
    if (res.bodyAsText) {
      try {
        parsed = JSON.parse(res.bodyAsText);
      } catch {
        parsed = undefined;
      }
    }
    if (res.status >= 200 && res.status < 300) return { status: res.status, body: parsed };
    const err = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw errorFromStatus(res.status, err?.code, err?.message ?? `HTTP ${res.status}`, retryAfterMs(res.headers, this.clock.now()));
  }

  /** Map anything thrown by the SDK or the pipeline to an AciError (messages scrubbed). */
  private toAciError(e: unknown, op: string, name: string, secrets: string[]): AciError {
    const prefix = `${op} ${name}`;
    if (e instanceof AciError) {
      return new AciError(e.kind, scrub(`${prefix}: ${e.code ? `${e.code}: ` : ''}${e.message}`, secrets), e.code, e.retryAfterMs, e.statusCode);
    }
    if (e instanceof TimeoutError) return new AciError('Transient', `${prefix}: timed out after ${this.timeoutMs} ms`, 'Timeout');
    const err = e as { name?: string; statusCode?: number; code?: string; message?: string; response?: { headers?: unknown; parsedBody?: unknown } };
    const msg = scrub(String(err?.message ?? e), secrets);
    if (err?.name === 'RestError' || typeof err?.statusCode === 'number') {
      if (typeof err.statusCode === 'number') {
        const body = err.response?.parsedBody as { error?: { code?: string; message?: string } } | undefined;
        const code = body?.error?.code ?? err.code;
        const text = scrub(body?.error?.message ?? msg, secrets);
        const mapped = errorFromStatus(err.statusCode, code, `${prefix}: ${code ?? `HTTP ${err.statusCode}`}: ${text}`, retryAfterMs(err.response?.headers, this.clock.now()));
        return mapped;
      }
      return new AciError('Transient', `${prefix}: ${err.code ?? 'network error'}: ${msg}`, err.code ?? 'NetworkError');
    }
    if (err?.name === 'CredentialUnavailableError' || err?.name === 'AuthenticationError' || err?.name === 'AuthenticationRequiredError') {
      return new AciError('Unauthorized', `${prefix}: ${err.name}: ${msg}`, err.name);
    }
    if (err?.code && NETWORK_CODES.has(err.code)) return new AciError('Transient', `${prefix}: ${err.code}: ${msg}`, err.code);
    return new AciError('Transient', `${prefix}: ${msg}`, err?.name ?? 'Error');
  }

  /**
   * One operation: budget, timeout, error mapping, retries. `fn` performs one attempt with the
   * given signal (aborted at the timeout or when the caller aborts).
   */
  private async call<T>(op: string, cls: CallClass, sub: string, name: string, opts: CallOptions | undefined, secrets: string[], fn: (signal: AbortSignal) => Promise<T>, maxRetries = this.retry.maxRetries): Promise<T> {
    const outer = opts?.signal;
    const limiter = this.limiter(sub);
    for (let attempt = 0; ; attempt++) {
      if (outer?.aborted) throw outer.reason ?? new Error('aborted');
      const permit = await limiter.acquire(cls, outer);
      const started = this.clock.now();
      const ac = new AbortController();
      const onAbort = () => ac.abort(outer!.reason);
      outer?.addEventListener('abort', onAbort, { once: true });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        ac.abort(new TimeoutError('timeout'));
      }, this.timeoutMs);
      try {
        const result = await fn(ac.signal);
        this.opts.onCall?.(op, 'ok', this.clock.now() - started);
        return result;
      } catch (e) {
        if (outer?.aborted) {
          this.opts.onCall?.(op, 'aborted', this.clock.now() - started);
          throw outer.reason ?? e;
        }
        const err = this.toAciError(timedOut ? new TimeoutError('timeout') : e, op, name, secrets);
        this.opts.onCall?.(op, err.kind, this.clock.now() - started);
        if (err.kind === 'Throttled') limiter.pause(cls, err.retryAfterMs ?? backoffDelay(attempt + 1, this.retry, this.opts.random));
        if (!err.retryable || attempt >= maxRetries) throw err;
        const delay = err.kind === 'Throttled' ? 0 : backoffDelay(attempt + 1, this.retry, this.opts.random);
        this.opts.logger?.warn?.({ op, group: name, kind: err.kind, code: err.code, attempt: attempt + 1, delayMs: delay }, 'ARM call failed; retrying');
        if (delay > 0) await this.sleep(delay, outer);
      } finally {
        clearTimeout(timer);
        outer?.removeEventListener('abort', onAbort);
        permit.done();
      }
    }
  }
}
