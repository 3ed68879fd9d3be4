/**
 * Credential wiring: DefaultAzureCredential, with IDENTITY_ENDPOINT / IDENTITY_HEADER in its
 * environment, gets a token from the emulator's identity endpoint and the adapter lists with it.
 * @azure/identity reads those from process.env; this test sets them for its own duration only.
 */
import { AciContainerGroups } from '../../src/aci/adapter';
import { createCredential, IdentityEndpointCredential } from '../../src/aci/credentials';
import { mapSecretResolver } from '../../src/aci/secrets';
import { AciError } from '../../src/aci/types';
import { startEmulator } from '../../src/emulator';
import { desiredGroup, minimalTemplate } from './fixtures';

let emu: Awaited<ReturnType<typeof startEmulator>>;
beforeAll(async () => {
  emu = await startEmulator({ runtime: 'simulate' });
});
afterAll(async () => {
  await emu?.close();
});

const AZURE_VARS = ['AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PATH', 'AZURE_FEDERATED_TOKEN_FILE', 'AZURE_USERNAME', 'MSI_ENDPOINT', 'MSI_SECRET', 'IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'IDENTITY_SERVER_THUMBPRINT', 'IMDS_ENDPOINT'];

async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(AZURE_VARS.map((k) => [k, process.env[k]]));
  for (const k of AZURE_VARS) delete process.env[k];
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const k of AZURE_VARS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

test('DefaultAzureCredential gets a token from the emulator identity endpoint; the adapter lists with it', async () => {
  await withEnv({ IDENTITY_ENDPOINT: emu.identity.endpoint, IDENTITY_HEADER: emu.identity.header }, async () => {
    const credential = createCredential({ env: process.env });
    const token = await credential.getToken(`${emu.endpoint}/.default`);
    expect(token?.token.length).toBeGreaterThan(10);
    const aci = new AciContainerGroups({ subscriptionId: emu.subscriptionId, instanceId: 'ctl-c', credential, endpoint: emu.endpoint, ca: emu.ca, secrets: mapSecretResolver({}) });
    const scope = { subscriptionId: emu.subscriptionId, resourceGroup: 'rgc' };
    await aci.createOrUpdate(desiredGroup({ ...scope, name: 'cred-1' }, minimalTemplate({ resourceGroup: 'rgc' }), 'ctl-c'), { ifNoneMatch: true });
    expect((await aci.listOwned(scope)).map((g) => g.name)).toEqual(['cred-1']);
  });
}, 30_000);

test("emulator kind passes the identity endpoint explicitly, leaving process.env alone", async () => {
  await withEnv({}, async () => {
    const credential = createCredential({ kind: 'emulator', env: emu.env });
    expect(credential).toBeInstanceOf(IdentityEndpointCredential);
    expect(process.env.IDENTITY_ENDPOINT).toBeUndefined();
    const aci = new AciContainerGroups({ subscriptionId: emu.subscriptionId, instanceId: 'ctl-c', credential, endpoint: emu.endpoint, ca: emu.ca, secrets: mapSecretResolver({}) });
    expect((await aci.listOwned({ subscriptionId: emu.subscriptionId, resourceGroup: 'rgc' })).map((g) => g.name)).toEqual(['cred-1']);
  });
});

test('a wrong identity header is Unauthorized; missing settings are reported by name', async () => {
  const bad = createCredential({ kind: 'emulator', env: { IDENTITY_ENDPOINT: emu.identity.endpoint, IDENTITY_HEADER: 'wrong' } });
  await expect(bad.getToken('https://management.azure.com/.default')).rejects.toMatchObject({ kind: 'Unauthorized' });
  expect(() => createCredential({ kind: 'emulator', env: {} })).toThrow(/IDENTITY_ENDPOINT/);
  expect(() => createCredential({ kind: 'clientSecret', env: { AZURE_TENANT_ID: 't' } })).toThrow(AciError);
  expect(() => createCredential({ kind: 'clientSecret', env: { AZURE_TENANT_ID: 't' } })).toThrow(/AZURE_CLIENT_ID.*AZURE_CLIENT_SECRET/);
});
