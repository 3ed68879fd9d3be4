/**
 * Runtimes through the SDK: real exit codes and interleaved logs, restart policies, environment
 * isolation, secrets never echoed, stop/delete killing processes, the simulate runtime, and
 * persistence across an emulator restart.
 */
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, RunningEmulator } from '../../src/emulator';
import { clientFor, FAST, shGroup, waitFor, waitState } from './helpers';

let emu: RunningEmulator;
const RG = 'runtime-rg';

beforeAll(async () => {
  emu = await startEmulator({ lroDelayMs: 20, restartBackoffMs: 20 });
});
afterAll(async () => {
  await emu?.close();
});

/** A killed process may linger as a zombie until init reaps it; a zombie no longer runs. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

test("sh -c 'echo out; echo err >&2; exit 3' → exit code 3 in the instance view and both lines in the log", async () => {
  const client = clientFor(emu);
  await client.containerGroups.beginCreateOrUpdateAndWait(RG, 'exit3', shGroup('echo out; echo err >&2; exit 3'), FAST);
  const g = await waitState(client, RG, 'exit3', ['Failed']);
  const cur = g.containers[0].instanceView!.currentState!;
  expect(cur.state).toBe('Terminated');
  expect(cur.exitCode).toBe(3);
  expect(cur.detailStatus).toBe('Error');
  expect(cur.finishTime).toBeInstanceOf(Date);
  expect(g.containers[0].instanceView!.restartCount).toBe(0); // restartPolicy Never
  const log = (await client.containers.listLogs(RG, 'exit3', 'main')).content!;
  expect(log.split('\n').sort()).toEqual(['', 'err', 'out']);
});

test('OnFailure restarts a failing container and restartCount grows; Never does not; a success is not restarted', async () => {
  const client = clientFor(emu);
  await client.containerGroups.beginCreateOrUpdateAndWait(RG, 'onfail', shGroup('echo attempt; exit 1', { restartPolicy: 'OnFailure' }), FAST);
  const g = await waitFor(async () => {
    const x = await client.containerGroups.get(RG, 'onfail');
    return (x.containers[0].instanceView?.restartCount ?? 0) >= 2 ? x : undefined;
  });
  expect(g.instanceView?.state).toBe('Running');
  expect(g.containers[0].instanceView?.previousState?.state).toBe('Terminated');
  expect(g.containers[0].instanceView?.previousState?.exitCode).toBe(1);
  await client.containerGroups.stop(RG, 'onfail');

  await client.containerGroups.beginCreateOrUpdateAndWait(RG, 'onfail-ok', shGroup('exit 0', { restartPolicy: 'OnFailure' }), FAST);
  const ok = await waitState(client, RG, 'onfail-ok', ['Succeeded']);
  expect(ok.containers[0].instanceView?.restartCount).toBe(0);

  await client.containerGroups.beginCreateOrUpdateAndWait(RG, 'always', shGroup('exit 0', { restartPolicy: 'Always' }), FAST);
  await waitFor(async () => ((await client.containerGroups.get(RG, 'always')).containers[0].instanceView?.restartCount ?? 0) >= 1);
  await client.containerGroups.stop(RG, 'always');
});

test('the process sees only its own environment plus PATH/HOME; secure values reach it but never GET or list', async () => {
  const client = clientFor(emu);
  process.env.EMULATOR_TEST_LEAK = 'must-not-leak';
  const group = shGroup('env | sort | cut -d= -f1; case "$TOKEN" in s3cr3t-v*) echo secure-ok;; esac', {
    env: [{ name: 'PLAIN', value: 'p' }, { name: 'TOKEN', secureValue: 's3cr3t-value' }],
    imageRegistryCredentials: [{ server: 'r.example', username: 'u', password: 'registry-pass' }],
    volumes: [
      { name: 'f', azureFile: { shareName: 's', storageAccountName: 'a', storageAccountKey: 'account-key' } },
      { name: 'sec', secret: { 'a.txt': Buffer.from('secret-volume').toString('base64') } },
    ],
    diagnostics: { logAnalytics: { workspaceId: 'w', workspaceKey: 'workspace-key' } },
  });
  try {
    let putBody = '';
    await client.containerGroups.beginCreateOrUpdateAndWait(RG, 'envs', group, { ...FAST, onResponse: (r) => { if (r.request.method === 'PUT') putBody = r.bodyAsText ?? ''; } });
    const g = await waitState(client, RG, 'envs', ['Succeeded']);
    const names = (await client.containers.listLogs(RG, 'envs', 'main')).content!.trim().split('\n');
    expect(names).toContain('secure-ok');
    const vars = names.filter((n) => n !== 'secure-ok' && n !== 'PWD' && n !== 'SHLVL' && n !== '_');
    expect(vars.sort()).toEqual(['HOME', 'PATH', 'PLAIN', 'TOKEN']);

    const secrets = ['s3cr3t-value', 'registry-pass', 'account-key', 'workspace-key', Buffer.from('secret-volume').toString('base64')];
    const listed: unknown[] = [];
    for await (const x of client.containerGroups.listByResourceGroup(RG)) listed.push(x);
    for (const text of [putBody, JSON.stringify(g), JSON.stringify(listed), JSON.stringify(emu.stats())]) {
      for (const s of secrets) expect(text.includes(s)).toBe(false);
    }
    expect(g.containers[0].environmentVariables).toEqual([{ name: 'PLAIN', value: 'p' }, { name: 'TOKEN' }]);
  } finally {
    delete process.env.EMULATOR_TEST_LEAK;
  }
});

test('stop and delete kill the process group; a container without a command exits 0 with a log line', async () => {
  const client = clientFor(emu);
  const dir = mkdtempSync(join(tmpdir(), 'emu-kill-'));
  try {
    const pidFile = join(dir, 'pid');
    await client.containerGroups.beginCreateOrUpdateAndWait(RG, 'killme', shGroup(`sleep 60 & echo $! > ${pidFile}; wait`), FAST);
    const child = await waitFor(() => (existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() ? Number(readFileSync(pidFile, 'utf8')) : undefined));
    expect(alive(child)).toBe(true);
    await client.containerGroups.stop(RG, 'killme');
    await waitFor(() => !alive(child) || undefined);

    rmSync(pidFile);
    await client.containerGroups.beginStartAndWait(RG, 'killme', FAST);
    const again = await waitFor(() => (existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() ? Number(readFileSync(pidFile, 'utf8')) : undefined));
    await client.containerGroups.beginDeleteAndWait(RG, 'killme', FAST);
    await waitFor(() => !alive(again) || undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const noCmd = shGroup('');
  delete noCmd.containers[0].command;
  noCmd.containers[0].image = 'hello-world:latest';
  await client.containerGroups.beginCreateOrUpdateAndWait(RG, 'nocmd', noCmd, FAST);
  const g = await waitState(client, RG, 'nocmd', ['Succeeded']);
  expect(g.containers[0].instanceView?.currentState?.exitCode).toBe(0);
  expect((await client.containers.listLogs(RG, 'nocmd', 'main')).content).toMatch(/hello-world:latest.*was not run/);
});

test('simulate runtime: nothing spawned, finishes after durationMs with exitCode, overridable per group', async () => {
  const sim = await startEmulator({ runtime: 'simulate', simulate: { durationMs: 50, exitCode: 0 }, lroDelayMs: 10 });
  try {
    const client = clientFor(sim);
    const dir = mkdtempSync(join(tmpdir(), 'emu-sim-'));
    const marker = join(dir, 'ran');
    await client.containerGroups.beginCreateOrUpdateAndWait('sim', 'a', shGroup(`touch ${marker}`), FAST);
    const a = await waitState(client, 'sim', 'a', ['Succeeded']);
    expect(a.containers[0].instanceView?.currentState?.exitCode).toBe(0);
    expect(existsSync(marker)).toBe(false);
    rmSync(dir, { recursive: true, force: true });
    await client.containerGroups.beginCreateOrUpdateAndWait('sim', 'b', shGroup('x', { env: [{ name: 'EMULATOR_SIMULATE_MS', value: '10' }, { name: 'EMULATOR_SIMULATE_EXIT_CODE', value: '4' }] }), FAST);
    const b = await waitState(client, 'sim', 'b', ['Failed']);
    expect(b.containers[0].instanceView?.currentState?.exitCode).toBe(4);
  } finally {
    await sim.close();
  }
});

test('stateDir: groups and the certificate survive a restart; lost runs are marked Failed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'emu-state-'));
  try {
    const first = await startEmulator({ stateDir: dir, lroDelayMs: 10 });
    const c1 = clientFor(first);
    await c1.containerGroups.beginCreateOrUpdateAndWait('p', 'done', shGroup('exit 0', { env: [{ name: 'S', secureValue: 'persist-secret' }] }), FAST);
    await waitState(c1, 'p', 'done', ['Succeeded']);
    await c1.containerGroups.beginCreateOrUpdateAndWait('p', 'running', shGroup('sleep 60'), FAST);
    await waitState(c1, 'p', 'running', ['Running']);
    await first.close();
    expect(readFileSync(join(dir, 'emulator-groups.json'), 'utf8')).not.toContain('persist-secret');

    const second = await startEmulator({ stateDir: dir, lroDelayMs: 10 });
    try {
      expect(second.ca).toBe(first.ca);
      expect(second.caFile).toBe(join(dir, 'emulator-ca.pem'));
      const c2 = clientFor(second);
      expect((await c2.containerGroups.get('p', 'done')).instanceView?.state).toBe('Succeeded');
      const lost = await c2.containerGroups.get('p', 'running');
      expect(lost.instanceView?.state).toBe('Failed');
      expect(lost.containers[0].instanceView?.currentState?.detailStatus).toMatch(/emulator restarted/);
      expect(second.stats().creations.map((x) => x.name)).toEqual(['done', 'running']);
    } finally {
      await second.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
