/**
 * Benchmark 5 — watch latency: a controller carrying `baseJobs` jobs (default 1,000) in a watched
 * directory; `edits` times (default 200, one every `spacingMs`) one job file is rewritten with a
 * new schedule whose next slot is the next whole second at least `leadMs` after the write. For each
 * edit it measures
 *   - write → the store holds the new generation (the watcher, validation and source sync:
 *     how fast a Git change takes effect),
 *   - slot → the create request of that job's run at the emulator (dispatch),
 *   - write → first ARM request for the job (includes the wait for the slot: a changed schedule
 *     never runs retroactively, so the first request can only come at the next slot).
 * The controller's client-side budget is lifted (as in bench/schedule-lag.ts, part A) so the 200
 * creates are not spread over the ACI create windows.
 *
 *   npx node dist/bench/watch-latency.js [edits=200] [baseJobs=1000] [spacingMs=250] [leadMs=2500]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TAG_JOB } from '../src/api/names';
import { startEmulator } from '../src/emulator';
import { dailyAtSecond } from './arm-calls';
import { jobDocument, main, percentile, progress, readyCount, round, sleep, startBenchController, tempDir, waitFor, writeJobs, type BenchResult } from './lib/common';
import { NO_BUDGET, setDefaultBudget } from './schedule-lag';

export async function run(opts: { edits?: number; baseJobs?: number; spacingMs?: number; leadMs?: number } = {}): Promise<BenchResult> {
  const edits = opts.edits ?? 200;
  const baseJobs = Math.max(opts.baseJobs ?? 1000, edits);
  const spacing = opts.spacingMs ?? 250;
  const lead = opts.leadMs ?? 2500;
  const tmp = tempDir('watch');
  const emu = await startEmulator({ runtime: 'simulate', simulate: { durationMs: 300 }, throttling: 'off', lroDelayMs: 50 });
  const restore = setDefaultBudget(NO_BUDGET);
  try {
    const manifests = join(tmp.path, 'manifests');
    const rgOf = (i: number) => `bench-rg-${i % 10}`;
    const names = writeJobs(manifests, baseJobs, (i, name) => jobDocument(name, { resourceGroup: rgOf(i), schedule: '@yearly' }));
    const fileOf = (i: number) => join(manifests, `d${Math.floor(i / 100)}`, `${names[i]}.yaml`);
    const controller = await startBenchController(emu, { manifests: [manifests], stateDir: join(tmp.path, 'state') });
    try {
      await waitFor('every job Ready', async () => readyCount(await controller.store.listJobs()) === baseJobs, 120_000, 100);
      await sleep(1000);
      progress(`watch-latency: ${baseJobs} jobs Ready; ${edits} edits, one every ${spacing} ms`);

      // Edits spread over the whole set of files (every 5th job), so directories differ too.
      const picks = Array.from({ length: edits }, (_, k) => (k * Math.max(1, Math.floor(baseJobs / edits))) % baseJobs);
      const pending = new Map<string, { written: number; generation: number }>();
      const toStore: number[] = [];
      const unsubscribe = controller.store.onChange((c) => {
        if (c.resource !== 'containerjobs') return;
        const p = pending.get(c.name);
        if (!p) return;
        // the change carries the written object: no read (listeners are synchronous)
        const j = c.written && 'labels' in c.written ? c.written.load() : undefined;
        if (j && j.generation > p.generation) {
          toStore.push(Date.now() - p.written);
          pending.delete(c.name);
        }
      });
      const slots = new Map<string, { written: number; slot: number }>();
      for (const i of picks) {
        const name = names[i];
        const generation = (await controller.store.getJob(name))!.generation;
        const written = Date.now();
        const slot = Math.ceil((written + lead) / 1000) * 1000;
        pending.set(name, { written, generation });
        slots.set(name, { written, slot });
        writeFileSync(fileOf(i), jobDocument(name, { resourceGroup: rgOf(i), schedule: dailyAtSecond(slot), extra: '  timeZone: UTC\n' }));
        await sleep(spacing);
      }
      await waitFor('every edit in the store', () => pending.size === 0, 30_000, 20).catch(() => undefined);
      await waitFor('a create per edit', () => emu.stats().creations.length >= edits, lead + 5000, 100).catch(() => undefined);
      unsubscribe();
      const firstCreate = new Map<string, number>();
      for (const c of emu.stats().creations) {
        const job = c.tags[TAG_JOB];
        if (!firstCreate.has(job)) firstCreate.set(job, Date.parse(c.time));
      }
      const dispatch: number[] = [];
      const writeToArm: number[] = [];
      for (const [name, s] of slots) {
        const t = firstCreate.get(name);
        if (t === undefined) continue;
        dispatch.push(t - s.slot);
        writeToArm.push(t - s.written);
      }
      return {
        edits,
        baseJobs,
        spacingMs: spacing,
        editsSeenInStore: toStore.length,
        editsWithCreate: dispatch.length,
        writeToStoreP50Ms: round(percentile(toStore, 50)),
        writeToStoreP99Ms: round(percentile(toStore, 99)),
        writeToStoreMaxMs: round(Math.max(...toStore)),
        slotToCreateP50Ms: round(percentile(dispatch, 50)),
        slotToCreateP99Ms: round(percentile(dispatch, 99)),
        writeToFirstArmRequestP50Ms: round(percentile(writeToArm, 50)),
        writeToFirstArmRequestP99Ms: round(percentile(writeToArm, 99)),
        slotWaitMsRange: `${lead}-${lead + 1000} (next whole second ≥ write + ${lead} ms)`,
      };
    } finally {
      await controller.stop();
    }
  } finally {
    restore();
    await emu.close();
    tmp.remove();
  }
}

if (require.main === module) main(run);
