/**
 * Issue 6, acceptance 6: SIGKILL the controller mid-run; a restart adopts the running group —
 * no duplicate run, the run completes and is recorded.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { cleanupDirs, ControllerProcess, jobYaml, startControllerProcess, startTestEmulator, tmp, waitUntil } from './harness';
import type { RunningEmulator } from '../../src/emulator';

jest.setTimeout(90_000);

let emu: RunningEmulator & { caFilePath: string };
let dir: string;
let stateDir: string;
const procs: ControllerProcess[] = [];

beforeAll(async () => {
  emu = await startTestEmulator();
  dir = tmp('acictl-crash-');
  stateDir = tmp('acictl-crash-state-');
  writeFileSync(path.join(dir, 'long.yaml'), jobYaml('long', { rg: 'e2e-crash', schedule: null, command: 'echo started; sleep 3; echo finished' }));
});

afterAll(async () => {
  for (const p of procs) await p.stop();
  await emu?.close();
  cleanupDirs(dir, stateDir);
});

test('a controller killed with SIGKILL mid-run adopts the running group after a restart', async () => {
  const first = startControllerProcess(emu, { manifests: [dir], stateDir });
  procs.push(first);
  await first.ready();
  const runId = (await first.api('POST', '/apis/acictl.dev/v1/containerjobs/long/trigger')).body.run as string;
  await waitUntil('the run to be running', async () => {
    const r = (await first.api('GET', `/apis/acictl.dev/v1/containerjobruns/${runId}`)).body;
    return r?.status?.attempts?.[0]?.phase === 'Running';
  }, 15_000, 50);
  first.kill('SIGKILL');
  await first.exited;

  const second = startControllerProcess(emu, { manifests: [dir], stateDir });
  procs.push(second);
  await second.ready();
  const done = await waitUntil('the run to finish', async () => {
    const r = (await second.api('GET', `/apis/acictl.dev/v1/containerjobruns/${runId}`)).body;
    return r?.status?.phase === 'Succeeded' ? r : null;
  }, 30_000, 100);
  expect(done.status.attempts).toHaveLength(1);
  expect(done.status.attempts[0].exitCode).toBe(0);
  // Exactly one creation and one start of the run's group at the emulator.
  const stats = emu.stats();
  expect(stats.creations.filter((c) => c.name === runId)).toHaveLength(1);
  expect(stats.starts.filter((s) => s.name === runId)).toHaveLength(1);
  // Its logs were captured by the second controller.
  const log = await second.api('GET', `/apis/acictl.dev/v1/containerjobruns/${runId}/log`);
  expect(log.text).toContain('started');
  expect(log.text).toContain('finished');
  // The instance id is kept across restarts (ownership tags stay valid).
  expect(stats.creations.find((c) => c.name === runId)!.tags['acictl.dev/managed-by']).toMatch(/^acictl-/);
});
