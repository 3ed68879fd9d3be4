/**
 * Invariant 2 (ownership) with two controller instances sharing one resource group: instance A
 * (crash-restarted once) and instance B (its own state dir, so its own instance id), plus groups
 * without our tags, groups hand-tagged by another instance, and a pre-existing unmanaged group with
 * the name of A's Reuse job (failIfExists: never adopted). Evidence comes from the emulator: its log
 * of updates/deletions/stops and its start log.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ControllerProcess, jobYaml, startTestEmulator } from '../e2e/harness';
import type { RunningEmulator } from '../../src/emulator';
import { TAG_MANAGED_BY } from '../../src/api/names';
import { writeFigures } from './lib/figures';
import { armClient, checkUntouched, EmuEventLog, plantForeignGroups, sleep, spawnController, tmp, waitUntil, type PlantedGroup } from './lib/procs';

jest.setTimeout(120_000);

const RG = 'shared-rg';
let emu: RunningEmulator & { caFilePath: string };
const emuLog = new EmuEventLog();
let a: ControllerProcess;
let b: ControllerProcess;
let planted: PlantedGroup[];
const stateA = tmp('acictl-rel-own-a-');
const stateB = tmp('acictl-rel-own-b-');
let reuseRun: any;

beforeAll(async () => {
  emu = await startTestEmulator({ logger: emuLog.logger });
  planted = await plantForeignGroups(emu, RG, 'a-tick');
  // An unmanaged group that has the name A's Reuse job would use.
  await armClient(emu).containerGroups.beginCreateOrUpdateAndWait(RG, 'reuse-taken', {
    location: 'eastus',
    osType: 'Linux',
    restartPolicy: 'Never',
    tags: { team: 'other' },
    containers: [{ name: 'c', image: 'busybox', command: ['/bin/sh', '-c', 'sleep 3600'], resources: { requests: { cpu: 0.1, memoryInGB: 0.1 } } }],
  });
  planted.push({ resourceGroup: RG, name: 'reuse-taken', tags: { team: 'other' }, kind: 'unmanaged' });

  const ma = tmp('acictl-rel-own-ma-');
  const mb = tmp('acictl-rel-own-mb-');
  const many = '  concurrencyPolicy: Allow\n  successfulRunsHistoryLimit: 1\n  cleanup: {onSuccess: Delete, onFailure: Delete}\n';
  writeFileSync(path.join(ma, 'a-tick.yaml'), jobYaml('a-tick', { rg: RG, schedule: '*/2 * * * * *', extra: many }));
  writeFileSync(path.join(ma, 'reuse-taken.yaml'), jobYaml('reuse-taken', { rg: RG, schedule: null, extra: '  groupPolicy: Reuse\n  failIfExists: true\n' }));
  // B keeps every group, so any update/stop/delete of a b-tick group can only come from A.
  writeFileSync(path.join(mb, 'b-tick.yaml'), jobYaml('b-tick', { rg: RG, schedule: '*/2 * * * * *', extra: '  concurrencyPolicy: Allow\n  cleanup: {onSuccess: Keep, onFailure: Keep}\n  successfulRunsHistoryLimit: 1000\n' }));
  b = spawnController(emu, { manifests: [mb], stateDir: stateB });
  a = spawnController(emu, { manifests: [ma], stateDir: stateA });
  await Promise.all([a.ready(30_000), b.ready(30_000)]);
  await sleep(5000);
  a.kill('SIGKILL'); // A restarts and lists the shared resource group again
  await a.exited;
  a = spawnController(emu, { manifests: [ma], stateDir: stateA });
  await a.ready(30_000);
  const trig = await a.api('POST', '/apis/acictl.dev/v1/containerjobs/reuse-taken/trigger');
  reuseRun = await waitUntil(
    'the Reuse run to finish',
    async () => {
      const r = (await a.api('GET', `/apis/acictl.dev/v1/containerjobruns/${trig.body.run}`)).body;
      return r?.status?.phase === 'Failed' || r?.status?.phase === 'Succeeded' ? r : null;
    },
    30_000,
    250,
  ).catch(() => null);
  await sleep(3000);
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await emu?.close();
});

describe('Invariant 2: ownership — only groups carrying our ownership tags are touched', () => {
  test('both instances ran their jobs in the shared resource group', () => {
    const creations = emu.stats().creations;
    expect(creations.filter((c) => c.tags['acictl.dev/job'] === 'a-tick').length).toBeGreaterThanOrEqual(3);
    expect(creations.filter((c) => c.tags['acictl.dev/job'] === 'b-tick').length).toBeGreaterThanOrEqual(3);
  });

  test("instance A never updated, stopped, restarted or deleted instance B's groups", () => {
    const stats = emu.stats();
    const bIds = new Set(stats.creations.filter((c) => c.tags['acictl.dev/job'] === 'b-tick').map((c) => c.tags[TAG_MANAGED_BY]));
    expect(bIds.size).toBe(1);
    const bGroups = new Set(stats.creations.filter((c) => c.tags['acictl.dev/job'] === 'b-tick').map((c) => c.name));
    const touched = emuLog.events.filter((e) => bGroups.has(String(e.group)) && /updated|deleting|stopped/.test(e.msg)).map((e) => `${e.group}: ${e.msg}`);
    expect(touched).toEqual([]);
    const restarted = stats.starts.filter((s) => bGroups.has(s.name) && s.reason !== 'create').map((s) => `${s.name}: ${s.reason}`);
    expect(restarted).toEqual([]);
  });

  test('a pre-existing unmanaged group with the Reuse job name is not adopted (failIfExists)', () => {
    expect(reuseRun).not.toBeNull();
    expect(reuseRun.status.phase).toBe('Failed');
  });

  test('unmanaged and hand-tagged foreign groups are untouched', async () => {
    const report = await checkUntouched(emu, planted, emuLog.events, emu.stats());
    writeFigures('ownership', {
      part: 'ownership',
      summary: `${planted.length} foreign groups + instance B's groups, 2 instances, 1 crash-restart: ${report.problems.length} writes to groups we do not own`,
      figures: { ...report },
      ok: report.problems.length === 0,
    });
    expect(report.problems).toEqual([]);
  });
});
