/**
 * Browser sessions of the web UI. The bearer token is exchanged once (a login link or the login
 * form) for a cookie; the cookie is signed with a key derived from the token, so a new token ends
 * every session and a restart keeps them. Each session has a CSRF proof derived from its id: the
 * page reads it from a <meta> tag and sends it as `X-CSRF-Token` on every state-changing request.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const SESSION_COOKIE = 'acictl_session';
export const CSRF_HEADER = 'x-csrf-token';
/** A session lasts this long after login. */
export const SESSION_MS = 12 * 3_600_000;

export interface Session {
  id: string;
  issuedAt: number;
  csrf: string;
}

function mac(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text).digest('base64url');
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Cookie header → value of `name` (first occurrence). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export class Sessions {
  private readonly key: Buffer;
  private readonly tokenKey: Buffer;
  /** One-time login codes (the logged login link), by code → expiry. */
  private readonly codes = new Map<string, number>();

  constructor(private readonly token: string, private readonly now: () => number) {
    this.key = createHmac('sha256', token).update('acictl-ui-session-v1').digest();
    this.tokenKey = randomBytes(32);
  }

  /** A fresh single-use login code, valid for `ttlMs` (the login link the controller logs). */
  loginCode(ttlMs = 24 * 3_600_000): string {
    const code = randomBytes(24).toString('base64url');
    this.codes.set(code, this.now() + ttlMs);
    return code;
  }

  /** Whether `secret` is the API token or an unused, unexpired login code (which it then uses up). */
  acceptLogin(secret: string): boolean {
    // compare digests: equal length, constant time, whatever was typed
    const d = (s: string): Buffer => createHmac('sha256', this.tokenKey).update(s).digest();
    if (timingSafeEqual(d(secret), d(this.token))) return true;
    const expiry = this.codes.get(secret);
    if (expiry === undefined) return false;
    this.codes.delete(secret);
    return expiry > this.now();
  }

  /** A new session and its Set-Cookie value. */
  create(secure: boolean): { session: Session; cookie: string } {
    const id = randomBytes(18).toString('base64url');
    const issuedAt = this.now();
    const body = `${issuedAt}.${id}`;
    const value = `${body}.${mac(this.key, body)}`;
    const attrs = [`${SESSION_COOKIE}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${Math.floor(SESSION_MS / 1000)}`];
    if (secure) attrs.push('Secure');
    return { session: { id, issuedAt, csrf: this.csrfOf(id) }, cookie: attrs.join('; ') };
  }

  /** The Set-Cookie value that ends a session. */
  clearCookie(): string {
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
  }

  /** The session a request's cookie carries, if it is genuine and not expired. */
  fromRequest(req: IncomingMessage): Session | undefined {
    const value = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (!value) return undefined;
    const m = /^(\d{1,16})\.([A-Za-z0-9_-]{10,64})\.([A-Za-z0-9_-]{20,64})$/.exec(value);
    if (!m) return undefined;
    const issuedAt = Number(m[1]);
    if (!same(m[3]!, mac(this.key, `${m[1]}.${m[2]}`))) return undefined;
    const now = this.now();
    if (issuedAt > now + 60_000 || now - issuedAt > SESSION_MS) return undefined;
    return { id: m[2]!, issuedAt, csrf: this.csrfOf(m[2]!) };
  }

  private csrfOf(id: string): string {
    return mac(this.key, `csrf:${id}`);
  }

  /**
   * Whether a state-changing request made with `session` proves it came from the UI's own page:
   * the CSRF header matches, and the browser does not say the request is cross-site.
   */
  csrfOk(req: IncomingMessage, session: Session): boolean {
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') return false;
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== 'null') {
      let host: string;
      try {
        host = new URL(origin).host;
      } catch {
        return false;
      }
      if (host !== req.headers.host) return false;
    } else if (origin === 'null') return false;
    const proof = req.headers[CSRF_HEADER];
    return typeof proof === 'string' && same(proof, session.csrf);
  }
}
