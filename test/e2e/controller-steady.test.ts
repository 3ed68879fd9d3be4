/**
 * Issue 6, acceptance 7 (DESIGN §7 invariant 4, no churn): with 100 idle jobs the controller makes
 * zero ARM writes in a 60-second steady state, while resyncing every 2 s (reads are list pages only).
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { cleanupDirs, ControllerProcess, jobYaml, sleep, startControllerProcess, startTestEmulator, tmp, waitUntil } from './harness';
import type { RunningEmulator } from '../../src/emulator';

const STEADY_SECONDS = Number(process.env.ACICTL_STEADY_SECONDS ?? 60);
jest.setTimeout((STEADY_SECONDS + 60) * 1000);

let emu: RunningEmulator & { caFilePath: string };
let ctl: ControllerProcess;
let dir: string;

beforeAll(async () => {
  emu = await startTestEmulator({ pageSize: 100 });
  dir = tmp('acictl-steady-');
  for (let i = 0; i < 100; i++) {
    // Idle: yearly jobs, half of them with a Reuse group policy (its group is created only at a run).
    const extra = i % 2 ? '  groupPolicy: Reuse\n' : '';
    writeFileSync(path.join(dir, `job-${i}.yaml`), jobYaml(`idle-${i}`, { rg: `steady-${i % 4}`, schedule: '0 0 1 1 *', extra }));
  }
  ctl = startControllerProcess(emu, { manifests: [dir], args: ['--resync-interval', '2s'] });
  await ctl.ready();
});

afterAll(async () => {
  await ctl?.stop();
  await emu?.close();
  cleanupDirs(dir);
});

test(`zero ARM writes in ${STEADY_SECONDS} s of steady state with 100 idle jobs`, async () => {
  await waitUntil('every job Ready', async () => {
    const list = (await ctl.api('GET', '/apis/acictl.dev/v1/containerjobs')).body;
    return list?.items?.length === 100 && list.items.every((j: any) => j.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
  }, 30_000, 200);
  const before = emu.stats();
  const statusRvBefore = (await ctl.api('GET', '/apis/acictl.dev/v1/containerjobs')).body.metadata.resourceVersion;
  await sleep(STEADY_SECONDS * 1000);
  const after = emu.stats();
  expect(after.writes - before.writes).toBe(0);
  for (const op of ['put', 'patch', 'delete', 'start', 'stop', 'restart']) {
    expect((after.requests[op] ?? 0) - (before.requests[op] ?? 0)).toBe(0);
  }
  // Reads are list pages: 4 resource groups, one page each, one listing every 2 s.
  const lists = (after.requests.list ?? 0) - (before.requests.list ?? 0);
  const gets = (after.requests.get ?? 0) - (before.requests.get ?? 0);
  expect(gets).toBe(0);
  expect(lists).toBeGreaterThan(0);
  expect(lists).toBeLessThanOrEqual(4 * Math.ceil(STEADY_SECONDS / 2) + 4);
  // Nor does the controller churn its own store: no status rewrites at steady state.
  const statusRvAfter = (await ctl.api('GET', '/apis/acictl.dev/v1/containerjobs')).body.metadata.resourceVersion;
  expect(statusRvAfter).toBe(statusRvBefore);
});
