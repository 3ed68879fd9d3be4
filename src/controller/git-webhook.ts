/**
 * `POST /hooks/git`: a push notification that makes every git source fetch at once.
 *
 * Authenticated by an HMAC-SHA256 of the raw body under a shared secret, sent as
 * `X-Hub-Signature-256: sha256=<hex>` (GitHub's header; Gitea and Forgejo send the same, GitLab users
 * can point a system hook through any signer). The body itself is not interpreted: whichever
 * repository was pushed, a fetch of each source is cheap when nothing changed. Answers 202 once the
 * fetches are started, 401 for a missing or wrong signature, 404 when no secret is configured.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

const MAX_BODY = 1 << 20;

export interface GitWebhookOptions {
  /** The shared secret, read at each request (a rotated file is picked up); undefined = hook off. */
  secret(): string | undefined;
  /** Start the fetches (not awaited by the response). */
  trigger(): void;
}

export function signGitWebhook(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function reply(res: ServerResponse, code: number, message: string): void {
  res.writeHead(code, { 'Content-Type': 'application/json' }).end(JSON.stringify({ message }) + '\n');
}

/** The `hooks` dependency of the API server for `/hooks/git`. */
export function gitWebhookHandler(o: GitWebhookOptions): (method: string, path: string, req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (method, path, req, res) => {
    if (path !== '/hooks/git') return false;
    const secret = o.secret()?.trim();
    if (!secret) {
      req.resume();
      reply(res, 404, 'the git webhook is not enabled (--git-webhook-secret-from)');
      return true;
    }
    if (method !== 'POST') {
      req.resume();
      reply(res, 405, 'POST only');
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_BODY) {
        reply(res, 413, 'body too large');
        req.destroy();
        return true;
      }
      chunks.push(c as Buffer);
    }
    const body = Buffer.concat(chunks);
    const given = String(req.headers['x-hub-signature-256'] ?? '');
    const want = signGitWebhook(secret, body);
    const ok = given.length === want.length && timingSafeEqual(Buffer.from(given), Buffer.from(want));
    if (!ok) {
      reply(res, 401, 'missing or wrong X-Hub-Signature-256');
      return true;
    }
    o.trigger();
    reply(res, 202, 'fetching');
    return true;
  };
}
