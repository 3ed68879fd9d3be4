/** The emulator's Key Vault data plane with the real @azure/keyvault-secrets client (HTTPS, challenge auth). */
import { SecretClient } from '@azure/keyvault-secrets';
import { startEmulator, type RunningEmulator } from '../../src/emulator';

let emu: RunningEmulator;
let client: SecretClient;
let tokenScopes: string[] = [];

beforeAll(async () => {
  emu = await startEmulator({ lroDelayMs: 10 });
  client = new SecretClient(
    emu.keyVault.vaultUrl('vault-a'),
    { getToken: async (scopes) => ((tokenScopes = [scopes].flat()), { token: 'kv-test', expiresOnTimestamp: Date.now() + 3_600_000 }) },
    { disableChallengeResourceVerification: true, tlsOptions: { ca: emu.ca } } as ConstructorParameters<typeof SecretClient>[2],
  );
});
afterAll(() => emu.close());

test('set → versions; get latest and a pinned version; the challenge asks for the vault scope', async () => {
  const v1 = await client.setSecret('db', 'one');
  const v2 = await client.setSecret('db', 'two');
  expect(v1.properties.version).not.toBe(v2.properties.version);
  expect((await client.getSecret('db')).value).toBe('two');
  expect((await client.getSecret('db', { version: v1.properties.version })).value).toBe('one');
  expect(tokenScopes).toEqual(['https://vault.azure.net/.default']);
  const direct = emu.keyVault.set('vault-a', 'db', 'three');
  expect((await client.getSecret('db')).value).toBe('three');
  expect((await client.getSecret('db', { version: direct })).value).toBe('three');
});

test('404 SecretNotFound for a missing secret or version, 403 Forbidden for a denied one', async () => {
  const e404 = (await client.getSecret('nope').catch((e: unknown) => e)) as { statusCode?: number; code?: string };
  expect([e404.statusCode, e404.code]).toEqual([404, 'SecretNotFound']);
  const v404 = (await client.getSecret('db', { version: 'ffffffff' }).catch((e: unknown) => e)) as { statusCode?: number };
  expect(v404.statusCode).toBe(404);
  emu.keyVault.set('vault-a', 'locked', 'x');
  emu.keyVault.deny('vault-a', 'locked');
  const e403 = (await client.getSecret('locked').catch((e: unknown) => e)) as { statusCode?: number; code?: string };
  expect([e403.statusCode, e403.code]).toEqual([403, 'Forbidden']);
});

test('a request without a bearer token gets the 401 challenge', async () => {
  const https = await import('node:https');
  const r = await new Promise<{ status?: number; auth?: string }>((resolve, reject) => {
    https
      .get(`${emu.keyVault.vaultUrl('vault-a')}/secrets/db?api-version=7.5`, { ca: emu.ca }, (m) => {
        m.resume();
        resolve({ status: m.statusCode, auth: m.headers['www-authenticate'] as string | undefined });
      })
      .on('error', reject);
  });
  expect(r.status).toBe(401);
  expect(r.auth).toMatch(/^Bearer authorization="https:\/\/login\.microsoftonline\.com\/[^"]+", resource="https:\/\/vault\.azure\.net"$/);
});

describe("auth: 'issued' (the controller's embedded emulator)", () => {
  let strict: RunningEmulator;
  beforeAll(async () => {
    strict = await startEmulator({ auth: 'issued', runtime: 'simulate', lroDelayMs: 10 });
    strict.keyVault.set('vault-s', 'db', 'sealed');
  });
  afterAll(() => strict?.close());

  const clientWith = (credential: ConstructorParameters<typeof SecretClient>[1]) =>
    new SecretClient(strict.keyVault.vaultUrl('vault-s'), credential, { disableChallengeResourceVerification: true, tlsOptions: { ca: strict.ca }, retryOptions: { maxRetries: 0 } } as ConstructorParameters<typeof SecretClient>[2]);

  test('a token its identity endpoint issued for the vault resource reads the secret', async () => {
    const { IdentityEndpointCredential } = await import('../../src/aci/credentials');
    const cred = new IdentityEndpointCredential({ endpoint: strict.identity.endpoint, header: strict.identity.header });
    expect((await clientWith(cred).getSecret('db')).value).toBe('sealed');
  });

  test('a fixed token, and an issued token for ARM (wrong audience), are 401 Unauthorized', async () => {
    const fixed = (await clientWith({ getToken: async () => ({ token: 'kv-test', expiresOnTimestamp: Date.now() + 3_600_000 }) }).getSecret('db').catch((e: unknown) => e)) as { statusCode?: number; message?: string };
    expect(fixed.statusCode).toBe(401);
    expect(fixed.message).toContain('accepts only tokens its identity endpoint issued');
    const { IdentityEndpointCredential } = await import('../../src/aci/credentials');
    const id = new IdentityEndpointCredential({ endpoint: strict.identity.endpoint, header: strict.identity.header });
    const armToken = await id.getToken('https://management.azure.com/.default');
    const wrong = (await clientWith({ getToken: async () => armToken }).getSecret('db').catch((e: unknown) => e)) as { statusCode?: number; message?: string };
    expect(wrong.statusCode).toBe(401);
    expect(wrong.message).toContain('Invalid audience. Expected https://vault.azure.net');
    expect(strict.keyVault.requests['GET secret']).toBeGreaterThanOrEqual(3);
  });
});
