/**
 * The web UI, mounted on the API port (src/apiserver calls `handle` first and asks `authenticate`
 * about every API request). Its own paths: `/` (the app), `/login`, `/logout`, `/ui/static/*` and
 * the JSON views under `/ui/api/*`. Everything but the login page needs a session; the login page
 * shows no data. The browser talks to the ordinary API for actions (trigger, suspend, resume),
 * logs and watches, with the session cookie and, for every state-changing request, the CSRF proof.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { Store } from '../store/types';
import { APP_CSP, LOGIN_CSP, appPage, loginPage } from './pages';
import { Sessions, type Session } from './session';
import { JobRowIndex, jobDetail, listJobRows, runDetail, type JobQuery } from './views';

export interface WebUiOptions {
  store: Store;
  token: string;
  now?: () => number;
  /** Where app.js and app.css are read from (default: this package's dist/ui-static and src/ui). */
  assets?: { js: string; css: string };
}

/** What the API server needs from the UI. */
export interface UiMount {
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
  authenticate(req: IncomingMessage): 'session' | 'forbidden' | 'none';
}

function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'schemas'))) return dir;
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cache-Control': 'no-store',
};

function stateChanging(method: string): boolean {
  return !(method === 'GET' || method === 'HEAD' || method === 'OPTIONS');
}

async function readForm(req: IncomingMessage, limit = 16 * 1024): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > limit) throw new Error('form too large');
    chunks.push(c);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export class WebUi implements UiMount {
  readonly sessions: Sessions;
  private readonly store: Store;
  private readonly assets: { js: string; css: string };
  private cache = new Map<string, Buffer>();
  private readonly index: JobRowIndex;

  constructor(opts: WebUiOptions) {
    this.store = opts.store;
    this.sessions = new Sessions(opts.token, opts.now ?? Date.now);
    this.index = new JobRowIndex(opts.store);
    const root = packageRoot();
    this.assets = opts.assets ?? { js: join(root, 'dist/ui-static/app.js'), css: join(root, 'src/ui/app.css') };
  }

  /** Stop following the store's changes. */
  close(): void {
    this.index.close();
  }

  /** A single-use login link for `baseUrl` (https://HOST:PORT). */
  loginLink(baseUrl: string): string {
    return `${baseUrl}/login?token=${this.sessions.loginCode()}`;
  }

  authenticate(req: IncomingMessage): 'session' | 'forbidden' | 'none' {
    const session = this.sessions.fromRequest(req);
    if (!session) return 'none';
    if (stateChanging(req.method ?? 'GET') && !this.sessions.csrfOk(req, session)) return 'forbidden';
    return 'session';
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path === '/login') {
      await this.login(req, res, url, method);
      return true;
    }
    if (path !== '/' && path !== '/logout' && !path.startsWith('/ui/')) return false;
    const session = this.sessions.fromRequest(req);
    if (!session) {
      req.resume();
      if (path === '/' && (method === 'GET' || method === 'HEAD')) {
        res.writeHead(302, { Location: '/login', ...SECURITY_HEADERS }).end();
      } else {
        this.json(res, 401, { error: 'Unauthorized', message: 'log in first: /login' });
      }
      return true;
    }
    if (stateChanging(method) && !this.sessions.csrfOk(req, session)) {
      req.resume();
      this.json(res, 403, { error: 'Forbidden', message: 'missing or wrong CSRF proof' });
      return true;
    }
    try {
      await this.route(req, res, url, method, session);
    } catch (err) {
      if (err instanceof URIError) {
        this.json(res, 400, { error: 'BadRequest', message: 'malformed percent-encoding in the path' });
        return true;
      }
      if (!res.headersSent) this.json(res, 500, { error: 'InternalError', message: 'the UI could not answer; see the controller log' });
      else res.destroy();
    }
    return true;
  }

  private async login(req: IncomingMessage, res: ServerResponse, url: URL, method: string): Promise<void> {
    let secret: string | null = null;
    if (method === 'POST') {
      try {
        secret = (await readForm(req)).get('token');
      } catch {
        secret = null;
      }
    } else if (method === 'GET' || method === 'HEAD') {
      secret = url.searchParams.get('token');
      req.resume();
    } else {
      req.resume();
      res.writeHead(405, { Allow: 'GET, POST', ...SECURITY_HEADERS }).end();
      return;
    }
    if (secret === null || secret === '') {
      this.html(res, 200, loginPage(), LOGIN_CSP);
      return;
    }
    if (!this.sessions.acceptLogin(secret.trim())) {
      this.html(res, 401, loginPage('That token or login link is not valid (a login link works once). Paste the token from the state dir.'), LOGIN_CSP);
      return;
    }
    const secure = Boolean((req.socket as TLSSocket).encrypted);
    const { cookie } = this.sessions.create(secure);
    // 303: the address bar ends at "/", the token is not kept in history
    res.writeHead(303, { Location: '/', 'Set-Cookie': cookie, ...SECURITY_HEADERS }).end();
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL, method: string, session: Session): Promise<void> {
    const path = url.pathname;
    const get = method === 'GET' || method === 'HEAD';
    if (path === '/logout') {
      req.resume();
      if (method !== 'POST') {
        res.writeHead(405, { Allow: 'POST', ...SECURITY_HEADERS }).end();
        return;
      }
      res.writeHead(204, { 'Set-Cookie': this.sessions.clearCookie(), ...SECURITY_HEADERS }).end();
      return;
    }
    if (!get) {
      req.resume();
      this.json(res, 405, { error: 'MethodNotAllowed', message: `${method} is not allowed on ${path}` });
      return;
    }
    if (path === '/') {
      this.html(res, 200, appPage(session.csrf), APP_CSP);
      return;
    }
    if (path === '/ui/static/app.js') return this.asset(res, this.assets.js, 'text/javascript; charset=utf-8');
    if (path === '/ui/static/app.css') return this.asset(res, this.assets.css, 'text/css; charset=utf-8');
    if (path === '/ui/api/jobs') {
      const q = url.searchParams;
      const sort = q.get('sort');
      const query: JobQuery = {
        q: q.get('q') ?? '',
        sort: sort === 'next' || sort === 'last' || sort === 'state' ? sort : 'name',
        dir: q.get('dir') === 'desc' ? 'desc' : 'asc',
        offset: Number(q.get('offset') ?? 0) || 0,
        limit: Number(q.get('limit') ?? 50) || 50,
        cells: Number(q.get('cells') ?? 10) || 10,
      };
      this.json(res, 200, await listJobRows(this.store, query, this.index));
      return;
    }
    const job = /^\/ui\/api\/jobs\/([^/]+)$/.exec(path);
    if (job) {
      const d = await jobDetail(this.store, decodeURIComponent(job[1]!), Math.max(1, Math.min(Number(url.searchParams.get('cells') ?? 30) || 30, 200)));
      if (!d) this.json(res, 404, { error: 'NotFound', message: 'no such job' });
      else this.json(res, 200, d);
      return;
    }
    const run = /^\/ui\/api\/runs\/([^/]+)$/.exec(path);
    if (run) {
      const d = await runDetail(this.store, decodeURIComponent(run[1]!));
      if (!d) this.json(res, 404, { error: 'NotFound', message: 'no such run' });
      else this.json(res, 200, d);
      return;
    }
    this.json(res, 404, { error: 'NotFound', message: `no UI page at ${path}` });
  }

  private asset(res: ServerResponse, file: string, type: string): void {
    let body = this.cache.get(file);
    if (!body) {
      try {
        body = readFileSync(file);
      } catch {
        this.json(res, 500, { error: 'InternalError', message: 'the UI assets are not built (npm run build)' });
        return;
      }
      this.cache.set(file, body);
    }
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length, ...SECURITY_HEADERS, 'Cache-Control': 'private, no-cache' });
    res.end(body);
  }

  private html(res: ServerResponse, code: number, text: string, csp: string): void {
    res.writeHead(code, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Content-Security-Policy': csp, ...SECURITY_HEADERS });
    res.end(text);
  }

  private json(res: ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...SECURITY_HEADERS });
    res.end(text);
  }
}
