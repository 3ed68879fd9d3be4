/**
 * Web UI render times in headless Chromium (Debian's, through playwright-core):
 *   - jobsFirstRenderMs: the jobs page with `jobs` jobs (default 10,000; 3 recent runs on each of
 *     the first page's jobs): navigation start → the first page of rows in the DOM (HTML, script,
 *     the /ui/api/jobs answer that filters, sorts and pages 10,000 jobs, and the DOM), median of
 *     `repeats` loads (default 5); …Max the worst;
 *   - jobsApiMs: that /ui/api/jobs answer alone (median, from the bench process); jobsApiColdMs the
 *     first one, which reads every job once (later ones read only jobs that changed);
 *   - runLogRenderMs: a run page whose attempt has a `logLines`-line archived log (default 5,000):
 *     navigation start → every line in the page (median of `repeats`).
 * The API server and the UI run in this process on a SQLite store in a temporary state dir.
 *
 *   npx node dist/bench/ui-render.js [jobs=10000] [logLines=5000] [repeats=5]
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startApiServer } from '../src/apiserver/server';
import { createTlsMaterial } from '../src/apiserver/tls';
import { validateObject } from '../src/manifest/validate';
import { openStore } from '../src/store';
import type { RunRecord } from '../src/api/runs';
import { WebUi } from '../src/ui/server';
import { main, percentile, progress, round, tempDir, type BenchResult } from './lib/common';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-quic', '--no-first-run', '--disable-sync'];

function spec(i: number): never {
  return {
    schedule: i % 3 === 0 ? '@daily' : i % 3 === 1 ? '*/15 * * * *' : '30 2 * * 1-5',
    timeZone: i % 2 ? 'UTC' : 'Europe/Berlin',
    template: { resourceGroup: 'bench', location: 'eastus', containers: [{ name: 'main', image: 'registry.example.com/app:1', command: ['/bin/sh', '-c', 'echo hi'], resources: { requests: { cpu: 0.5, memoryInGB: 0.5 } } }] },
  } as never;
}

export async function run(opts: { jobs?: number; logLines?: number; repeats?: number } = {}): Promise<BenchResult> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (apt-get install -y chromium)`);
  const jobs = Number(opts.jobs ?? 10_000);
  const logLines = Number(opts.logLines ?? 5_000);
  const repeats = Number(opts.repeats ?? 5);
  const dir = tempDir('ui');
  const store = openStore(dir.path);
  const now = Date.now();
  progress(`writing ${jobs} jobs`);
  const nowIso = new Date(now).toISOString();
  await store.transaction(async () => {
    for (let i = 0; i < jobs; i++) {
      const name = `job-${String(i).padStart(5, '0')}`;
      const invalid = i % 500 === 7;
      await store.putJob({
        name,
        labels: { team: `t${i % 20}` },
        annotations: {},
        finalizers: [],
        spec: spec(i),
        source: { kind: 'directory', root: '/jobs', file: `/jobs/d${Math.floor(i / 100)}/${name}.yaml`, revision: 'abc123' },
        status: {
          conditions: [
            { type: 'Ready', status: invalid ? 'False' : 'True', reason: invalid ? 'SourceInvalid' : 'Ready', message: '', lastTransitionTime: nowIso },
            ...(invalid ? [{ type: 'Invalid', status: 'True' as const, reason: 'SourceInvalid', message: `d0/${name}.yaml:12:3: error: unknown field "scheduel"`, lastTransitionTime: nowIso }] : []),
          ],
          nextScheduleTime: new Date(now + ((i * 7919) % 86_400_000)).toISOString(),
          lastScheduleTime: new Date(now - ((i * 104729) % 86_400_000)).toISOString(),
          lastRunResult: i % 9 ? 'Succeeded' : 'Failed',
        },
      });
    }
  });
  const mkRun = (job: string, k: number, phase: RunRecord['phase']): RunRecord => {
    const t = now - (k + 1) * 86_400_000;
    return {
      id: `${job}-2026${String(k).padStart(8, '0')}`, job, slot: t, manual: false, scheduledTime: t, dataIntervalStart: t - 86_400_000, dataIntervalEnd: t, phase, createdAt: t, finishedAt: t + 60_000,
      attempts: [{ attempt: 1, groupName: `${job}-g${k}`, phase: phase === 'Failed' ? 'Failed' : 'Succeeded', createdAt: t, startedAt: t + 1000, finishedAt: t + 60_000, exitCode: phase === 'Failed' ? 1 : 0, logsArchived: true, groupDeleted: true }],
    };
  };
  await store.transaction(async () => {
    for (let i = 0; i < Math.min(jobs, 50); i++) for (let k = 0; k < 3; k++) await store.putRun(mkRun(`job-${String(i).padStart(5, '0')}`, k, k === 1 && i % 4 === 0 ? 'Failed' : 'Succeeded'));
  });
  const logRun = mkRun('job-00000', 99, 'Succeeded');
  await store.putRun(logRun);
  await store.putLog(logRun.id, 1, 'main', Array.from({ length: logLines }, (_, i) => `${new Date(now + i).toISOString()} line ${i + 1} of ${logLines}: some typical log text here`).join('\n') + '\n');

  const token = 'bench-token-' + Math.random().toString(36).slice(2);
  const ui = new WebUi({ store, token });
  const tls = await createTlsMaterial(now);
  const api = await startApiServer(
    {
      store, token, tls, ui,
      validate: (obj, o) => validateObject(obj, o) as never,
      enqueue: () => undefined,
      trigger: async () => ({ run: 'x' }),
      setSuspended: async () => undefined,
      logs: async function* (id: string, attempt: number | undefined) {
        for (const part of await store.getLog(id, attempt ?? 1)) yield part.content;
      },
      metrics: async () => ({ contentType: 'text/plain', body: '' }),
      ready: () => true,
    },
    { host: '127.0.0.1', port: 0 },
  );
  const base = api.httpsUrl!;
  const profile = tempDir('chromium');
  const context = await chromium.launchPersistentContext(profile.path, { executablePath: CHROMIUM, headless: true, args: ARGS, ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${base}/login?token=${token}`);
    // API alone, from here (a session cookie from the browser context)
    const cookie = (await context.cookies(base)).map((c) => `${c.name}=${c.value}`).join('; ');
    const apiMs: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      const res = await fetch(`${api.url}/ui/api/jobs?sort=next&limit=50`, { headers: { cookie } });
      await res.json();
      apiMs.push(performance.now() - t0);
    }
    const jobsMs: number[] = [];
    for (let i = 0; i < repeats; i++) {
      await page.goto('about:blank');
      await page.goto(`${base}/#/`);
      await page.locator('tr[data-job="job-00049"]').waitFor({ timeout: 30_000 });
      jobsMs.push(await page.evaluate(() => performance.now()));
    }
    const count = await page.locator('tbody tr[data-job]').count();
    if (count !== 50) throw new Error(`expected 50 rows on the first page, saw ${count}`);
    progress(`jobs page: ${jobsMs.map((m) => round(m)).join(', ')} ms`);
    const logMs: number[] = [];
    for (let i = 0; i < repeats; i++) {
      await page.goto('about:blank');
      await page.goto(`${base}/#/runs/${logRun.id}`);
      await page.waitForFunction((n) => document.getElementById('log-status-1')?.textContent === 'complete' && (document.getElementById('log-1')?.textContent ?? '').split('\n').length > n, logLines, { timeout: 30_000, polling: 'raf' });
      logMs.push(await page.evaluate(() => performance.now()));
    }
    const lines = (await page.locator('#log-1').textContent())!.split('\n').filter(Boolean).length;
    if (lines !== logLines) throw new Error(`expected ${logLines} log lines, saw ${lines}`);
    progress(`run page: ${logMs.map((m) => round(m)).join(', ')} ms`);
    if (errors.length) throw new Error(`console errors: ${errors.join('; ')}`);
    return {
      jobs,
      logLines,
      repeats,
      jobsFirstRenderMs: round(percentile(jobsMs, 50)),
      jobsFirstRenderMaxMs: round(Math.max(...jobsMs)),
      jobsApiMs: round(percentile(apiMs, 50)),
      jobsApiColdMs: round(apiMs[0]!),
      runLogRenderMs: round(percentile(logMs, 50)),
      runLogRenderMaxMs: round(Math.max(...logMs)),
    };
  } finally {
    await context.close();
    await api.close();
    await store.close();
    profile.remove();
    dir.remove();
  }
}

if (require.main === module) main(run);

// the page's globals, for the waitForFunction callback above (this program has no DOM lib)
declare const document: { getElementById(id: string): { textContent: string | null } | null };
