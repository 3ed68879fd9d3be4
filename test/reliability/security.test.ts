/**
 * Security (issue 8): Invariant 6 (secrets stay secret) with sentinel values given through
 * `secureValueFrom: {env}`, `secureValueFrom: {file}` and `passwordFrom: {env}`, scanned for in
 * every log line, API response, CLI output and the bytes of the store file; bearer-token checks on
 * every route; loopback binding; file modes; body limits and malformed JSON.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ControllerProcess, jobYaml, startTestEmulator } from '../e2e/harness';
import { runCli } from '../cli/harness';
import { DEFAULT_LISTEN } from '../../src/cli/commands/controller';
import type { RunningEmulator } from '../../src/emulator';
import { fmt, writeFigures } from './lib/figures';
import { checkUntouched, EmuEventLog, plantForeignGroups, spawnController, tmp, waitUntil, type OwnershipReport, type PlantedGroup } from './lib/procs';

jest.setTimeout(120_000);

const RG = 'security';
const ENV_SECRET = `envSentinel-${randomBytes(12).toString('hex')}`;
const FILE_SECRET = `fileSentinel-${randomBytes(12).toString('hex')}`;
const REG_SECRET = `regSentinel-${randomBytes(12).toString('hex')}`;
const SECRETS = [ENV_SECRET, FILE_SECRET, REG_SECRET];
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

let emu: RunningEmulator & { caFilePath: string };
const emuLog = new EmuEventLog();
let ctl: ControllerProcess;
let dir: string;
let manifest: string;
let planted: PlantedGroup[];
let runId = '';
/** Everything the controller said or answered, labelled: scanned for the sentinels. */
const corpus: { label: string; bytes: Buffer }[] = [];
let unauthRequests = 0;
let defaultListenChecked = false;
let ownership: OwnershipReport;

function collect(label: string, data: string | Buffer): void {
  corpus.push({ label, bytes: Buffer.isBuffer(data) ? data : Buffer.from(data) });
}

/** Forms a secret could take in bytes: raw, base64, hex. */
function forms(s: string): string[] {
  return [s, Buffer.from(s).toString('base64'), Buffer.from(s).toString('hex')];
}

function leaks(): string[] {
  const out: string[] = [];
  for (const c of corpus) for (const s of SECRETS) for (const f of forms(s)) if (c.bytes.includes(f)) out.push(`${c.label} contains ${s.split('-')[0]} (${f === s ? 'raw' : 'encoded'})`);
  return out;
}

const API = '/apis/acictl.dev/v1';

beforeAll(async () => {
  emu = await startTestEmulator({ logger: emuLog.logger });
  planted = await plantForeignGroups(emu, RG, 'secret-job');
  dir = tmp('acictl-rel-sec-');
  const secretFile = path.join(dir, 'file-secret');
  writeFileSync(secretFile, FILE_SECRET, { mode: 0o600 });
  manifest = path.join(dir, 'manifests');
  require('node:fs').mkdirSync(manifest);
  writeFileSync(
    path.join(manifest, 'secret-job.yaml'),
    jobYaml('secret-job', {
      rg: RG,
      schedule: null,
      command: 'printf %s "$ENV_SECRET_VAR" | sha256sum; printf %s "$FILE_SECRET_VAR" | sha256sum',
      env:
        '        environmentVariables:\n' +
        '          - {name: ENV_SECRET_VAR, secureValueFrom: {env: ACICTL_SECRET_SENTINEL_ENV}}\n' +
        `          - {name: FILE_SECRET_VAR, secureValueFrom: {file: ${secretFile}}}\n` +
        '          - {name: PLAIN, value: visible}\n' +
        '    imageRegistryCredentials:\n' +
        '      - {server: myregistry.azurecr.io, username: puller, passwordFrom: {env: ACICTL_SECRET_SENTINEL_REG}}\n',
      extra: '  cleanup: {onSuccess: Delete, onFailure: Keep}\n',
    }),
  );
  ctl = spawnController(emu, { manifests: [manifest], listen: '0', env: { ACICTL_SECRET_SENTINEL_ENV: ENV_SECRET, ACICTL_SECRET_SENTINEL_REG: REG_SECRET }, args: ['--secrets-dir', dir] });
  await ctl.ready(30_000);
  await waitUntil('secret-job to be stored', () => ctl.job('secret-job'), 15_000, 100);
  const trig = await ctl.api('POST', `${API}/containerjobs/secret-job/trigger`);
  expect(trig.status).toBeLessThan(300);
  runId = trig.body.run;
  await waitUntil(
    'the run to succeed and its group to be deleted',
    async () => {
      const r = (await ctl.api('GET', `${API}/containerjobruns/${runId}`)).body;
      return r?.status?.phase === 'Succeeded' && r.status.attempts[0]?.groupDeleted;
    },
    30_000,
    200,
  );
});

afterAll(async () => {
  await ctl?.stop();
  await emu?.close();
});

describe('Invariant 6: secrets stay secret', () => {
  test('the scanner finds a sentinel in raw and encoded form (self-check)', () => {
    const before = corpus.length;
    collect('self-check raw', `x${ENV_SECRET}y`);
    collect('self-check base64', Buffer.from(REG_SECRET).toString('base64'));
    expect(leaks()).toHaveLength(2);
    corpus.splice(before);
    expect(leaks()).toEqual([]);
  });

  test('the container receives the secrets (hashes match), through the env and the file reference', async () => {
    const log = await ctl.api('GET', `${API}/containerjobruns/${runId}/log`);
    expect(log.status).toBe(200);
    collect('API run log', log.text);
    expect(log.text).toContain(sha(ENV_SECRET));
    expect(log.text).toContain(sha(FILE_SECRET));
  });

  test('no sentinel in API responses (GET, LIST, runs, logs, watch, discovery, metrics, Table)', async () => {
    const paths = [
      `${API}/containerjobs`,
      `${API}/containerjobs/secret-job`,
      `${API}/containerjobs/secret-job/status`,
      `${API}/containerjobruns`,
      `${API}/containerjobruns/${runId}`,
      `${API}/containerjobruns/${runId}/log`,
      '/openapi/v2',
      '/openapi/v3/apis/acictl.dev/v1',
      '/metrics',
      '/healthz',
      '/readyz',
      '/version',
    ];
    for (const p of paths) {
      const r = await ctl.api('GET', p);
      expect([p, r.status]).toEqual([p, 200]);
      collect(`GET ${p}`, r.text);
    }
    const table = await ctl.api('GET', `${API}/containerjobs`, undefined, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
    collect('GET containerjobs as Table', table.text);
    // A watch, read for a moment.
    const ac = new AbortController();
    const res = await fetch(`${ctl.url}${API}/containerjobs?watch=true`, { headers: { authorization: `Bearer ${ctl.token}` }, signal: ac.signal });
    const reader = res.body!.getReader();
    const chunks: Buffer[] = [];
    const t = setTimeout(() => ac.abort(), 1000);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        chunks.push(Buffer.from(value));
      }
    } catch {
      /* aborted */
    }
    clearTimeout(t);
    collect('WATCH containerjobs', Buffer.concat(chunks));
    expect(Buffer.concat(chunks).toString()).toContain('secret-job');
    expect(leaks()).toEqual([]);
  });

  test('no sentinel in CLI output: get -o yaml/json/wide, describe (events), diff, logs', async () => {
    const env = { ACICTL_SERVER: ctl.url, ACICTL_TOKEN: ctl.token };
    const edited = path.join(dir, 'edited.yaml');
    writeFileSync(edited, readFileSync(path.join(manifest, 'secret-job.yaml'), 'utf8').replace('value: visible', 'value: changed'));
    const cmds = [
      ['get', 'jobs', '-o', 'yaml'],
      ['get', 'jobs', 'secret-job', '-o', 'json'],
      ['get', 'jobs', '-o', 'wide'],
      ['get', 'runs', '-o', 'yaml'],
      ['describe', 'job', 'secret-job'],
      ['diff', '-f', path.join(manifest, 'secret-job.yaml')],
      ['diff', '-f', edited],
      ['logs', 'secret-job', '--run', runId],
    ];
    for (const c of cmds) {
      const r = await runCli(c, { env });
      collect(`acictl ${c.join(' ')}`, r.stdout + r.stderr);
      expect([c.join(' '), r.code === 0 || (c[0] === 'diff' && r.code === 1)]).toEqual([c.join(' '), true]);
    }
    const yaml = corpus.find((x) => x.label === 'acictl get jobs -o yaml')!.bytes.toString();
    expect(yaml).toContain('SENTINEL_ENV'); // the reference is shown, the value is not
    expect(corpus.find((x) => x.label.startsWith(`acictl diff -f ${edited}`))!.bytes.toString()).toContain('changed');
    expect(leaks()).toEqual([]);
  });

  test('no sentinel in any controller log line', () => {
    collect('controller stdout', ctl.stdout);
    collect('controller stderr', ctl.stderr);
    expect(ctl.lines().length).toBeGreaterThan(5);
    expect(leaks()).toEqual([]);
  });

  test('no sentinel in the bytes of the store (acictl.db, -wal, -shm), running and after a clean stop', async () => {
    const files = ['acictl.db', 'acictl.db-wal', 'acictl.db-shm'].map((f) => path.join(ctl.stateDir, f));
    for (const f of files) if (existsSync(f)) collect(`store ${path.basename(f)} (running)`, readFileSync(f));
    await ctl.stop();
    expect(ctl.child.exitCode).toBe(0);
    for (const f of files) if (existsSync(f)) collect(`store ${path.basename(f)} (stopped)`, readFileSync(f));
    expect(corpus.some((c) => c.label.startsWith('store acictl.db ') && c.bytes.includes('secret-job'))).toBe(true);
    expect(leaks()).toEqual([]);
  });
});

describe('API authentication, binding and limits (DESIGN §5)', () => {
  let c2: ControllerProcess;
  beforeAll(async () => {
    c2 = spawnController(emu, { manifests: [manifest], listen: '0', stateDir: tmp('acictl-rel-sec2-'), env: { ACICTL_SECRET_SENTINEL_ENV: ENV_SECRET, ACICTL_SECRET_SENTINEL_REG: REG_SECRET }, args: ['--secrets-dir', dir] });
    await c2.ready(30_000);
    await waitUntil('secret-job', () => c2.job('secret-job'), 15_000, 100);
  });
  afterAll(async () => {
    collect('controller 2 stdout', c2.stdout + c2.stderr);
    await c2?.stop();
  });

  const routes: [string, string, unknown?][] = [
    ['GET', '/api'],
    ['GET', '/apis'],
    ['GET', '/apis/acictl.dev'],
    ['GET', API],
    ['GET', '/version'],
    ['GET', '/openapi/v2'],
    ['GET', '/openapi/v3'],
    ['GET', '/openapi/v3/apis/acictl.dev/v1'],
    ['GET', `${API}/containerjobs`],
    ['GET', `${API}/containerjobs?watch=true`],
    ['GET', `${API}/containerjobs/secret-job`],
    ['GET', `${API}/containerjobs/secret-job/status`],
    ['PUT', `${API}/containerjobs/secret-job`, { apiVersion: 'acictl.dev/v1', kind: 'ContainerJob', metadata: { name: 'secret-job' } }],
    ['PUT', `${API}/containerjobs/secret-job/status`, {}],
    ['PATCH', `${API}/containerjobs/secret-job`, { spec: { suspend: true } }],
    ['DELETE', `${API}/containerjobs/secret-job`],
    ['POST', `${API}/containerjobs`, { apiVersion: 'acictl.dev/v1', kind: 'ContainerJob', metadata: { name: 'intruder' } }],
    ['POST', `${API}/containerjobs/secret-job/trigger`],
    ['POST', `${API}/containerjobs/secret-job/suspend`],
    ['POST', `${API}/containerjobs/secret-job/resume`],
    ['GET', `${API}/containerjobruns`],
    ['GET', `${API}/containerjobruns/secret-job-m20200101000000`],
    ['GET', `${API}/containerjobruns/secret-job-m20200101000000/log`],
    ['GET', `${API}/containerjobs/secret-job/events`],
    ['GET', `${API}/nonexistent`],
  ];

  test('every API route without a token, with a wrong token or another scheme → 401 and no data; nothing changes', async () => {
    const before = { runs: (await c2.runs()).length, job: JSON.stringify((await c2.job('secret-job')).spec) };
    const wrong = c2.token.slice(0, -1) + (c2.token.endsWith('0') ? '1' : '0');
    const variants: [string, Record<string, string>][] = [
      ['none', {}],
      ['wrong', { authorization: `Bearer ${wrong}` }],
      ['empty', { authorization: 'Bearer ' }],
      ['basic', { authorization: `Basic ${Buffer.from(`admin:${c2.token}`).toString('base64')}` }],
      ['prefix', { authorization: `Bearer ${c2.token.slice(0, 16)}` }],
    ];
    const bad: string[] = [];
    for (const [method, p, body] of routes) {
      for (const [name, headers] of variants) {
        const ac = new AbortController();
        const t = setTimeout(() => ac.abort(), 5000);
        const res = await fetch(c2.url + p, { method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body), signal: ac.signal });
        const text = await res.text();
        clearTimeout(t);
        unauthRequests++;
        collect(`unauthenticated ${method} ${p} (${name})`, text);
        if (res.status !== 401) bad.push(`${method} ${p} (${name}) → ${res.status}`);
        if (/secret-job|sha256|SENTINEL|envSentinel|"items"/.test(text)) bad.push(`${method} ${p} (${name}) leaked data: ${text.slice(0, 120)}`);
      }
    }
    expect(bad).toEqual([]);
    expect((await c2.runs()).length).toBe(before.runs);
    const job = await c2.job('secret-job');
    expect(job).not.toBeNull();
    expect(job.metadata.deletionTimestamp).toBeUndefined();
    expect(JSON.stringify(job.spec)).toBe(before.job);
    expect(await c2.job('intruder')).toBeNull();
    // The open endpoints reveal nothing sensitive.
    for (const p of ['/healthz', '/readyz', '/metrics']) {
      const r = await fetch(c2.url + p);
      const text = await r.text();
      collect(`open ${p}`, text);
      expect([p, r.status]).toEqual([p, 200]);
      expect(text).not.toContain(c2.token);
    }
  });

  test('the API binds to loopback by default; the kubeconfig points there', async () => {
    expect(DEFAULT_LISTEN.startsWith('127.0.0.1:')).toBe(true);
    expect(new URL(c2.url).hostname).toBe('127.0.0.1'); // `--listen 0`: only a port given
    const kube = parseYaml(readFileSync(path.join(c2.stateDir, 'kubeconfig'), 'utf8'));
    expect(new URL(kube.clusters[0].cluster.server).hostname).toBe('127.0.0.1');
    // With no --listen at all (the default address), when its port is free here.
    const port = Number(DEFAULT_LISTEN.split(':')[1]);
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer().once('error', () => resolve(false));
      s.listen(port, '0.0.0.0', () => s.close(() => resolve(true)));
    });
    if (free) {
      defaultListenChecked = true;
      const c3 = spawnController(emu, { listen: null, stateDir: tmp('acictl-rel-sec3-') });
      try {
        await c3.ready(30_000);
        expect(new URL(c3.url).hostname).toBe('127.0.0.1');
        expect(new URL(c3.url).port).toBe(String(port));
        // Not reachable on another local address of this host (bound to loopback only).
        const other = await new Promise<boolean>((resolve) => {
          const sock = net.connect({ host: '127.0.0.2', port }, () => {
            sock.destroy();
            resolve(true);
          });
          sock.on('error', () => resolve(false));
        });
        expect(other).toBe(false);
      } finally {
        await c3.stop();
      }
    }
  });

  test('token and kubeconfig are 0600, the state dir 0700', () => {
    expect(statSync(path.join(c2.stateDir, 'token')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(c2.stateDir, 'kubeconfig')).mode & 0o777).toBe(0o600);
    expect(statSync(c2.stateDir).mode & 0o777).toBe(0o700);
  });

  test('oversized bodies get 413, malformed JSON 400, and the controller keeps serving', async () => {
    const big = JSON.stringify({ apiVersion: 'acictl.dev/v1', kind: 'ContainerJob', metadata: { name: 'big' }, pad: 'x'.repeat(5 * 1024 * 1024) });
    const statuses: Record<string, number> = {};
    for (const [method, p] of [
      ['POST', `${API}/containerjobs`],
      ['PUT', `${API}/containerjobs/secret-job`],
      ['PATCH', `${API}/containerjobs/secret-job`],
    ] as const) {
      const h = { authorization: `Bearer ${c2.token}`, 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' };
      statuses[`${method} big`] = (await fetch(c2.url + p, { method, headers: h, body: big })).status;
      statuses[`${method} malformed`] = (await fetch(c2.url + p, { method, headers: h, body: '{"apiVersion": "acictl.dev/v1", "kind": ' })).status;
      statuses[`${method} not-json`] = (await fetch(c2.url + p, { method, headers: h, body: '\u0000\u0001binary' })).status;
    }
    expect(statuses).toEqual({
      'POST big': 413,
      'POST malformed': 400,
      'POST not-json': 400,
      'PUT big': 413,
      'PUT malformed': 400,
      'PUT not-json': 400,
      'PATCH big': 413,
      'PATCH malformed': 400,
      'PATCH not-json': 400,
    });
    expect(c2.child.exitCode).toBeNull();
    expect((await fetch(`${c2.url}/healthz`)).status).toBe(200);
    expect((await c2.api('GET', `${API}/containerjobs/secret-job`)).status).toBe(200);
  });
});

describe('Invariant 2: ownership (security run)', () => {
  test('foreign groups untouched by two controllers sharing the resource group', async () => {
    ownership = await checkUntouched(emu, planted, emuLog.events, emu.stats());
    expect(ownership.problems).toEqual([]);
  });
});

afterAll(() => {
  const bytes = corpus.reduce((n, c) => n + c.bytes.length, 0);
  const l = leaks();
  writeFigures('security', {
    part: 'secrets',
    summary: `${l.length} leaks of 3 sentinels (env, file, registry password) in ${fmt(bytes)} bytes scanned (${corpus.length} sources: logs, API, CLI, store); ${unauthRequests} unauthenticated requests, all 401 checked; default listen ${defaultListenChecked ? '127.0.0.1:8642 checked' : 'port busy, host default checked'}`,
    figures: { leaks: l, bytes, sources: corpus.map((c) => ({ label: c.label, bytes: c.bytes.length })), unauthRequests, defaultListenChecked },
    ok: l.length === 0,
  });
});
