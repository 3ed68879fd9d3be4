/**
 * A small client of the controller's Kubernetes-shaped HTTP API. Transport failures and a
 * rejected token become CliErrors with exit 3 right here; every other non-2xx answer becomes an
 * ApiError (a Kubernetes Status) that the command decides about.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { CliError, EXIT } from '../context';
import type { ServerTarget } from './discovery';

export const API_BASE = '/apis/acictl.dev/v1';

/** A Kubernetes `Status` failure. */
export interface StatusBody {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string; causes?: { field?: string; message?: string; reason?: string }[] };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: StatusBody,
  ) {
    super(body.message || `HTTP ${status}${body.reason ? ` ${body.reason}` : ''}`);
    this.name = 'ApiError';
  }

  get reason(): string | undefined {
    return this.body.reason;
  }

  /** The message with field causes appended (what a user needs to fix an invalid object). */
  detail(): string {
    const causes = this.body.details?.causes ?? [];
    const extra = causes
      .filter((c) => c.message && !this.message.includes(c.message))
      .map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
    return extra.length ? `${this.message} (${extra.join('; ')})` : this.message;
  }

  /** Exit code of DESIGN §4: client-side refusals are the command's negative answer, server faults are 3. */
  exitCode(): number {
    return this.status >= 500 ? EXIT.UNREACHABLE : EXIT.NEGATIVE;
  }
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Milliseconds until the response headers must have arrived (default 30 s). */
  timeoutMs?: number;
}

export interface StreamResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Text chunks as they arrive. */
  chunks: AsyncIterable<string>;
}

const DEFAULT_TIMEOUT_MS = 30_000;

function transportMessage(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ETIMEDOUT':
    case 'ESOCKETTIMEDOUT':
      return 'timed out';
    case 'ECONNRESET':
      return 'connection reset';
    default:
      return err.code ? `${err.code}: ${err.message}` : err.message;
  }
}

export class ApiClient {
  constructor(readonly target: ServerTarget) {}

  /** Where the controller was looked for, for messages. */
  describeTarget(): string {
    return this.target.source === 'kubeconfig' ? `${this.target.server} (from ${this.target.kubeconfig})` : this.target.server;
  }

  private url(pathname: string, query?: RequestOptions['query']): URL {
    const url = new URL(this.target.server + pathname);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  /** Sends a request and resolves with the response once headers arrive (body unread). */
  private send(method: string, pathname: string, opts: RequestOptions): Promise<http.IncomingMessage> {
    const url = this.url(pathname, opts.query);
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.target.token) headers.Authorization = `Bearer ${this.target.token}`;
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const isHttps = url.protocol === 'https:';
    const options: https.RequestOptions = { method, headers, signal: opts.signal };
    if (isHttps) {
      if (this.target.ca) options.ca = this.target.ca;
      if (this.target.insecureSkipTlsVerify) options.rejectUnauthorized = false;
    }
    return new Promise((resolve, reject) => {
      const req = (isHttps ? https : http).request(url, options, (res) => {
        clearTimeout(timer);
        resolve(res);
      });
      const timer = setTimeout(() => {
        req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' }));
      }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (err.name === 'AbortError') return reject(err);
        reject(new CliError(`cannot reach the controller at ${this.describeTarget()}: ${transportMessage(err)}`, EXIT.UNREACHABLE));
      });
      req.end(payload);
    });
  }

  private async readAll(res: http.IncomingMessage): Promise<string> {
    res.setEncoding('utf8');
    let text = '';
    for await (const chunk of res) text += chunk as string;
    return text;
  }

  private async failure(res: http.IncomingMessage): Promise<never> {
    const text = await this.readAll(res).catch(() => '');
    let body: StatusBody = {};
    try {
      body = JSON.parse(text) as StatusBody;
    } catch {
      body = { message: text.trim().split('\n')[0] || undefined };
    }
    const status = res.statusCode ?? 0;
    if (status === 401) {
      const how = this.target.token ? 'the token was rejected' : 'no token was sent';
      throw new CliError(
        `the controller at ${this.describeTarget()} refused the request (401 Unauthorized): ${how}; ` +
          `check --token, ACICTL_TOKEN or the token in the state dir's kubeconfig`,
        EXIT.UNREACHABLE,
      );
    }
    throw new ApiError(status, body);
  }

  /** A JSON request; throws ApiError on a non-2xx answer. */
  async request<T = unknown>(method: string, pathname: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, pathname, opts);
    if ((res.statusCode ?? 0) >= 300) return this.failure(res);
    const text = await this.readAll(res);
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(`the controller at ${this.describeTarget()} sent a response that is not JSON (${method} ${pathname})`, EXIT.UNREACHABLE);
    }
  }

  /** A streamed request (logs, watches); throws ApiError on a non-2xx answer. */
  async stream(method: string, pathname: string, opts: RequestOptions = {}): Promise<StreamResponse> {
    const res = await this.send(method, pathname, opts);
    if ((res.statusCode ?? 0) >= 300) return this.failure(res);
    res.setEncoding('utf8');
    async function* chunks(): AsyncIterable<string> {
      try {
        for await (const chunk of res) yield chunk as string;
      } catch (err) {
        // The stream ends when the caller aborts; anything else is a broken connection.
        if ((err as Error).name === 'AbortError' || opts.signal?.aborted) return;
        throw new CliError(`the connection to the controller broke: ${(err as Error).message}`, EXIT.UNREACHABLE);
      }
    }
    return { status: res.statusCode ?? 0, headers: res.headers, chunks: chunks() };
  }
}

/** Splits a chunk stream into lines (the trailing partial line is emitted at the end). */
export async function* lines(chunks: AsyncIterable<string>): AsyncIterable<string> {
  let buf = '';
  for await (const chunk of chunks) {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      yield buf.slice(0, nl);
      buf = buf.slice(nl + 1);
    }
  }
  if (buf) yield buf;
}
