/**
 * Credentials for ARM.
 *
 * - 'default': DefaultAzureCredential (environment, workload identity, managed identity, Azure CLI,
 *   …). Note that @azure/identity reads the process environment itself (AZURE_CLIENT_ID,
 *   IDENTITY_ENDPOINT, …); `env` supplies only the explicit options (tenant, managed identity client).
 * - 'clientSecret': ClientSecretCredential from options or AZURE_TENANT_ID / AZURE_CLIENT_ID /
 *   AZURE_CLIENT_SECRET in `env`; `authorityHost` for sovereign clouds or a local authority.
 * - 'managedIdentity': ManagedIdentityCredential, user-assigned when a client id is given.
 * - 'emulator': a credential for the local emulator's identity endpoint (the App Service managed
 *   identity protocol, api-version 2019-08-01) read from IDENTITY_ENDPOINT / IDENTITY_HEADER in
 *   `env` — passed explicitly, so the controller never has to put them into its own process
 *   environment (where they would redirect every other Azure credential in the process).
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { ClientSecretCredential, DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { AciError } from './types';

export type CredentialKind = 'default' | 'clientSecret' | 'managedIdentity' | 'emulator';

export interface CreateCredentialOptions {
  kind?: CredentialKind;
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  authorityHost?: string;
  managedIdentityClientId?: string;
  env: Record<string, string | undefined>;
}

export function createCredential(opts: CreateCredentialOptions): TokenCredential {
  const env = opts.env;
  switch (opts.kind ?? 'default') {
    case 'default': {
      const o: ConstructorParameters<typeof DefaultAzureCredential>[0] = {};
      const tenantId = opts.tenantId ?? env.AZURE_TENANT_ID;
      if (tenantId) Object.assign(o, { tenantId });
      if (opts.managedIdentityClientId) Object.assign(o, { managedIdentityClientId: opts.managedIdentityClientId });
      if (opts.authorityHost) Object.assign(o, { authorityHost: opts.authorityHost });
      return new DefaultAzureCredential(o);
    }
    case 'clientSecret': {
      const tenantId = opts.tenantId ?? env.AZURE_TENANT_ID;
      const clientId = opts.clientId ?? env.AZURE_CLIENT_ID;
      const clientSecret = opts.clientSecret ?? env.AZURE_CLIENT_SECRET;
      const missing = [!tenantId && 'tenant id (AZURE_TENANT_ID)', !clientId && 'client id (AZURE_CLIENT_ID)', !clientSecret && 'client secret (AZURE_CLIENT_SECRET)'].filter(Boolean);
      if (missing.length) throw new AciError('Unauthorized', `client secret credential needs ${missing.join(', ')}`, 'CredentialMissing');
      const authorityHost = opts.authorityHost ?? env.AZURE_AUTHORITY_HOST;
      return new ClientSecretCredential(tenantId!, clientId!, clientSecret!, authorityHost ? { authorityHost, disableInstanceDiscovery: true } : {});
    }
    case 'managedIdentity': {
      const clientId = opts.managedIdentityClientId ?? opts.clientId;
      return clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
    }
    case 'emulator': {
      const endpoint = env.IDENTITY_ENDPOINT;
      const header = env.IDENTITY_HEADER;
      if (!endpoint || !header) throw new AciError('Unauthorized', 'emulator credential needs IDENTITY_ENDPOINT and IDENTITY_HEADER', 'CredentialMissing');
      return new IdentityEndpointCredential({ endpoint, header });
    }
    default:
      throw new AciError('Invalid', `unknown credential kind '${String(opts.kind)}'`, 'CredentialKind');
  }
}

/**
 * A TokenCredential for an App Service–style identity endpoint (GET ?api-version=2019-08-01&resource=…
 * with header X-IDENTITY-HEADER → {access_token, expires_on}). Tokens are cached per resource until
 * five minutes before expiry.
 */
export class IdentityEndpointCredential implements TokenCredential {
  private readonly cache = new Map<string, AccessToken>();

  constructor(private readonly opts: { endpoint: string; header: string; clientId?: string }) {}

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    const scope = Array.isArray(scopes) ? scopes[0] : scopes;
    const resource = scope.replace(/\/\.default$/, '');
    const cached = this.cache.get(resource);
    if (cached && cached.expiresOnTimestamp - 5 * 60_000 > Date.now()) return cached;
    const url = new URL(this.opts.endpoint);
    url.searchParams.set('api-version', '2019-08-01');
    url.searchParams.set('resource', resource);
    if (this.opts.clientId) url.searchParams.set('client_id', this.opts.clientId);
    let res: Response;
    try {
      res = await fetch(url, { headers: { 'X-IDENTITY-HEADER': this.opts.header, Metadata: 'true' }, signal: options?.abortSignal as AbortSignal | undefined });
    } catch (e) {
      throw new AciError('Unauthorized', `identity endpoint unreachable: ${(e as Error).message}`, 'CredentialUnavailable');
    }
    if (!res.ok) throw new AciError('Unauthorized', `identity endpoint answered HTTP ${res.status}`, 'CredentialUnavailable', undefined, res.status);
    const body = (await res.json()) as { access_token?: string; expires_on?: string | number };
    if (!body.access_token) throw new AciError('Unauthorized', 'identity endpoint returned no access_token', 'CredentialUnavailable');
    const expiresOn = Number(body.expires_on);
    const token: AccessToken = {
      token: body.access_token,
      expiresOnTimestamp: Number.isFinite(expiresOn) ? (expiresOn < 1e12 ? expiresOn * 1000 : expiresOn) : Date.now() + 3_600_000,
    };
    this.cache.set(resource, token);
    return token;
  }
}
