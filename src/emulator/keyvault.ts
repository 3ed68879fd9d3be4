/**
 * A minimal Azure Key Vault secrets data plane (issue 19), served on the emulator's HTTPS port under
 * `/_keyvault/{vault}` so the real `@azure/keyvault-secrets` SecretClient works against it with
 * `vaultUrl = {endpoint}/_keyvault/{vault}` (and `disableChallengeResourceVerification`, the host
 * being loopback, not `*.vault.azure.net`):
 * - a request without a bearer token gets Key Vault's 401 challenge (`WWW-Authenticate: Bearer
 *   authorization=…, resource="https://vault.azure.net"`), as the SDK expects;
 * - `PUT  /secrets/{name}` {value} → a new version (200, the secret bundle);
 * - `GET  /secrets/{name}[/{version}]` → the latest or the given version; 404 `SecretNotFound`;
 *   403 `Forbidden` for a secret the test denied (an access policy without `get`).
 * With `auth: 'issued'` (the controller's embedded emulator) only tokens the emulator's identity
 * endpoint issued for the vault resource (`aud` https://vault.azure.net) are accepted, as a real
 * vault refuses an ARM token; otherwise 401 with the challenge.
 * Values are kept in memory only and never logged. Requests are counted per operation.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tokenAudience, type TokenIssuer } from './identity';

const VAULT_AUDIENCE = 'https://vault.azure.net';

const PREFIX = '/_keyvault/';
const TENANT = '00000000-0000-0000-0000-000000000000';

interface Version {
  id: string;
  value: string;
  created: number;
}

export class KeyVaultData {
  private readonly vaults = new Map<string, Map<string, Version[]>>();
  private readonly denied = new Set<string>();
  readonly requests: Record<string, number> = {};

  constructor(
    private readonly endpoint: () => string,
    private readonly now: () => number = Date.now,
    private readonly auth: { mode: 'issued' | 'any'; tokens?: TokenIssuer } = { mode: 'any' },
  ) {}

  /** Why the bearer token is refused in 'issued' mode, or undefined when it is accepted. */
  private refusal(token: string): string | undefined {
    if (this.auth.mode !== 'issued' || !this.auth.tokens) return undefined;
    const verdict = this.auth.tokens.verify(token);
    if (verdict === 'expired') return 'The access token has expired.';
    if (verdict !== 'ok') return 'The access token is invalid: this emulator accepts only tokens its identity endpoint issued.';
    const aud = tokenAudience(token)?.replace(/\/$/, '');
    if (aud !== VAULT_AUDIENCE) return `Invalid audience. Expected ${VAULT_AUDIENCE}, found: ${aud ?? 'none'}.`;
    return undefined;
  }

  /** The vault URL a SecretClient takes. */
  vaultUrl(vault: string): string {
    return `${this.endpoint()}${PREFIX}${vault}`;
  }

  /** Store a new version of a secret (as `PUT secrets/{name}` does); returns the version id. */
  set(vault: string, name: string, value: string): string {
    const v = this.vaults.get(vault) ?? new Map<string, Version[]>();
    this.vaults.set(vault, v);
    const versions = v.get(name) ?? [];
    v.set(name, versions);
    const id = randomBytes(16).toString('hex');
    versions.push({ id, value, created: Math.floor(this.now() / 1000) });
    return id;
  }

  /** Deny `get` on a secret (403), as an access policy without the permission would. */
  deny(vault: string, name: string, denied = true): void {
    if (denied) this.denied.add(`${vault}/${name}`);
    else this.denied.delete(`${vault}/${name}`);
  }

  handles(req: IncomingMessage): boolean {
    return (req.url ?? '').startsWith(PREFIX);
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 1 << 20) chunks.push(c);
    });
    req.on('end', () => {
      try {
        this.answer(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch {
        send(res, 500, { error: { code: 'InternalServerError', message: 'Internal emulator error.' } });
      }
    });
  }

  private answer(req: IncomingMessage, res: ServerResponse, body: string): void {
    const url = new URL(req.url ?? '/', 'https://emulator.invalid');
    const m = /^\/_keyvault\/([A-Za-z0-9-]{1,64})\/secrets\/([A-Za-z0-9-]{1,127})(?:\/([A-Za-z0-9]{0,64}))?\/?$/.exec(url.pathname);
    const method = (req.method ?? 'GET').toUpperCase();
    const op = `${method} ${m ? (m[3] ? 'secretVersion' : 'secret') : 'unknown'}`;
    this.requests[op] = (this.requests[op] ?? 0) + 1;
    const bearer = /^Bearer (\S+)/.exec(req.headers.authorization ?? '');
    const refused = bearer ? this.refusal(bearer[1]!) : 'AKV10000: Request is missing a Bearer or PoP token.';
    if (refused) {
      res.setHeader('WWW-Authenticate', `Bearer authorization="https://login.microsoftonline.com/${TENANT}", resource="${VAULT_AUDIENCE}"`);
      return send(res, 401, { error: { code: 'Unauthorized', message: refused } });
    }
    if (!url.searchParams.get('api-version')) return send(res, 400, { error: { code: 'BadParameter', message: 'The api-version query parameter is missing.' } });
    if (!m) return send(res, 404, { error: { code: 'NotFound', message: `Path ${url.pathname} not found.` } });
    const [, vault, name, version] = m;
    // The SDK parses ids as https://HOST/secrets/NAME/VERSION: ids leave out the /_keyvault/VAULT part.
    const base = this.endpoint();
    const bundle = (v: Version) => ({
      value: v.value,
      id: `${base}/secrets/${name}/${v.id}`,
      attributes: { enabled: true, created: v.created, updated: v.created, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 },
      tags: {},
    });
    if (method === 'PUT' && !version) {
      let value: unknown;
      try {
        value = (JSON.parse(body) as { value?: unknown }).value;
      } catch {
        value = undefined;
      }
      if (typeof value !== 'string') return send(res, 400, { error: { code: 'BadParameter', message: 'The secret value is missing.' } });
      const id = this.set(vault, name, value);
      return send(res, 200, bundle(this.vaults.get(vault)!.get(name)!.find((v) => v.id === id)!));
    }
    if (method !== 'GET') return send(res, 405, { error: { code: 'MethodNotAllowed', message: `${method} is not supported here.` } });
    if (this.denied.has(`${vault}/${name}`)) {
      return send(res, 403, {
        error: { code: 'Forbidden', message: `The user, group or application does not have secrets get permission on key vault '${vault}'.`, innererror: { code: 'AccessDenied' } },
      });
    }
    const versions = this.vaults.get(vault)?.get(name) ?? [];
    const hit = version ? versions.find((v) => v.id === version) : versions[versions.length - 1];
    if (!hit) {
      return send(res, 404, { error: { code: 'SecretNotFound', message: `A secret with (name/id) ${name}${version ? `/${version}` : ''} was not found in this key vault.` } });
    }
    return send(res, 200, bundle(hit));
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
