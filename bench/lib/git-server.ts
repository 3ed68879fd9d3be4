/**
 * A real Git server on loopback for tests and benchmarks: `git http-backend` (the smart HTTP protocol) behind a
 * tiny node HTTP server, optionally requiring HTTP Basic auth with a token as the password.
 * Pushes in tests go straight to the bare repositories on disk; the controller fetches over HTTP.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

export interface GitHttpServer {
  url: string;
  requests: number;
  /** Authorization headers seen (to prove the token was sent). */
  authSeen: number;
  close(): Promise<void>;
}

export async function startGitHttpServer(opts: { projectRoot: string; token?: string; port?: number }): Promise<GitHttpServer> {
  const sockets = new Set<Socket>();
  const state = { requests: 0, authSeen: 0 };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    state.requests++;
    const u = new URL(req.url ?? '/', 'http://localhost');
    if (opts.token !== undefined) {
      const h = req.headers.authorization ?? '';
      const m = /^Basic (.+)$/.exec(h);
      const pass = m ? Buffer.from(m[1], 'base64').toString().split(':').slice(1).join(':') : '';
      if (m) state.authSeen++;
      if (pass !== opts.token) {
        req.resume();
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end('unauthorized\n');
        return;
      }
    }
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: opts.projectRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: decodeURIComponent(u.pathname),
      QUERY_STRING: u.search.replace(/^\?/, ''),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_ADDR: '127.0.0.1',
      REMOTE_USER: 'test',
      GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
      HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
    };
    const cgi = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'ignore'] });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headerDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headerDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      let idx = head.indexOf('\r\n\r\n');
      let sepLen = 4;
      if (idx < 0) {
        idx = head.indexOf('\n\n');
        sepLen = 2;
      }
      if (idx < 0) return;
      headerDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, idx).toString().split(/\r?\n/)) {
        const k = line.indexOf(':');
        if (k < 0) continue;
        const name = line.slice(0, k).trim();
        const value = line.slice(k + 1).trim();
        if (name.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(idx + sepLen));
    });
    cgi.on('close', () => {
      if (!headerDone) res.writeHead(500).end();
      else res.end();
    });
    cgi.on('error', () => res.destroy());
  };
  const server = createServer(handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    get authSeen() {
      return state.authSeen;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A bare repository `<root>/<name>.git` and a working clone of it at `<work>`, pushing to it directly. */
export class TestRepo {
  readonly bare: string;

  constructor(root: string, name: string, readonly work: string) {
    this.bare = path.join(root, `${name}.git`);
    mkdirSync(this.bare, { recursive: true });
    git(this.bare, 'init', '--bare', '--quiet', '--initial-branch=main');
    mkdirSync(work, { recursive: true });
    git(work, 'init', '--quiet', '--initial-branch=main');
    git(work, 'config', 'user.email', 'test@example.com');
    git(work, 'config', 'user.name', 'test');
    git(work, 'config', 'commit.gpgsign', 'false');
    git(work, 'remote', 'add', 'origin', this.bare);
  }

  /**
   * Write (string) or delete (null) files, commit, push; returns the commit id. `sign`: `git -c K=V ...
   * commit -S` with these settings (e.g. gpg.format=ssh, user.signingkey=FILE) and extra environment (GNUPGHOME).
   */
  commit(files: Record<string, string | null>, message = 'change', sign?: { config: string[]; env?: Record<string, string> }): string {
    for (const [f, content] of Object.entries(files)) {
      const p = path.join(this.work, f);
      if (content === null) git(this.work, 'rm', '--quiet', '-f', f);
      else {
        mkdirSync(path.dirname(p), { recursive: true });
        writeFileSync(p, content);
        git(this.work, 'add', f);
      }
    }
    if (sign) {
      execFileSync('git', [...sign.config.flatMap((c) => ['-c', c]), 'commit', '--quiet', '--allow-empty', '-S', '-m', message], {
        cwd: this.work,
        encoding: 'utf8',
        env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', ...sign.env },
      });
    } else git(this.work, 'commit', '--quiet', '--allow-empty', '-m', message);
    git(this.work, 'push', '--quiet', 'origin', 'HEAD:main');
    return git(this.work, 'rev-parse', 'HEAD').trim();
  }

  /** Point the remote's main at `commit` (a force-push); the working clone follows. */
  forcePush(commit: string): void {
    git(this.work, 'reset', '--quiet', '--hard', commit);
    git(this.work, 'push', '--quiet', '--force', 'origin', 'HEAD:main');
  }

  deleteBranch(): void {
    git(this.work, 'push', '--quiet', 'origin', 'HEAD:refs/heads/keep');
    git(this.bare, 'symbolic-ref', 'HEAD', 'refs/heads/keep');
    git(this.work, 'push', '--quiet', 'origin', ':main');
  }
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' } });
}
