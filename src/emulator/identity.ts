/**
 * Token issuing for `@azure/identity`: the App Service managed-identity protocol
 * (GET IDENTITY_ENDPOINT?api-version=2019-08-01&resource=… with header X-IDENTITY-HEADER) on a plain
 * http loopback server, and an OIDC discovery document + client-credentials token endpoint (served
 * by the HTTPS server) for ClientSecretCredential with `authorityHost`.
 * Tokens are JWT-shaped and HMAC-signed with a per-process key. With `auth: 'issued'` the ARM API
 * accepts only tokens `verify` recognises (signed by this process, this issuer, not expired);
 * with `auth: 'any'` (the default of a standalone emulator, for fixed-token test clients) any
 * bearer token.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { EMULATOR_TENANT_ID } from './model';

const TOKEN_LIFETIME_S = 24 * 3600;

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

export class TokenIssuer {
  private readonly key = randomBytes(32);

  constructor(private readonly issuer: string, private readonly nowMs: () => number) {}

  issue(resource: string, subject: string): { token: string; expiresOn: number } {
    const iat = Math.floor(this.nowMs() / 1000);
    const exp = iat + TOKEN_LIFETIME_S;
    const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const body = b64url(JSON.stringify({ aud: resource, iss: this.issuer, iat, nbf: iat, exp, sub: subject, oid: subject, tid: EMULATOR_TENANT_ID }));
    const sig = createHmac('sha256', this.key).update(`${head}.${body}`).digest('base64url');
    return { token: `${head}.${body}.${sig}`, expiresOn: exp };
  }

  /** Whether `token` is one this issuer signed and it has not expired (`expired` when only that fails). */
  verify(token: string): 'ok' | 'invalid' | 'expired' {
    const parts = token.split('.');
    if (parts.length !== 3) return 'invalid';
    const [head, body, sig] = parts as [string, string, string];
    const want = createHmac('sha256', this.key).update(`${head}.${body}`).digest();
    const got = Buffer.from(sig, 'base64url');
    if (got.length !== want.length || !timingSafeEqual(got, want)) return 'invalid';
    let claims: { iss?: unknown; exp?: unknown; nbf?: unknown };
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as typeof claims;
    } catch {
      return 'invalid';
    }
    if (claims.iss !== this.issuer || typeof claims.exp !== 'number') return 'invalid';
    const now = Math.floor(this.nowMs() / 1000);
    if (typeof claims.nbf === 'number' && claims.nbf > now + 300) return 'invalid';
    return claims.exp > now ? 'ok' : 'expired';
  }
}

/** The `aud` claim of a JWT-shaped token (not verified: call `verify` first), or undefined. */
export function tokenAudience(token: string): string | undefined {
  try {
    const aud = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { aud?: unknown }).aud;
    return typeof aud === 'string' ? aud : undefined;
  } catch {
    return undefined;
  }
}

/** `resource` from a scope: "https://management.azure.com/.default" → "https://management.azure.com/". */
export function scopeToResource(scope: string): string {
  return scope.endsWith('/.default') ? scope.slice(0, -'.default'.length) : scope;
}

export function openIdConfiguration(base: string, tenant: string): object {
  return {
    issuer: `${base}/${tenant}/v2.0`,
    authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/authorize`,
    token_endpoint: `${base}/${tenant}/oauth2/v2.0/token`,
    jwks_uri: `${base}/${tenant}/discovery/v2.0/keys`,
    response_types_supported: ['code', 'id_token', 'token id_token'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    tenant_region_scope: 'NA',
    cloud_instance_name: 'emulator',
  };
}
