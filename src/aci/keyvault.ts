/**
 * Key Vault secret references (issue 19) through `@azure/keyvault-secrets` with the controller's
 * credential — the only importer of that SDK. Vaults are the operator's (`--key-vault NAME[=URL]`,
 * default URL `https://NAME.vault.azure.net`); the admission check refuses any other name before
 * this is reached. A missing secret or version is SecretMissing, a denied one SecretForbidden (both
 * fail the attempt); anything else (network, 5xx, throttling) is Transient and retried by the
 * reconcile's backoff. Values are never logged; messages name the reference only.
 */
import type { TokenCredential } from '@azure/core-auth';
import { SecretClient } from '@azure/keyvault-secrets';
import type { KeyVaultRef } from '../api/types';
import { AciError } from './types';

export interface KeyVaultReaderOptions {
  /** Allowed vault name → vault URL. */
  vaults: Map<string, string>;
  credential: TokenCredential;
  /** PEM of a CA to trust (the emulator's certificate). */
  ca?: string;
  /** Bound on each read; default 10 s. */
  timeoutMs?: number;
}

export type KeyVaultReader = (ref: KeyVaultRef) => Promise<string>;

export function keyVaultReader(opts: KeyVaultReaderOptions): KeyVaultReader {
  const clients = new Map<string, SecretClient>();
  const client = (vault: string): SecretClient => {
    let c = clients.get(vault);
    if (!c) {
      const url = opts.vaults.get(vault)!;
      const isAzure = /\.vault\.(azure\.net|azure\.cn|usgovcloudapi\.net|microsoftazure\.de)$/i.test(new URL(url).hostname);
      c = new SecretClient(url, opts.credential, {
        // Off only for a vault URL outside Azure's vault domains (the emulator on loopback).
        disableChallengeResourceVerification: !isAzure,
        retryOptions: { maxRetries: 1 },
        ...(opts.ca ? { tlsOptions: { ca: opts.ca } } : {}),
      } as ConstructorParameters<typeof SecretClient>[2]);
      clients.set(vault, c);
    }
    return c;
  };
  return async (ref: KeyVaultRef): Promise<string> => {
    const label = `key vault secret ${ref.vault}/${ref.secret}${ref.version ? `/${ref.version}` : ''}`;
    if (!opts.vaults.has(ref.vault)) throw new AciError('SecretMissing', `SecretRefused: key vault ${ref.vault} is not allowed`, 'SecretRefused');
    const signal = AbortSignal.timeout(opts.timeoutMs ?? 10_000);
    try {
      const s = await client(ref.vault).getSecret(ref.secret, { version: ref.version, abortSignal: signal });
      if (typeof s.value !== 'string') throw new AciError('SecretMissing', `secret ${label} has no value`, 'SecretMissing');
      return s.value;
    } catch (e) {
      if (e instanceof AciError) throw e;
      const status = (e as { statusCode?: number }).statusCode;
      if (status === 404) throw new AciError('SecretMissing', `secret ${label} was not found`, 'SecretMissing');
      if (status === 403 || status === 401) throw new AciError('SecretMissing', `secret ${label}: access denied (${status})`, 'SecretForbidden');
      throw new AciError('Transient', `secret ${label} could not be read${status ? ` (${status})` : ''}`, 'KeyVaultUnavailable');
    }
  };
}
