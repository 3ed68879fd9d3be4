/**
 * Key Vault references (issue 19, acceptance 2 and 3) with the real controller binary, the real
 * @azure/keyvault-secrets client and the emulator's Key Vault data plane (HTTPS, challenge auth):
 * the value reaches the container (compared by hash), a pinned version is honoured, 404 and 403
 * fail only their own attempt, a vault the operator did not allow is a validation error, a rotated
 * secret reaches the next run and not a run in between, steady state makes 0 ARM writes, and no
 * Key Vault value appears in the controller's output or the store's bytes. The emulator accepts only
 * tokens its identity endpoint issued, for the vault's audience.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { cleanupDirs, jobYaml, sleep, startControllerProcess, startTestEmulator, tmp, waitUntil, type ControllerProcess } from './harness';
import type { RunningEmulator } from '../../src/emulator';

jest.setTimeout(90_000);

const API = '/apis/acictl.dev/v1';
const V1 = `kvOne-${randomBytes(8).toString('hex')}`;
const V2 = `kvTwo-${randomBytes(8).toString('hex')}`;
const PINNED = `kvPinned-${randomBytes(8).toString('hex')}`;
const LATER = `kvLater-${randomBytes(8).toString('hex')}`;
const VALUES = [V1, V2, PINNED, LATER];
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

let emu: RunningEmulator & { caFilePath: string };
let ctl: ControllerProcess;
let root: string;

const kv = (secret: string, version?: string) => `{keyVault: {vault: teamvault, secret: ${secret}${version ? `, version: ${version}` : ''}}}`;

async function runToEnd(job: string): Promise<any> {
  const run = (await ctl.api('POST', `${API}/containerjobs/${job}/trigger`)).body.run as string;
  return waitUntil(`${job} run to finish`, async () => {
    const r = (await ctl.api('GET', `${API}/containerjobruns/${run}`)).body;
    return ['Succeeded', 'Failed'].includes(r?.status?.phase) ? r : null;
  }, 30_000, 100);
}

beforeAll(async () => {
  root = tmp('acictl-e2e-kv-');
  const manifests = path.join(root, 'manifests');
  mkdirSync(manifests);
  // 'issued': ARM and the vault accept only tokens the emulator's identity endpoint issued, the
  // vault only those for its own audience — the controller's credential must ask for the right one
  emu = await startTestEmulator({ auth: 'issued' });
  emu.keyVault.set('teamvault', 'db-password', V1);
  const pinned = emu.keyVault.set('teamvault', 'api-key', PINNED);
  emu.keyVault.set('teamvault', 'api-key', LATER);
  emu.keyVault.set('teamvault', 'locked', 'x');
  emu.keyVault.deny('teamvault', 'locked');
  const env = (lines: [string, string][]) => '        environmentVariables:\n' + lines.map(([n, r]) => `          - {name: ${n}, secureValueFrom: ${r}}\n`).join('');
  writeFileSync(
    path.join(manifests, 'kv.yaml'),
    [
      jobYaml('kv-job', { schedule: null, rg: 'kv', command: 'printf %s "$A" | sha256sum; printf %s "$B" | sha256sum', env: env([['A', kv('db-password')], ['B', kv('api-key', pinned)]]) }),
      jobYaml('kv-missing', { schedule: null, rg: 'kv', env: env([['A', kv('not-there')]]) }),
      jobYaml('kv-denied', { schedule: null, rg: 'kv', env: env([['A', kv('locked')]]) }),
    ].join('---\n'),
  );
  writeFileSync(path.join(manifests, 'other.yaml'), jobYaml('kv-other-vault', { schedule: null, rg: 'kv', env: env([['A', '{keyVault: {vault: othervault, secret: s}}']]) }));
  ctl = startControllerProcess(emu, { manifests: [manifests], args: ['--key-vault', `teamvault=${emu.keyVault.vaultUrl('teamvault')}`] });
  await ctl.ready(30_000);
  await waitUntil('the kv jobs stored', async () => (await ctl.job('kv-job')) && (await ctl.job('kv-denied')), 20_000, 100);
});

afterAll(async () => {
  await ctl?.stop();
  await emu?.close();
  cleanupDirs(root);
});

test('the latest and a pinned version reach the container (by hash); 404 and 403 fail only their attempt', async () => {
  const ok = await runToEnd('kv-job');
  expect(ok.status.phase).toBe('Succeeded');
  const log = (await ctl.api('GET', `${API}/containerjobruns/${ok.metadata.name}/log`)).text;
  expect(log).toContain(sha(V1));
  expect(log).toContain(sha(PINNED));
  expect(log).not.toContain(sha(LATER));
  const missing = await runToEnd('kv-missing');
  expect(missing.status.attempts[0].reason).toBe('SecretMissing');
  expect(missing.status.attempts[0].message).toMatch(/key vault secret teamvault\/not-there was not found/);
  const denied = await runToEnd('kv-denied');
  expect(denied.status.attempts[0].reason).toBe('SecretForbidden');
  expect(denied.status.attempts[0].message).toMatch(/teamvault\/locked: access denied \(403\)/);
  expect(emu.stats().creations.filter((c) => c.name.startsWith('kv-missing') || c.name.startsWith('kv-denied'))).toEqual([]);
});

test('a vault the operator did not allow is a validation error naming the rule', async () => {
  const e = await waitUntil('the other.yaml error', () => ctl.lines().find((l) => typeof l.file === 'string' && (l.file as string).endsWith('other.yaml') && l.level >= 50), 20_000, 100);
  expect(e.msg).toMatch(/other\.yaml:\d+:\d+: error: secret reference refused: key vault othervault is not an allowed secret source \(the operator allows teamvault; see --key-vault\)/);
  expect(await ctl.job('kv-other-vault')).toBeNull();
});

test('rotation: a new version reaches the next run only; steady state makes 0 ARM writes', async () => {
  const first = (await ctl.runs('kv-job')).map((r) => ({ name: r.metadata.name, rv: r.metadata.resourceVersion }));
  await sleep(1500);
  const w0 = emu.stats().writes;
  await sleep(2000);
  expect(emu.stats().writes - w0).toBe(0); // steady state before the rotation
  emu.keyVault.set('teamvault', 'db-password', V2);
  await sleep(2000);
  expect(emu.stats().writes - w0).toBe(0); // nothing between runs is touched by a rotation
  const after = (await ctl.runs('kv-job')).map((r) => ({ name: r.metadata.name, rv: r.metadata.resourceVersion }));
  expect(after).toEqual(first);
  const next = await runToEnd('kv-job');
  const log = (await ctl.api('GET', `${API}/containerjobruns/${next.metadata.name}/log`)).text;
  expect(log).toContain(sha(V2));
  expect(log).not.toContain(sha(V1));
  await sleep(1500);
  const w1 = emu.stats().writes;
  await sleep(2000);
  expect(emu.stats().writes - w1).toBe(0); // and steady again after it
});

test('no Key Vault value in the controller output, the API or the store', async () => {
  const corpus: [string, Buffer][] = [
    ['stdout', Buffer.from(ctl.stdout)],
    ['stderr', Buffer.from(ctl.stderr)],
    ['jobs', Buffer.from((await ctl.api('GET', `${API}/containerjobs`)).text)],
    ['runs', Buffer.from((await ctl.api('GET', `${API}/containerjobruns`)).text)],
  ];
  for (const f of ['acictl.db', 'acictl.db-wal']) {
    const p = path.join(ctl.stateDir, f);
    if (existsSync(p)) corpus.push([f, readFileSync(p)]);
  }
  const leaks: string[] = [];
  for (const [label, bytes] of corpus) {
    for (const v of VALUES) for (const form of [v, Buffer.from(v).toString('base64'), Buffer.from(v).toString('hex')]) if (bytes.includes(form)) leaks.push(`${label}: ${v.split('-')[0]}`);
  }
  expect(leaks).toEqual([]);
  expect(corpus.find(([l]) => l === 'acictl.db')).toBeDefined();
});
