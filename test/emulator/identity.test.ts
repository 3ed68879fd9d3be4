/**
 * Token endpoints exercised by the real `@azure/identity`: ManagedIdentityCredential and
 * DefaultAzureCredential through IDENTITY_ENDPOINT/IDENTITY_HEADER (plain-http loopback), and
 * ClientSecretCredential through the OIDC discovery + token endpoints; the tokens drive the SDK.
 */
import { get as httpGet } from 'node:http';
import { ClientSecretCredential, DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { startEmulator, RunningEmulator } from '../../src/emulator';
import { clientFor, FAST, shGroup } from './helpers';

let emu: RunningEmulator;
const saved: Record<string, string | undefined> = {};
const VARS = ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'MSI_ENDPOINT', 'MSI_SECRET', 'AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_FEDERATED_TOKEN_FILE', 'IMDS_ENDPOINT', 'IDENTITY_SERVER_THUMBPRINT'];

beforeAll(async () => {
  emu = await startEmulator({ lroDelayMs: 10 });
  for (const k of VARS) {
    saved[k] = process.env[k];
    delete process.env[k];
  }
  // @azure/identity reads the managed-identity variables from process.env.
  process.env.IDENTITY_ENDPOINT = emu.env.IDENTITY_ENDPOINT;
  process.env.IDENTITY_HEADER = emu.env.IDENTITY_HEADER;
});
afterAll(async () => {
  for (const k of VARS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  await emu?.close();
});

function rawIdentity(header?: string): Promise<{ status: number; body: any }> {
  const u = new URL(`${emu.identity.endpoint}?api-version=2019-08-01&resource=https://management.azure.com/`);
  return new Promise((resolve, reject) => {
    httpGet(u, { headers: header ? { 'X-IDENTITY-HEADER': header } : {} }, (res) => {
      let t = '';
      res.on('data', (c) => (t += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(t) }));
    }).on('error', reject);
  });
}

test('ManagedIdentityCredential obtains a token from the identity endpoint, and the SDK uses it', async () => {
  const credential = new ManagedIdentityCredential();
  const token = await credential.getToken('https://management.azure.com/.default');
  expect(token.token.split('.')).toHaveLength(3);
  const claims = JSON.parse(Buffer.from(token.token.split('.')[1], 'base64url').toString('utf8'));
  expect(claims.aud).toMatch(/^https:\/\/management\.azure\.com\/?$/);
  expect(claims.iss).toBe('https://sts.emulator.acictl.dev/');
  expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3_600_000);
  expect(emu.stats().requests.identity).toBeGreaterThanOrEqual(1);

  const client = clientFor(emu, { credential });
  await client.containerGroups.beginCreateOrUpdateAndWait('id-rg', 'via-mi', shGroup('exit 0'), FAST);
  const names: string[] = [];
  for await (const g of client.containerGroups.listByResourceGroup('id-rg')) names.push(g.name!);
  expect(names).toEqual(['via-mi']);
});

test('DefaultAzureCredential picks the managed identity from the environment', async () => {
  const token = await new DefaultAzureCredential().getToken('https://management.azure.com/.default');
  // (MSAL caches managed-identity tokens process-wide, so this may not reach the endpoint again.)
  const claims = JSON.parse(Buffer.from(token.token.split('.')[1], 'base64url').toString('utf8'));
  expect(claims.iss).toBe('https://sts.emulator.acictl.dev/');
  expect(emu.stats().requests.identity).toBeGreaterThanOrEqual(1);
});

test('the identity endpoint refuses a request without the right X-IDENTITY-HEADER', async () => {
  expect((await rawIdentity()).status).toBe(401);
  expect((await rawIdentity('wrong')).status).toBe(401);
  const ok = await rawIdentity(emu.identity.header);
  expect(ok.status).toBe(200);
  expect(Object.keys(ok.body).sort()).toEqual(['access_token', 'client_id', 'expires_on', 'resource', 'token_type']);
  expect(ok.body.expires_on).toMatch(/^\d+$/);
});

test('ClientSecretCredential with authorityHost uses the OIDC discovery and token endpoints', async () => {
  const credential = new ClientSecretCredential('emulator-tenant', 'client-id', 'client-secret', {
    authorityHost: emu.endpoint,
    disableInstanceDiscovery: true,
    tlsOptions: { ca: emu.ca },
  } as ConstructorParameters<typeof ClientSecretCredential>[3]);
  const token = await credential.getToken('https://management.azure.com/.default');
  expect(token.token.split('.')).toHaveLength(3);
  expect(emu.stats().requests.token).toBeGreaterThanOrEqual(1);
  const claims = JSON.parse(Buffer.from(token.token.split('.')[1], 'base64url').toString('utf8'));
  expect(claims.sub).toBe('client-id');
  const client = clientFor(emu, { credential });
  await client.containerGroups.beginCreateOrUpdateAndWait('id-rg', 'via-secret', shGroup('exit 0'), FAST);
  expect((await client.containerGroups.get('id-rg', 'via-secret')).name).toBe('via-secret');
});
