/**
 * startController keeps the watcher's validation results in `<stateDir>/validation-cache.db`: a
 * restart over unchanged manifests validates none of them and ends with the same jobs; a garbage
 * cache file is reported and replaced, and every manifest is still loaded.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { startController, type RunningController } from '../../src/controller/controller';
import { defaultValidatorStats } from '../../src/controller/watcher';
import { startEmulator, type RunningEmulator } from '../../src/emulator';
import { inProcessOptions } from '../fixtures/in-process-controller';
import { manifest } from './watcher-helpers';

let dir: string;
let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startEmulator({ runtime: 'simulate', throttling: 'off', lroDelayMs: 10 });
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'acictl-ctlcache-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A controller on `manifests`, its warnings collected. */
async function start(manifests: string, stateDir: string, warnings: string[]): Promise<RunningController> {
  const sink = { write: (line: string) => void (JSON.parse(line).level === 40 && warnings.push(JSON.parse(line).msg as string)) };
  return startController(inProcessOptions(emu, { manifests: [manifests], stateDir, logger: pino({ level: 'warn' }, sink) }));
}

const validated = () => {
  const s = defaultValidatorStats();
  return s.inPlace + s.inWorkers;
};

async function specs(c: RunningController): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  await c.store.forEachJob((j) => (out[j.name] = { spec: j.spec, labels: j.labels, source: j.source }));
  return out;
}

test('a restarted controller validates none of its unchanged manifests; a garbage cache file only costs a warning', async () => {
  const m = path.join(dir, 'manifests');
  const state = path.join(dir, 'state');
  mkdirSync(m);
  for (let i = 0; i < 20; i++) writeFileSync(path.join(m, `job-${i}.yaml`), manifest(`job-${i}`, `img:${i}`));
  writeFileSync(path.join(m, 'broken.yaml'), manifest('broken').replace('location:', 'locashun:'));

  const warnings: string[] = [];
  let before = validated();
  const first = await start(m, state, warnings);
  let jobs: Record<string, unknown>;
  try {
    expect(validated() - before).toBe(21);
    jobs = await specs(first);
    expect(Object.keys(jobs)).toHaveLength(20);
  } finally {
    await first.stop();
  }
  expect(existsSync(path.join(state, 'validation-cache.db'))).toBe(true);

  before = validated();
  const second = await start(m, state, warnings);
  try {
    expect(validated() - before).toBe(0);
    expect(await specs(second)).toEqual(jobs);
  } finally {
    await second.stop();
  }
  expect(warnings.filter((w) => /validation cache/.test(w))).toEqual([]);

  writeFileSync(path.join(state, 'validation-cache.db'), Buffer.alloc(4096, 0x5a));
  before = validated();
  const third = await start(m, state, warnings);
  try {
    expect(warnings).toContain('validation cache file is corrupt; replacing it with an empty one');
    expect(validated() - before).toBe(21);
    expect(await specs(third)).toEqual(jobs);
  } finally {
    await third.stop();
  }
});
