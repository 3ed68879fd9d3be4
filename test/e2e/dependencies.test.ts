/**
 * Issue 16, acceptance 2 and 3 against a real controller process and the emulator. Second-level
 * schedules compress the day: A every 2 s (Allow), B every 10 s depending on A. B runs once per
 * interval, only after every A run of its interval succeeded; one failed A run makes its B run
 * UpstreamFailed; `acictl clear` of that A run makes it succeed, then B runs. A cycle across two
 * files is an error at both places (acictl validate, and the controller keeps both last good specs).
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { cleanupDirs, ControllerProcess, jobYaml, startControllerProcess, startTestEmulator, tmp, waitUntil } from './harness';
import { runCli } from '../cli/harness';
import type { RunningEmulator } from '../../src/emulator';

jest.setTimeout(180_000);

const RG = 'e2e-deps';
let emu: RunningEmulator & { caFilePath: string };
let ctl: ControllerProcess;
let dir: string;

const acictl = (args: string[]) => runCli([...args, '--server', ctl.url, '--token', ctl.token], { cwd: dir, timeoutMs: 30_000 });
const ms = (t: unknown) => Date.parse(String(t));

beforeAll(async () => {
  emu = await startTestEmulator();
  dir = tmp('acictl-e2e-deps-');
  const arm = path.join(dir, 'arm');
  const failed = path.join(dir, 'failed-once');
  writeFileSync(
    path.join(dir, 'a.yaml'),
    jobYaml('a', { rg: RG, schedule: '*/2 * * * * *', command: `if [ -f ${arm} ] && [ ! -f ${failed} ]; then touch ${failed}; echo failing; exit 1; fi; echo ok`, extra: '  concurrencyPolicy: Allow\n  successfulRunsHistoryLimit: 1000\n' }),
  );
  writeFileSync(
    path.join(dir, 'b.yaml'),
    jobYaml('b', { rg: RG, schedule: '*/10 * * * * *', command: 'echo "report for $ACICTL_DATA_INTERVAL_START"', extra: '  startingDeadlineSeconds: null\n  concurrencyPolicy: Allow\n  successfulRunsHistoryLimit: 100\n  dependsOn:\n    - job: a\n' }),
  );
  writeFileSync(path.join(dir, 'c1.yaml'), jobYaml('c1', { rg: RG }));
  writeFileSync(path.join(dir, 'c2.yaml'), jobYaml('c2', { rg: RG, extra: '  dependsOn: [{job: c1}]\n' }));
  ctl = startControllerProcess(emu, { manifests: [dir] });
  await ctl.ready();
});

afterAll(async () => {
  await ctl?.stop();
  await emu?.close();
  cleanupDirs(dir);
});

test('B (every 10 s) on A (every 2 s): once per interval after the last A; a failed A run → UpstreamFailed; clear it → it succeeds, then B runs', async () => {
  // Let a few intervals pass cleanly, then arm the one failure.
  await waitUntil('two B runs to succeed', async () => ((await ctl.runs('b')).filter((r) => r.status?.phase === 'Succeeded').length >= 2 ? true : null), 60_000, 250);
  writeFileSync(path.join(dir, 'arm'), '');
  const failedA = await waitUntil('an A run to fail', async () => (await ctl.runs('a')).find((r) => r.status?.phase === 'Failed') ?? null, 30_000, 200);
  const aStart = ms(failedA.spec.dataIntervalStart);
  const aEnd = ms(failedA.spec.dataIntervalEnd);
  const blockedB = await waitUntil(
    'the B run of that interval to be UpstreamFailed',
    async () => (await ctl.runs('b')).find((r) => ms(r.spec.dataIntervalStart) < aEnd && ms(r.spec.dataIntervalEnd) > aStart && r.status?.phase === 'UpstreamFailed') ?? null,
    30_000,
    200,
  );
  expect(blockedB.status.reason).toBe('UpstreamFailed');
  expect(blockedB.status.message).toContain(failedA.metadata.name);
  expect(blockedB.status.attempts).toEqual([]);
  expect((await acictl(['get', 'runs', blockedB.metadata.name])).stdout).toMatch(/UpstreamFailed/);

  const cleared = await acictl(['clear', failedA.metadata.name]);
  expect(cleared.code).toBe(0);
  await waitUntil('the cleared A run to succeed', async () => ((await ctl.api('GET', `/apis/acictl.dev/v1/containerjobruns/${failedA.metadata.name}`)).body?.status?.phase === 'Succeeded' ? true : null), 30_000, 200);
  const ran = await waitUntil(
    'the blocked B run to succeed',
    async () => {
      const r = (await ctl.api('GET', `/apis/acictl.dev/v1/containerjobruns/${blockedB.metadata.name}`)).body;
      return r?.status?.phase === 'Succeeded' ? r : null;
    },
    30_000,
    200,
  );
  const aAfter = (await ctl.api('GET', `/apis/acictl.dev/v1/containerjobruns/${failedA.metadata.name}`)).body;
  expect(ms(ran.status.attempts[0].createdAt)).toBeGreaterThanOrEqual(ms(aAfter.status.attempts[1].finishedAt));

  // Every B run that ran started only after every A run of its interval had finished successfully,
  // and each B slot was created once.
  const aRuns = await ctl.runs('a');
  for (const b of (await ctl.runs('b')).filter((r) => r.status?.phase === 'Succeeded')) {
    const bStart = ms(b.spec.dataIntervalStart);
    const bEnd = ms(b.spec.dataIntervalEnd);
    const needed = aRuns.filter((a) => ms(a.spec.dataIntervalStart) < bEnd && ms(a.spec.dataIntervalEnd) > bStart);
    expect(needed.length).toBeGreaterThanOrEqual(5);
    for (const a of needed) {
      expect(a.status.phase).toBe('Succeeded');
      const last = a.status.attempts[a.status.attempts.length - 1];
      expect(ms(b.status.attempts[0].createdAt)).toBeGreaterThanOrEqual(ms(last.finishedAt));
    }
  }
  const bCreations = emu.stats().creations.filter((c) => c.tags['acictl.dev/job'] === 'b').map((c) => c.name);
  expect(new Set(bCreations).size).toBe(bCreations.length);
});

test('a cycle across two files: acictl validate names it at both places; the controller marks both Invalid and keeps their last good specs', async () => {
  await waitUntil('c1 and c2 ready', async () => {
    const [c1, c2] = [await ctl.job('c1'), await ctl.job('c2')];
    const ready = (j: any) => j?.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');
    return ready(c1) && ready(c2) ? true : null;
  }, 20_000);
  writeFileSync(path.join(dir, 'c1.yaml'), jobYaml('c1', { rg: RG, extra: '  dependsOn: [{job: c2}]\n' }));
  const v = await runCli(['validate', path.join(dir, 'c1.yaml'), path.join(dir, 'c2.yaml')], { cwd: dir });
  expect(v.code).toBe(1);
  const lines = v.stdout.split('\n').concat(v.stderr.split('\n')).filter((l) => /dependency cycle/.test(l));
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/c1\.yaml:\d+:\d+: error: dependency cycle: c1 → c2 → c1 \(c1 at .*c1\.yaml:\d+, c2 at .*c2\.yaml:\d+\)/);
  expect(lines[1]).toMatch(/c2\.yaml:\d+:\d+: error: dependency cycle: c1 → c2 → c1/);

  const both = await waitUntil('both Invalid', async () => {
    const js = [await ctl.job('c1'), await ctl.job('c2')];
    const inv = js.map((j: any) => j?.status?.conditions?.find((c: any) => c.type === 'Invalid' && c.status === 'True'));
    return inv.every(Boolean) ? { js, inv } : null;
  }, 20_000);
  for (const c of both.inv) expect(c.message).toMatch(/dependency cycle: c1 → c2 → c1/);
  expect(both.js[0].spec.dependsOn ?? []).toEqual([]); // c1's last good spec
  expect(both.js[1].spec.dependsOn).toEqual([{ job: 'c1' }]);

  // fixing the file clears it
  writeFileSync(path.join(dir, 'c1.yaml'), jobYaml('c1', { rg: RG }));
  await waitUntil('both valid again', async () => {
    const js = [await ctl.job('c1'), await ctl.job('c2')];
    return js.every((j: any) => !j?.status?.conditions?.some((c: any) => c.type === 'Invalid' && c.status === 'True')) ? true : null;
  }, 20_000);
});
