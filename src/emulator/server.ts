/**
 * HTTP layer of the emulator: routing of the ARM ContainerGroups API, bearer-token check,
 * api-version check, fault injection, throttling, ARM headers and error bodies, request statistics,
 * the OIDC endpoints (HTTPS) and the managed-identity endpoint (plain http, second server).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../api/clock';
import { ArmError } from './errors';
import type { Engine, OperationRecord } from './engine';
import type { FaultInjector, FaultKind } from './faults';
import { openIdConfiguration, scopeToResource, TokenIssuer } from './identity';
import type { RequestCategory, Throttler } from './throttling';
import { ifNoneMatchPrecondition } from './precondition';

export interface EmulatorStats {
  requests: Record<string, number>;
  responses: Record<string, number>;
  injectedFaults: Record<string, number>;
  throttled: number;
  creations: { name: string; resourceGroup: string; time: string; tags: Record<string, string> }[];
  starts: { name: string; resourceGroup: string; time: string; tags: Record<string, string>; reason: 'create' | 'update' | 'start' | 'restart' }[];
  writes: number;
  reads: number;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * The stable api-versions served: Microsoft's examples use 2021-10-01, 2022-09-01 and 2023-05-01
 * (the version @azure/arm-containerinstance 9.x sends); 2025-09-01 is the newest stable one.
 */
export const SUPPORTED_API_VERSIONS = ['2021-10-01', '2022-09-01', '2023-05-01', '2025-09-01'] as const;
export const MIN_API_VERSION = SUPPORTED_API_VERSIONS[0];
const OPERATION_API_VERSION = '2018-06-01';
const MAX_BODY = 4 * 1024 * 1024;
const PROVIDER = 'providers/Microsoft\\.ContainerInstance';
const SUB = '^/subscriptions/([^/]+)';
const GROUPS = `${SUB}/resourceGroups/([^/]+)/${PROVIDER}/containerGroups`;

interface Route {
  re: RegExp;
  /** Operation name per HTTP method. */
  ops: Partial<Record<string, string>>;
}

const ROUTES: Route[] = [
  { re: new RegExp(`${SUB}/${PROVIDER}/locations/([^/]+)/operations/([^/]+)$`, 'i'), ops: { GET: 'operationStatus' } },
  { re: new RegExp(`${SUB}/${PROVIDER}/containerGroups$`, 'i'), ops: { GET: 'list' } },
  { re: new RegExp(`${GROUPS}$`, 'i'), ops: { GET: 'list' } },
  { re: new RegExp(`${GROUPS}/([^/]+)$`, 'i'), ops: { PUT: 'put', PATCH: 'patch', GET: 'get', DELETE: 'delete' } },
  { re: new RegExp(`${GROUPS}/([^/]+)/(start|stop|restart)$`, 'i'), ops: { POST: 'action' } },
  { re: new RegExp(`${GROUPS}/([^/]+)/containers/([^/]+)/logs$`, 'i'), ops: { GET: 'logs' } },
];

export interface ArmServerDeps {
  engine: Engine;
  faults: FaultInjector;
  throttler: Throttler;
  clock: Clock;
  subscriptionId: string;
  pageSize: number;
  tokens: TokenIssuer;
  /** 'issued': only tokens `tokens` issued (and no client-credentials grant); 'any': any bearer token. */
  auth: 'issued' | 'any';
  identityHeader: string;
  /** The public base URL (https://127.0.0.1:PORT), known once the server listens. */
  endpoint(): string;
  logger?: { info(o: object, msg?: string): void; warn(o: object, msg?: string): void };
}

function bump(map: Record<string, number>, k: string, n = 1): void {
  map[k] = (map[k] ?? 0) + n;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ArmError(413, 'RequestEntityTooLarge', 'The request content is too large.'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export class ArmServer {
  readonly counters = {
    requests: {} as Record<string, number>,
    responses: {} as Record<string, number>,
    injectedFaults: {} as Record<string, number>,
    throttled: 0,
    writes: 0,
    reads: 0,
  };

  constructor(private readonly d: ArmServerDeps) {}

  stats(): EmulatorStats {
    const c = this.counters;
    return {
      requests: { ...c.requests },
      responses: { ...c.responses },
      injectedFaults: { ...c.injectedFaults },
      throttled: c.throttled,
      creations: this.d.engine.creations.map((x) => ({ ...x, tags: { ...x.tags } })),
      starts: this.d.engine.starts.map((x) => ({ ...x, tags: { ...x.tags } })),
      writes: c.writes,
      reads: c.reads,
    };
  }

  private write(res: ServerResponse, reply: Reply, countAs = true): void {
    if (countAs) bump(this.counters.responses, String(reply.status));
    const headers: Record<string, string> = {
      'x-ms-request-id': randomUUID(),
      'x-ms-correlation-request-id': randomUUID(),
      'cache-control': 'no-cache',
      ...(reply.headers ?? {}),
    };
    if (reply.body !== undefined) {
      const text = JSON.stringify(reply.body);
      headers['content-type'] = 'application/json; charset=utf-8';
      headers['content-length'] = String(Buffer.byteLength(text));
      res.writeHead(reply.status, headers);
      res.end(text);
    } else {
      headers['content-length'] = '0';
      res.writeHead(reply.status, headers);
      res.end();
    }
  }

  private error(e: ArmError): Reply {
    return { status: e.status, body: e.body(), headers: e.headers };
  }

  private opUrl(op: OperationRecord): string {
    return `${this.d.endpoint()}/subscriptions/${this.d.subscriptionId}/providers/Microsoft.ContainerInstance/locations/${op.location}/operations/${op.id}?api-version=${OPERATION_API_VERSION}`;
  }

  /** Handler of the HTTPS server. */
  handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.dispatch(req, res).catch((err) => {
      this.d.logger?.warn({ err: (err as Error).message }, 'emulator request failed');
      if (!res.headersSent && !res.destroyed) this.write(res, { status: 500, body: { error: { code: 'InternalServerError', message: 'Internal emulator error.' } } });
    });
  };

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://emulator.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname.replace(/\/+$/, '') || '/';

    if (path === '/_emulator/stats' && method === 'GET') {
      await readBody(req);
      return this.write(res, { status: 200, body: this.stats() }, false);
    }
    const oidc = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/i.exec(path);
    if (oidc && method === 'GET') {
      await readBody(req);
      bump(this.counters.requests, 'openidConfiguration');
      return this.write(res, { status: 200, body: openIdConfiguration(this.d.endpoint(), oidc[1]) });
    }
    const tokenPath = /^\/([^/]+)\/oauth2\/v2\.0\/token$/i.exec(path);
    if (tokenPath && method === 'POST') {
      return this.write(res, await this.clientCredentialsToken(req));
    }

    let route: Route | undefined;
    let m: RegExpExecArray | null = null;
    for (const r of ROUTES) {
      m = r.re.exec(path);
      if (m) {
        route = r;
        break;
      }
    }
    if (!route || !m) {
      await readBody(req);
      return this.write(res, { status: 404, body: { error: { code: 'InvalidResourceType', message: `The resource type could not be found for path '${path}'.` } } });
    }
    const args = m.slice(1).map(decode);
    let op = route.ops[method];
    if (!op) {
      await readBody(req);
      return this.write(res, { status: 405, body: { error: { code: 'MethodNotAllowed', message: `The HTTP method '${method}' is not supported at '${path}'.` } } });
    }
    if (op === 'action') op = args[3].toLowerCase();
    bump(this.counters.requests, op);
    const category: RequestCategory = method === 'GET' ? 'read' : method === 'DELETE' ? 'delete' : 'write';
    if (category === 'read') this.counters.reads++;
    else this.counters.writes++;

    let text: string;
    try {
      text = await readBody(req);
    } catch (e) {
      if (e instanceof ArmError) return this.write(res, this.error(e));
      throw e;
    }

    const fault = this.d.faults.decide(op);
    if (fault.latencyMs > 0) await sleep(fault.latencyMs);
    if (fault.kind && fault.kind !== 'lost') {
      bump(this.counters.injectedFaults, fault.kind);
      if (fault.kind === 'reset') {
        req.socket.destroy();
        return;
      }
      return this.write(res, this.injected(fault.kind));
    }

    const reply = this.guarded(req, url, op, category, args, text);
    if (fault.kind === 'lost') {
      bump(this.counters.injectedFaults, 'lost');
      req.socket.destroy();
      return;
    }
    this.write(res, reply);
  }

  private injected(kind: Exclude<FaultKind, 'reset' | 'lost'>): Reply {
    const ms = this.d.faults.spec.retryAfterMs;
    const retry = { 'retry-after': String(Math.max(1, Math.ceil(ms / 1000))), 'retry-after-ms': String(ms) };
    if (kind === '429') {
      return { status: 429, headers: retry, body: { error: { code: 'SubscriptionRequestsThrottled', message: 'Number of requests for subscription exceeded the limit (injected fault). Please try again later.' } } };
    }
    if (kind === '503') return { status: 503, headers: retry, body: { error: { code: 'ServiceUnavailable', message: 'The service is temporarily unavailable (injected fault).' } } };
    return { status: 500, body: { error: { code: 'InternalServerError', message: 'Encountered internal server error (injected fault).' } } };
  }

  /** Authentication, api-version, subscription and throttling checks, then the operation. */
  private guarded(req: IncomingMessage, url: URL, op: string, category: RequestCategory, args: string[], text: string): Reply {
    const auth = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!auth) {
      return { status: 401, body: { error: { code: 'AuthenticationFailed', message: "Authentication failed. The 'Authorization' header is missing or is not a bearer token." } } };
    }
    if (this.d.auth === 'issued') {
      const verdict = this.d.tokens.verify(auth[1]!);
      if (verdict === 'expired') {
        return { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' }, body: { error: { code: 'ExpiredAuthenticationToken', message: 'The access token expiry UTC time is earlier than current UTC time.' } } };
      }
      if (verdict !== 'ok') {
        return { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' }, body: { error: { code: 'InvalidAuthenticationToken', message: 'The access token is invalid: this emulator accepts only tokens its identity endpoint issued.' } } };
      }
    }
    const apiVersion = url.searchParams.get('api-version');
    if (!apiVersion) {
      return { status: 400, body: { error: { code: 'MissingApiVersionParameter', message: "The api-version query parameter (?api-version=) is required for all requests." } } };
    }
    if (op !== 'operationStatus' && !(SUPPORTED_API_VERSIONS as readonly string[]).includes(apiVersion)) {
      return {
        status: 400,
        body: {
          error: {
            code: 'NoRegisteredProviderFound',
            message: `No registered resource provider found for API version '${apiVersion}' and type 'containerGroups'. The supported api-versions are '${SUPPORTED_API_VERSIONS.join(', ')}'.`,
          },
        },
      };
    }
    if (args[0].toLowerCase() !== this.d.subscriptionId.toLowerCase()) {
      return { status: 404, body: { error: { code: 'SubscriptionNotFound', message: `The subscription '${args[0]}' could not be found.` } } };
    }
    const aci = op === 'put' ? 'create' : op === 'delete' ? 'delete' : undefined;
    const admitted = this.d.throttler.admit(category, aci, this.d.clock.now());
    if (!admitted.ok) {
      this.counters.throttled++;
      return {
        status: 429,
        headers: { ...admitted.headers, 'retry-after': String(Math.max(1, Math.ceil(admitted.retryAfterMs / 1000))) },
        body: { error: { code: 'SubscriptionRequestsThrottled', message: admitted.message } },
      };
    }
    let reply: Reply;
    try {
      reply = this.operate(req, url, op, args, text, apiVersion);
    } catch (e) {
      if (!(e instanceof ArmError)) throw e;
      reply = this.error(e);
    }
    reply.headers = { ...admitted.headers, ...(reply.headers ?? {}) };
    return reply;
  }

  private parseJson(text: string): unknown {
    if (!text.trim()) throw new ArmError(400, 'InvalidRequestContent', 'The request content was invalid and could not be deserialized: the body is empty.');
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new ArmError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: ${(e as Error).message}`);
    }
  }

  private operate(req: IncomingMessage, url: URL, op: string, args: string[], text: string, apiVersion: string): Reply {
    const e = this.d.engine;
    const [, rg, name] = args;
    switch (op) {
      case 'operationStatus': {
        const rec = e.operation(args[2]);
        return {
          status: 200,
          body: {
            id: `/subscriptions/${this.d.subscriptionId}/providers/Microsoft.ContainerInstance/locations/${rec.location}/operations/${rec.id}`,
            name: rec.id,
            status: rec.status,
            startTime: rec.startTime,
            ...(rec.endTime ? { endTime: rec.endTime } : {}),
            properties: { events: [] },
            ...(rec.error ? { error: rec.error } : {}),
          },
        };
      }
      case 'list': {
        const rgName = args.length >= 2 ? args[1] : undefined;
        const token = url.searchParams.get('$skipToken') ?? undefined;
        let after: string | undefined;
        if (token) {
          try {
            after = String((JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after: string }).after);
          } catch {
            throw new ArmError(400, 'InvalidSkipToken', 'The $skipToken is invalid.');
          }
        }
        const page = e.list(rgName, after, this.d.pageSize);
        const body: { value: unknown[]; nextLink?: string } = { value: page.value };
        if (page.next !== undefined) {
          const skip = Buffer.from(JSON.stringify({ after: page.next })).toString('base64url');
          body.nextLink = `${this.d.endpoint()}${url.pathname}?api-version=${encodeURIComponent(apiVersion)}&$skipToken=${skip}`;
        }
        return { status: 200, body };
      }
      case 'put': {
        const r = e.put(rg, name, this.parseJson(text), ifNoneMatchPrecondition(req.headers['if-none-match'], e.behaviour.ifNoneMatch));
        return { status: r.status, body: r.body, headers: { 'azure-asyncoperation': this.opUrl(r.op) } };
      }
      case 'patch':
        return { status: 200, body: e.patchTags(rg, name, this.parseJson(text)) };
      case 'get':
        return { status: 200, body: e.get(rg, name) };
      case 'delete': {
        const r = e.delete(rg, name);
        if (r.status === 204) return { status: 204 };
        return { status: 202, headers: { 'azure-asyncoperation': this.opUrl(r.op!) } };
      }
      case 'start': {
        const r = e.start(rg, name);
        if (!r) return { status: 204 };
        return { status: 202, headers: { 'azure-asyncoperation': this.opUrl(r) } };
      }
      case 'stop':
        e.stop(rg, name);
        return { status: 204 };
      case 'restart': {
        const r = e.restart(rg, name);
        return { status: 204, headers: { 'azure-asyncoperation': this.opUrl(r) } };
      }
      case 'logs': {
        const tailRaw = url.searchParams.get('tail');
        let tail: number | undefined;
        if (tailRaw !== null && tailRaw !== '') {
          tail = Number(tailRaw);
          if (!Number.isInteger(tail) || tail < 0) throw new ArmError(400, 'InvalidRequestContent', `The tail value '${tailRaw}' is invalid.`);
        }
        const timestamps = url.searchParams.get('timestamps') === 'true';
        return { status: 200, body: { content: e.logs(rg, name, args[3], tail, timestamps) } };
      }
      default:
        throw new ArmError(404, 'InvalidResourceType', `Unknown operation '${op}'.`);
    }
  }

  /** OIDC client-credentials grant (ClientSecretCredential with authorityHost). */
  private async clientCredentialsToken(req: IncomingMessage): Promise<Reply> {
    bump(this.counters.requests, 'token');
    const form = new URLSearchParams(await readBody(req));
    if (this.d.auth === 'issued') {
      // no client is registered: tokens come from the managed-identity endpoint (its header is the secret)
      return { status: 401, body: { error: 'invalid_client', error_description: 'AADSTS7000215: this emulator issues tokens only through its managed-identity endpoint.' } };
    }
    if (form.get('grant_type') !== 'client_credentials' || !form.get('client_id') || !(form.get('client_secret') || form.get('client_assertion'))) {
      return { status: 400, body: { error: 'invalid_request', error_description: 'AADSTS900144: client_credentials grant with client_id and a client secret or assertion is required.' } };
    }
    const scope = (form.get('scope') ?? '').split(' ').find((s) => s.endsWith('/.default')) ?? 'https://management.azure.com/.default';
    const { token } = this.d.tokens.issue(scopeToResource(scope), form.get('client_id')!);
    return { status: 200, body: { token_type: 'Bearer', expires_in: 86399, ext_expires_in: 86399, access_token: token } };
  }

  /** Handler of the plain-http managed-identity server (App Service protocol 2019-08-01). */
  identityHandle = (req: IncomingMessage, res: ServerResponse): void => {
    void (async () => {
      await readBody(req);
      bump(this.counters.requests, 'identity');
      const fault = this.d.faults.decide('identity', false);
      if (fault.latencyMs > 0) await sleep(fault.latencyMs);
      if (fault.kind === 'reset' || fault.kind === 'lost') {
        bump(this.counters.injectedFaults, fault.kind);
        req.socket.destroy();
        return;
      }
      if (fault.kind) {
        bump(this.counters.injectedFaults, fault.kind);
        return this.write(res, this.injected(fault.kind));
      }
      const url = new URL(req.url ?? '/', 'http://emulator.invalid');
      if (req.method !== 'GET' || url.pathname !== '/msi/token') {
        return this.write(res, { status: 404, body: { error: 'not_found', error_description: 'Unknown identity endpoint path.' } });
      }
      if (req.headers['x-identity-header'] !== this.d.identityHeader) {
        return this.write(res, { status: 401, body: { error: 'unauthorized', error_description: 'The X-IDENTITY-HEADER header is missing or wrong.' } });
      }
      const resource = url.searchParams.get('resource');
      if (!resource || !url.searchParams.get('api-version')) {
        return this.write(res, { status: 400, body: { error: 'invalid_request', error_description: 'The resource and api-version parameters are required.' } });
      }
      const subject = url.searchParams.get('client_id') ?? url.searchParams.get('principal_id') ?? url.searchParams.get('mi_res_id') ?? 'system-assigned';
      const { token, expiresOn } = this.d.tokens.issue(resource, subject);
      this.write(res, { status: 200, body: { access_token: token, expires_on: String(expiresOn), resource, token_type: 'Bearer', client_id: subject } });
    })().catch(() => {
      if (!res.headersSent && !res.destroyed) this.write(res, { status: 500, body: { error: 'server_error' } });
    });
  };
}
