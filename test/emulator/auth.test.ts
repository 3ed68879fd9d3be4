/**
 * The emulator's ARM API with `auth: 'issued'` (what the controller's embedded emulator runs with,
 * issue 20): only tokens its own managed-identity endpoint issued start anything; a fixed, forged,
 * foreign or expired token is a 401 in ARM's error shape, and the client-credentials grant is
 * refused. It binds loopback only. Malformed percent-encoding in a path is a 4xx, not a 500.
 */
import { request as httpsRequest } from 'node:https';
import type { TokenCredential } from '@azure/core-auth';
import { IdentityEndpointCredential } from '../../src/aci/credentials';
import type { Clock } from '../../src/api/clock';
import { startEmulator, type RunningEmulator } from '../../src/emulator';
import { clientFor, FAST, fixedToken, shGroup } from './helpers';

let now = Date.now();
const clock: Clock = { now: () => now } as Clock;
let emu: RunningEmulator;
let other: RunningEmulator;

beforeAll(async () => {
  emu = await startEmulator({ auth: 'issued', runtime: 'simulate', lroDelayMs: 10, clock });
  other = await startEmulator({ auth: 'issued', runtime: 'simulate', lroDelayMs: 10 });
});
afterAll(async () => {
  await emu?.close();
  await other?.close();
});

function issuedBy(e: RunningEmulator): IdentityEndpointCredential {
  return new IdentityEndpointCredential({ endpoint: e.identity.endpoint, header: e.identity.header });
}

const token = (t: string): TokenCredential => ({ getToken: async () => ({ token: t, expiresOnTimestamp: Date.now() + 3_600_000 }) });

/** A raw ARM GET (list by resource group) with `auth` as the Authorization header. */
function armGet(path: string, auth?: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(path, emu.endpoint), { ca: emu.ca, headers: auth ? { Authorization: auth } : {} }, (res) => {
      let t = '';
      res.on('data', (c) => (t += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: t ? JSON.parse(t) : undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}
const listPath = () => `/subscriptions/${emu.subscriptionId}/resourceGroups/auth-rg/providers/Microsoft.ContainerInstance/containerGroups?api-version=2023-05-01`;

test('a token from its own identity endpoint works with the real SDK', async () => {
  const client = clientFor(emu, { credential: issuedBy(emu) });
  await client.containerGroups.beginCreateOrUpdateAndWait('auth-rg', 'by-issued-token', shGroup('exit 0'), FAST);
  expect(emu.stats().creations.map((c) => c.name)).toContain('by-issued-token');
});

test('a fixed token is refused with 401 InvalidAuthenticationToken, and nothing is created', async () => {
  const client = clientFor(emu, { credential: fixedToken, maxRetries: 0 });
  await expect(client.containerGroups.beginCreateOrUpdateAndWait('auth-rg', 'by-fixed-token', shGroup('exit 0'), FAST)).rejects.toMatchObject({ statusCode: 401, code: 'InvalidAuthenticationToken' });
  const raw = await armGet(listPath(), 'Bearer fixed-test-token');
  expect(raw.status).toBe(401);
  expect(raw.body).toEqual({ error: { code: 'InvalidAuthenticationToken', message: expect.stringMatching(/only tokens its identity endpoint issued/) } });
  expect(emu.stats().creations.map((c) => c.name)).not.toContain('by-fixed-token');
});

test('a forged token (claims changed, or signed by another emulator) is refused', async () => {
  const real = (await issuedBy(emu).getToken('https://management.azure.com/.default')).token;
  const [head, body, sig] = real.split('.');
  const claims = JSON.parse(Buffer.from(body!, 'base64url').toString('utf8'));
  const longer = Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 86_400 * 365 })).toString('base64url');
  expect((await armGet(listPath(), `Bearer ${head}.${longer}.${sig}`)).status).toBe(401);
  expect((await armGet(listPath(), `Bearer ${head}.${body}.${sig!.slice(0, -2)}AA`)).status).toBe(401);
  expect((await armGet(listPath(), `Bearer ${head}.${body}`)).status).toBe(401);
  const foreign = (await issuedBy(other).getToken('https://management.azure.com/.default')).token;
  const r = await armGet(listPath(), `Bearer ${foreign}`);
  expect(r.status).toBe(401);
  expect(r.body.error.code).toBe('InvalidAuthenticationToken');
  // the genuine one still works
  expect((await armGet(listPath(), `Bearer ${real}`)).status).toBe(200);
});

test('an expired token is refused with ExpiredAuthenticationToken', async () => {
  const t = (await issuedBy(emu).getToken('https://management.azure.com/.default')).token;
  now += 25 * 3600_000;
  try {
    const r = await armGet(listPath(), `Bearer ${t}`);
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('ExpiredAuthenticationToken');
  } finally {
    now -= 25 * 3600_000;
  }
});

test('no token at all is still 401 AuthenticationFailed', async () => {
  const r = await armGet(listPath());
  expect(r.status).toBe(401);
  expect(r.body.error.code).toBe('AuthenticationFailed');
});

test('the client-credentials grant hands out no token (any secret would do otherwise)', async () => {
  const res = await new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = httpsRequest(new URL('/emulator-tenant/oauth2/v2.0/token', emu.endpoint), { method: 'POST', ca: emu.ca, headers: { 'content-type': 'application/x-www-form-urlencoded' } }, (r) => {
      let t = '';
      r.on('data', (c) => (t += c));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, body: JSON.parse(t) }));
    });
    req.on('error', reject);
    req.end('grant_type=client_credentials&client_id=x&client_secret=anything&scope=https%3A%2F%2Fmanagement.azure.com%2F.default');
  });
  expect(res.status).toBe(401);
  expect(res.body.error).toBe('invalid_client');
  expect(res.body.access_token).toBeUndefined();
});

test('it binds loopback only', async () => {
  await expect(startEmulator({ host: '0.0.0.0', auth: 'issued' })).rejects.toThrow(/loopback/);
  await expect(startEmulator({ host: '10.0.0.1', auth: 'issued' })).rejects.toThrow(/loopback/);
});

test('malformed percent-encoding in an ARM path is a 4xx in ARM shape, not a 500', async () => {
  const t = (await issuedBy(emu).getToken('https://management.azure.com/.default')).token;
  for (const name of ['%zz', '%E0%A4%A', '%']) {
    const r = await armGet(`/subscriptions/${emu.subscriptionId}/resourceGroups/auth-rg/providers/Microsoft.ContainerInstance/containerGroups/${name}?api-version=2023-05-01`, `Bearer ${t}`);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(typeof r.body.error.code).toBe('string');
  }
});
