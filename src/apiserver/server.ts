/**
 * The controller's HTTP API: a Kubernetes API for acictl.dev/v1 (discovery, OpenAPI, objects,
 * Table, watch, patch, Status errors) plus acictl's verbs, behind a bearer token. `/healthz`,
 * `/readyz` and `/metrics` are open and reveal nothing sensitive.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Clock } from '../api/clock';
import { systemClock } from '../api/clock';
import type { Store } from '../store/types';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, versionInfo } from './discovery';
import { sendError, sendJson } from './http';
import { openApiV2, openApiV3, openApiV3Index } from './openapi';
import { Resources, type Reply, type Request, type ValidateOutcome } from './resources';
import { isLoopbackHost } from './listen-policy';
import { loadJobSchema, type JobSchema } from './schema';
import { ApiError, errors } from './status';
import type { TlsMaterial } from './tls';
import { WatchHub } from './watch';
import { storeUnreachable } from '../store/common';
import { backfill, runVerb, type OperatorApi } from './operator';

/** The pino-compatible subset the API logs through. */
export interface ApiLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ApiServerDeps {
  store: Store;
  /** Validate a ContainerJob manifest (src/manifest/validate.ts validateObject). */
  validate(obj: unknown, opts: { strict: boolean }): ValidateOutcome;
  /** Tell the controller a job changed (created, updated, deleted, triggered, suspended). */
  enqueue(name: string): void;
  /** Record a manual run; returns its id. */
  trigger(name: string): Promise<{ run: string }>;
  /** Runtime override of spec.suspend; null clears it. */
  setSuspended(name: string, suspended: boolean | null): Promise<void>;
  /** backfill / clear / cancel (src/controller/operator.ts); absent: those verbs answer 405. */
  operator?: OperatorApi;
  /** Archived or live log text of a run (all attempts when `attempt` is undefined). */
  logs(run: string, attempt: number | undefined, follow: boolean, signal: AbortSignal): AsyncIterable<string>;
  /** Prometheus exposition of the controller's registry. */
  metrics(): Promise<{ contentType: string; body: string }>;
  /** For /readyz. */
  ready(): boolean;
  /**
   * Replicas on a shared store: this replica's role, added to the /readyz body after its first
   * line (`ok` / `not ready`, unchanged) and in an `X-Acictl-Role` header. Absent: one process.
   */
  role?(): { role: 'leader' | 'follower'; reason?: string };
  /** `GET /acictl/v1/leases` (token): the leader-election lease as this replica reads it. */
  leases?(): Promise<unknown>;
  /** Status of each manifest source (`GET /acictl/v1/sources`). */
  sources?(): unknown[];
  /**
   * Endpoints that authenticate by themselves (`POST /hooks/...`, HMAC-signed): answers and returns
   * true when the request is one of them.
   */
  hooks?(method: string, path: string, req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  token: string;
  clock?: Clock;
  logger?: ApiLogger;
  /** The ContainerJob JSON Schema file (default: schemas/containerjob.v1.schema.json of this package). */
  schemaFile?: string;
  /** Shown in /version. */
  version?: string;
  /**
   * Certificate and key (tls.ts loadOrCreateTls). With them the port speaks HTTPS as well as HTTP
   * (told apart by the first byte); kubectl needs HTTPS, as it never sends a token over HTTP.
   */
  tls?: TlsMaterial;
  /** The web UI (src/ui): answers its own paths first; its session cookie also authenticates API requests. */
  ui?: UiMount;
}

/** The hook the web UI mounts on the API port. */
export interface UiMount {
  /** Answer a UI path (with its own authentication); false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
  /** A request's UI session: 'forbidden' when a state-changing request lacks the session's CSRF proof. */
  authenticate(req: IncomingMessage): 'session' | 'forbidden' | 'none';
  /** Called once when the server closes. */
  close?(): void;
}

export interface ApiServer {
  /** http://HOST:PORT */
  url: string;
  /** https://HOST:PORT on the same port, when `tls` was given. */
  httpsUrl?: string;
  /** The certificate clients trust for httpsUrl (PEM), when `tls` was given. */
  ca?: string;
  close(): Promise<void>;
}

const silent: ApiLogger = { debug() {}, warn() {}, error() {} };

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Whether the Accept header admits JSON (or says nothing). */
function acceptsJson(accept: string | undefined): boolean {
  if (!accept) return true;
  return accept.split(',').some((p) => {
    const t = p.split(';')[0]!.trim().toLowerCase();
    return t === 'application/json' || t === '*/*' || t === 'application/*';
  });
}

/** `Warning: 299 - "text"`, as Kubernetes sends field validation warnings. */
function warningHeader(text: string): string {
  const clean = text.replace(/[\r\n]+/g, ' ').replace(/[^\x20-\x7e]/g, '?');
  return `299 - "${clean.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** One path segment, percent-decoded; malformed encoding is the client's error (400), not ours. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw errors.badRequest('the request path has malformed percent-encoding');
  }
}

class ApiHandler {
  private readonly resources: Resources;
  private readonly tokenDigest: Buffer;
  private readonly v2: string;
  private readonly v3: string;
  private readonly v3Index: string;
  private readonly v3Hash: string;
  readonly streams = new Set<ServerResponse>();
  readonly hub: WatchHub;
  private readonly log: ApiLogger;
  private readonly clock: Clock;

  constructor(private readonly deps: ApiServerDeps, schema: JobSchema, private readonly exposed: boolean, hub: WatchHub) {
    if (!deps.token) throw new Error('the API needs a token');
    this.tokenDigest = digest(deps.token);
    this.log = deps.logger ?? silent;
    this.clock = deps.clock ?? systemClock;
    this.hub = hub;
    const v3 = openApiV3(schema);
    this.v3 = JSON.stringify(v3);
    const index = openApiV3Index(v3);
    this.v3Index = JSON.stringify(index.doc);
    this.v3Hash = index.hash;
    this.v2 = JSON.stringify(openApiV2(schema));
    this.resources = new Resources({
      store: deps.store,
      validate: (obj, opts) => deps.validate(obj, opts),
      enqueue: (name) => deps.enqueue(name),
      trigger: (name) => deps.trigger(name),
      setSuspended: (name, s) => deps.setSuspended(name, s),
      logs: (run, attempt, follow, signal) => deps.logs(run, attempt, follow, signal),
      hub: this.hub,
      schema,
      now: () => this.clock.now(),
      streams: this.streams,
    });
  }

  private authorized(req: IncomingMessage): boolean {
    const h = req.headers.authorization;
    if (!h) return false;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    if (!m) return false;
    return timingSafeEqual(digest(m[1]!), this.tokenDigest);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    let path = '/';
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
      if (await this.open(method, path, res)) return;
      // HMAC-signed hooks authenticate themselves (no bearer token, so plain HTTP is fine for them)
      if (path.startsWith('/hooks/') && this.deps.hooks && (await this.deps.hooks(method, path, req, res))) return;
      if (this.exposed && !(req.socket as TLSSocket).encrypted) {
        req.resume();
        throw new ApiError(403, 'Forbidden', 'this API listens on a non-loopback address: requests that need the bearer token are served over HTTPS only (same port), never over plain HTTP');
      }
      if (this.deps.ui && (await this.deps.ui.handle(req, res, url))) return;
      if (!this.authorized(req)) {
        const ui = this.deps.ui?.authenticate(req) ?? 'none';
        if (ui !== 'session') {
          req.resume();
          throw ui === 'forbidden' ? errors.forbiddenCsrf() : errors.unauthorized();
        }
      }
      const reply = await this.route({ method, query: url.searchParams, req, res }, path);
      if (reply) this.send(res, reply);
    } catch (err) {
      if (err instanceof ApiError) {
        if (err.code >= 500) this.log.error({ method, path, reason: err.reason }, 'API request failed');
        sendError(res, err);
      } else if (storeUnreachable(err)) {
        // a shared store out of reach (PostgreSQL down): the client may retry, nothing is wrong with its request
        this.log.warn({ method, path, err: { message: (err as Error).message } }, 'API request failed: the store is unreachable');
        sendError(res, new ApiError(503, 'ServiceUnavailable', 'the store is unreachable; retry later', undefined, { 'Retry-After': '1' }));
      } else {
        // never the request body, never the error's data: a message and a stack for us
        this.log.error({ method, path, err: { message: (err as Error)?.message, stack: (err as Error)?.stack } }, 'API request failed');
        sendError(res, errors.internal());
      }
    }
  }

  private send(res: ServerResponse, reply: Reply): void {
    const headers: Record<string, string | string[]> = {};
    if (reply.warnings && reply.warnings.length > 0) headers.Warning = reply.warnings.map(warningHeader);
    sendJson(res, reply.code, reply.body, headers);
  }

  /** Endpoints without a token. Returns true when it answered. */
  private async open(method: string, path: string, res: ServerResponse): Promise<boolean> {
    if (method !== 'GET' && method !== 'HEAD') return false;
    if (path === '/healthz' || path === '/livez') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      return true;
    }
    if (path === '/readyz') {
      const ready = this.deps.ready();
      const role = this.deps.role?.();
      const first = ready ? 'ok' : 'not ready';
      if (!role) res.writeHead(ready ? 200 : 503, { 'Content-Type': 'text/plain' }).end(first);
      else {
        const body = `${first}\nrole: ${role.role}\n${role.reason ? `reason: ${role.reason}\n` : ''}`;
        res.writeHead(ready ? 200 : 503, { 'Content-Type': 'text/plain', 'X-Acictl-Role': role.role }).end(body);
      }
      return true;
    }
    if (path === '/metrics') {
      const m = await this.deps.metrics();
      res.writeHead(200, { 'Content-Type': m.contentType }).end(m.body);
      return true;
    }
    return false;
  }

  private async route(r: Request, path: string): Promise<Reply | undefined> {
    const { method } = r;
    const get = method === 'GET' || method === 'HEAD';
    const only = (allowed: boolean, what: string): void => {
      if (!allowed) throw errors.methodNotAllowed(method, what);
    };
    switch (path) {
      case '/api':
        only(get, path);
        return { code: 200, body: apiVersions() };
      case '/apis':
        only(get, path);
        return { code: 200, body: apiGroupList() };
      case '/apis/acictl.dev':
        only(get, path);
        return { code: 200, body: apiGroup() };
      case '/apis/acictl.dev/v1':
        only(get, path);
        return { code: 200, body: apiResourceList() };
      case '/acictl/v1/sources':
        only(get, path);
        return { code: 200, body: { kind: 'SourceList', items: this.deps.sources?.() ?? [] } };
      case '/acictl/v1/leases':
        only(get, path);
        return { code: 200, body: (await this.deps.leases?.()) ?? { kind: 'LeaseList', apiVersion: 'acictl.dev/v1', store: 'sqlite', items: [] } };
      case '/version':
        only(get, path);
        return { code: 200, body: versionInfo(this.deps.version ?? '0.1.0') };
      case '/openapi/v2':
        only(get, path);
        // kubectl asks for protobuf only; answering JSON to that would be misparsed, so say no
        if (!acceptsJson(r.req.headers.accept)) throw errors.notAcceptable();
        return this.raw(r.res, this.v2);
      case '/openapi/v3':
        only(get, path);
        if (!acceptsJson(r.req.headers.accept)) throw errors.notAcceptable();
        return this.raw(r.res, this.v3Index);
      case '/openapi/v3/apis/acictl.dev/v1':
        only(get, path);
        if (!acceptsJson(r.req.headers.accept)) throw errors.notAcceptable();
        return this.raw(r.res, this.v3, r.query.get('hash') === this.v3Hash);
    }
    const prefix = '/apis/acictl.dev/v1/';
    if (!path.startsWith(prefix)) throw errors.pathNotFound(path);
    const parts = path.slice(prefix.length).split('/').map(decodeSegment);
    const [resource, name, sub, ...rest] = parts;
    if (rest.length > 0) throw errors.pathNotFound(path);
    const res = this.resources;
    if (resource === 'containerjobs') {
      if (name === undefined) {
        if (get) return res.listJobs(r);
        only(method === 'POST', 'containerjobs');
        return res.createJob(r);
      }
      if (sub === undefined) {
        if (get) return res.getJob(r, name);
        if (method === 'PUT') return res.replaceJob(r, name);
        if (method === 'PATCH') return res.patchJob(r, name);
        if (method === 'DELETE') return res.deleteJob(r, name);
        throw errors.methodNotAllowed(method, 'containerjobs/NAME');
      }
      if (sub === 'status') {
        if (get) return res.getStatus(r, name);
        if (method === 'PUT') return res.replaceStatus(r, name);
        if (method === 'PATCH') return res.patchStatus(r, name);
        throw errors.methodNotAllowed(method, 'containerjobs/NAME/status');
      }
      if (sub === 'events') {
        only(get, 'containerjobs/NAME/events (read-only)');
        return res.jobEvents(r, name);
      }
      if (sub === 'notifications') {
        only(get, 'containerjobs/NAME/notifications (read-only)');
        return res.jobNotifications(name);
      }
      if (sub === 'backfill') {
        only(method === 'POST', 'containerjobs/NAME/backfill');
        return backfill(this.deps.operator, r, name);
      }
      if (sub === 'trigger' || sub === 'suspend' || sub === 'resume') {
        only(method === 'POST', `containerjobs/NAME/${sub}`);
        return sub === 'trigger' ? res.trigger(r, name) : res.suspend(r, name, sub === 'suspend');
      }
      throw errors.pathNotFound(path);
    }
    if (resource === 'containerjobruns') {
      if (name === undefined) {
        only(get, 'containerjobruns (read-only)');
        return res.listRuns(r);
      }
      if (sub === undefined) {
        only(get, 'containerjobruns (read-only)');
        return res.getRun(r, name);
      }
      if (sub === 'clear' || sub === 'cancel') {
        only(method === 'POST', `containerjobruns/NAME/${sub}`);
        return runVerb(this.deps.operator, r, sub, name);
      }
      if (sub === 'log') {
        only(get, 'containerjobruns/NAME/log');
        await res.runLog(r, name);
        return undefined;
      }
      throw errors.pathNotFound(path);
    }
    throw errors.pathNotFound(path);
  }

  private raw(res: ServerResponse, text: string, immutable = false): undefined {
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': immutable ? 'public, immutable' : 'no-cache, private',
    });
    res.end(text);
    return undefined;
  }
}

export interface ApiListen {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /**
   * Whether the address is reachable from other machines: then requests that need the token are
   * refused over plain HTTP (403) and served over HTTPS only. Default: `!isLoopbackHost(host)`.
   * Tests set it to bind 127.0.0.1 while behaving as a public listener.
   */
  exposed?: boolean;
}

/** Start the API server on `listen`. */
export async function startApiServer(deps: ApiServerDeps, listen: ApiListen): Promise<ApiServer> {
  const schema = loadJobSchema(deps.schemaFile);
  if (!schema.file) (deps.logger ?? silent).warn({ file: deps.schemaFile }, 'ContainerJob schema not found; OpenAPI describes spec loosely');
  const exposed = listen.exposed ?? !isLoopbackHost(listen.host);
  if (exposed && !deps.tls) throw new Error(`the API on non-loopback address ${listen.host} needs TLS (the bearer token must not cross a network in clear text)`);
  const handler = new ApiHandler(deps, schema, exposed, await WatchHub.open(deps.store));
  const sockets = new Set<Socket>();
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    void handler.handle(req, res);
  };
  const options = { requestTimeout: 0, headersTimeout: 30_000 };
  const httpServer = createServer(options, onRequest);
  const httpsServer = deps.tls ? createHttpsServer({ ...options, cert: deps.tls.cert, key: deps.tls.key }, onRequest) : undefined;
  for (const s of [httpServer, httpsServer]) {
    s?.on('clientError', (_err, socket) => {
      if (socket.writable && s === httpServer) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }
  // one port, two protocols: a TLS handshake starts with byte 0x16, an HTTP request never does
  const server = createNetServer({ pauseOnConnect: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      (first[0] === 0x16 && httpsServer ? httpsServer : httpServer).emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
    socket.resume();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  if (exposed) (deps.logger ?? silent).warn({ host: listen.host }, 'the API listens on a non-loopback address: requests with the token are served over HTTPS only');
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' || addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${addr.port}`,
    ...(deps.tls ? { httpsUrl: `https://${host}:${addr.port}`, ca: deps.tls.cert } : {}),
    close(): Promise<void> {
      closed ??= new Promise<void>((resolve) => {
        handler.hub.close();
        deps.ui?.close?.();
        for (const res of handler.streams) res.end();
        server.close(() => resolve());
        httpServer.closeIdleConnections();
        httpsServer?.closeIdleConnections();
        setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, 200).unref();
      });
      return closed;
    },
  };
}
