/**
 * The web UI in real headless Chromium against a real controller process on the emulator
 * (issue #15 acceptance 1, 2, 4 and 6): log in with the logged link, see the example jobs, trigger
 * the seed's job and watch its run go Running → Succeeded without reloading, read its log, suspend
 * and resume (and see it in `acictl get jobs`), an invalid file's FILE:LINE:COL, a 2,000-line live
 * log, both screen sizes, keyboard reach — and no console error anywhere. Screenshots go to docs/.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { runCli } from '../cli/harness';
import { cleanupDirs, ROOT, startControllerProcess, startTestEmulator, tmp, waitUntil, type ControllerProcess } from '../e2e/harness';
import { CHROMIUM, ensureUiBuilt, launchBrowser, type Browser } from './browser';

// page.evaluate callbacks run in the browser: its globals, typed loosely (the test program has no DOM lib)
declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const window: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare class MutationObserver { constructor(cb: () => void); observe(el: unknown, o: object): void } // eslint-disable-line @typescript-eslint/no-extraneous-class

// a real browser, controller and containers on a shared machine: room for a loaded CI
jest.setTimeout(120_000);

const have = existsSync(CHROMIUM);
const maybe = have ? describe : describe.skip;
if (!have) console.warn(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);

const CHATTY = `apiVersion: acictl.dev/v1
kind: ContainerJob
metadata:
  name: chatty
spec:
  template:
    resourceGroup: ui-test
    location: eastus
    containers:
      - name: main
        image: busybox
        command: ["/bin/sh", "-c", "i=1; while [ $i -le 2000 ]; do echo \\"line $i of 2000\\"; i=$((i+1)); if [ $((i % 100)) -eq 0 ]; then sleep 0.2; fi; done"]
        resources: {requests: {cpu: 0.5, memoryInGB: 0.5}}
`;

maybe('web UI in Chromium', () => {
  let emu: Awaited<ReturnType<typeof startTestEmulator>>;
  let ctl: ControllerProcess;
  let browser: Browser;
  let manifests: string;
  let https = '';
  let seedRun = '';

  beforeAll(async () => {
    ensureUiBuilt();
    manifests = tmp('acictl-ui-manifests-');
    for (const f of ['azure-tutorial-container.yaml', 'heartbeat.yaml', 'nightly-etl.yaml', 'weekly-gpu-training.yaml']) copyFileSync(path.join(ROOT, 'manifests', f), path.join(manifests, f));
    writeFileSync(path.join(manifests, 'chatty.yaml'), CHATTY);
    emu = await startTestEmulator();
    ctl = startControllerProcess(emu, { manifests: [manifests] });
    await ctl.ready();
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await ctl?.stop();
    await emu?.close();
    if (ctl) cleanupDirs(ctl.stateDir);
    if (manifests) cleanupDirs(manifests);
  });

  afterEach(() => {
    // acceptance 6: the test fails on any console error in the browser
    expect(browser.errors).toEqual([]);
  });

  function loginUrl(): string {
    const l = ctl.lines().find((x) => typeof x.loginUrl === 'string');
    if (!l) throw new Error('the controller logged no login link');
    return l.loginUrl as string;
  }

  /** A screenshot of the page; into docs/ with ACICTL_SCREENSHOTS=docs (so a plain test run leaves the checkout clean). */
  async function shot(page: Page, name: string): Promise<void> {
    const dir = process.env.ACICTL_SCREENSHOTS === 'docs' ? path.join(ROOT, 'docs') : path.join(manifests, 'screenshots');
    mkdirSync(dir, { recursive: true });
    const png = await page.screenshot({ path: path.join(dir, name), fullPage: false });
    expect(png.length).toBeGreaterThan(1000);
  }

  test('without a session the browser gets the login page and no data; the logged link logs in and drops the token from the address', async () => {
    const { page } = browser;
    const link = loginUrl();
    expect(link).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/login\?token=[\w-]+$/);
    https = new URL(link).origin;
    await page.goto(`${https}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.locator('input#token').waitFor();
    expect(await page.content()).not.toContain('azure-tutorial-container');
    await shot(page, 'ui-login.png');

    await page.goto(link);
    expect(page.url()).toBe(`${https}/`);
    const cookies = await browser.context.cookies(https);
    const session = cookies.find((c) => c.name === 'acictl_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: true });
    // the link was single-use
    const again = await fetch(link.replace('https:', 'http:'), { redirect: 'manual' });
    expect(again.status).toBe(401);
  });

  test('jobs page: every example job with schedule in words and cron, state, next run, source; filter and sort', async () => {
    const { page } = browser;
    await page.goto(`${https}/#/`);
    const row = page.locator('tr[data-job="azure-tutorial-container"]');
    await row.waitFor();
    for (const name of ['azure-tutorial-container', 'heartbeat', 'nightly-etl', 'weekly-gpu-training', 'chatty']) await expect(page.locator(`tr[data-job="${name}"]`).count()).resolves.toBe(1);
    await waitUntil('Ready', async () => (await row.innerText()).includes('Ready'), 20_000);
    const text = await row.innerText();
    expect(text).toContain('At 00:00, every day (UTC)');
    expect(text).toContain('@daily');
    expect(text).toContain('azure-tutorial-container.yaml');
    expect(text).toMatch(/\d{4}-\d\d-\d\d 00:00:00 UTC \(in \d+/); // next run: absolute and relative
    expect(await page.locator('tr[data-job="chatty"]').innerText()).toContain('manual runs only');
    await shot(page, 'ui-jobs.png');

    await page.fill('#filter', 'guide=adf-tutorial');
    await waitUntil('label filter', async () => (await page.locator('tbody tr[data-job]').count()) === 1);
    await page.fill('#filter', 'e');
    await waitUntil('name filter', async () => (await page.locator('tbody tr[data-job]').count()) === 4); // every name with an "e": all but chatty
    await page.fill('#filter', '');
    await waitUntil('no filter', async () => (await page.locator('tbody tr[data-job]').count()) === 5);
    await page.click('a[data-sort="name"]'); // name, descending
    await waitUntil('sorted desc', async () => (await page.locator('tbody tr[data-job]').first().getAttribute('data-job')) === 'weekly-gpu-training');
  });

  test('trigger the seed job: the grid shows Running, then Succeeded, without a reload; its log says hello', async () => {
    const { page } = browser;
    await page.goto(`${https}/#/jobs/azure-tutorial-container`);
    await page.locator('#action-trigger').waitFor();
    expect(await page.locator('#read-only').innerText()).toContain('azure-tutorial-container.yaml');
    // record every outcome a grid cell shows, from now on (no reload happens in between)
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seen: string[] }).seen = seen;
      const note = (): void => {
        for (const a of Array.from(document.querySelectorAll('#grid a[data-outcome]')) as { getAttribute(n: string): string }[]) {
          const v = `${a.getAttribute('data-run')}=${a.getAttribute('data-outcome')}`;
          if (seen[seen.length - 1] !== v && !seen.includes(v)) seen.push(v);
        }
      };
      new MutationObserver(note).observe(document.getElementById('app')!, { subtree: true, childList: true, attributes: true });
    });
    const marker = await page.evaluate(() => ((window as unknown as { marker: number }).marker = Math.random()));
    await page.click('#action-trigger');
    await page.locator('dialog#confirm[open]').waitFor();
    await page.click('#confirm-ok');
    const seen = await waitUntil(
      'Running then Succeeded in the grid',
      async () => {
        const s = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
        const run = s.find((v) => /-m\d+=Running$/.test(v))?.split('=')[0];
        return run && s.includes(`${run}=Succeeded`) ? s : null;
      },
      40_000,
      100,
    );
    expect(await page.evaluate(() => (window as unknown as { marker: number }).marker)).toBe(marker); // same document: no reload
    const run = seen.find((v) => v.endsWith('=Succeeded'))!.split('=')[0]!;
    await shot(page, 'ui-job.png');

    await page.click(`#grid a[data-run="${run}"]`);
    await page.locator('#log-1').waitFor();
    await waitUntil('log text', async () => (await page.locator('#log-1').innerText()).includes('Hello from azure-tutorial-container'), 20_000);
    const attempt = await page.locator('tr[data-attempt="1"]').innerText();
    expect(attempt).toContain(run); // the container group is named after the run
    expect(await page.locator('tr[data-attempt="1"] td.exit').innerText()).toBe('0');
    expect(await page.locator('#data-interval').innerText()).toMatch(/UTC → .*UTC/);
    await shot(page, 'ui-run.png');
    seedRun = run;
  });

  test('clear a finished run from its page: it runs again as attempt 2, whose log is followed', async () => {
    const { page } = browser;
    expect(seedRun).not.toBe('');
    await page.goto(`${https}/#/runs/${seedRun}`);
    await page.click('#action-clear');
    await page.locator('dialog#confirm[open]').waitFor();
    await page.click('#confirm-ok');
    await page.locator('tr[data-attempt="2"]').waitFor({ timeout: 30_000 });
    await waitUntil('attempt 2 log', async () => (await page.locator('#log-2').count()) === 1 && (await page.locator('#log-2').innerText()).includes('Hello from azure-tutorial-container'), 40_000, 200);
    await waitUntil('run Succeeded again', async () => (await page.locator('#run-phase').innerText()) === 'Succeeded', 40_000, 200);
    expect(await page.locator('tr[data-attempt="2"] td.exit').innerText()).toBe('0');
  });

  test('cancel a running run from its page: the attempt stops, the run fails as Cancelled, its group is deleted', async () => {
    const { page } = browser;
    const job = {
      apiVersion: 'acictl.dev/v1',
      kind: 'ContainerJob',
      metadata: { name: 'sleeper' },
      spec: { template: { resourceGroup: 'ui-test', location: 'eastus', containers: [{ name: 'main', image: 'busybox', command: ['/bin/sh', '-c', 'echo started; sleep 300'], resources: { requests: { cpu: 0.5, memoryInGB: 0.5 } } }] } },
    };
    expect((await ctl.api('POST', '/apis/acictl.dev/v1/containerjobs', job)).status).toBe(201);
    const trig = await ctl.api('POST', '/apis/acictl.dev/v1/containerjobs/sleeper/trigger', {});
    expect(trig.status).toBe(201);
    const run = trig.body.run as string;
    await page.goto(`${https}/#/runs/${run}`);
    await waitUntil('run Running', async () => (await page.locator('#run-phase').innerText().catch(() => '')) === 'Running', 40_000, 200);
    await page.click('#action-cancel');
    await page.locator('dialog#confirm[open]').waitFor();
    await page.click('#confirm-ok');
    await waitUntil('run Failed', async () => (await page.locator('#run-phase').innerText().catch(() => '')) === 'Failed', 40_000, 200);
    expect(await page.locator('tr[data-attempt="1"]').innerText()).toContain('Cancelled');
    // no retry for a cancelled run, and its group goes
    await waitUntil('group deleted', async () => {
      const r = await ctl.api('GET', `/apis/acictl.dev/v1/containerjobruns/${run}`);
      return r.status === 200 && r.body.status.attempts.length === 1 && r.body.status.attempts[0].groupDeleted === true;
    }, 40_000, 200);
    expect(await page.locator('#action-clear').count()).toBe(1); // a finished run offers Clear instead
  });

  test('suspend and resume with confirmation; `acictl get jobs` agrees', async () => {
    const { page } = browser;
    await page.goto(`${https}/#/jobs/heartbeat`);
    await page.click('#action-suspend');
    await page.locator('dialog#confirm[open]').waitFor();
    await page.click('#confirm-ok');
    await page.locator('#action-resume').waitFor();
    const cli = () => runCli(['get', 'jobs', '-o', 'json', '--server', ctl.url, '--token', ctl.token]);
    const suspendedInCli = async (): Promise<boolean> => {
      const r = await cli();
      const items = JSON.parse(r.stdout).items as { metadata: { name: string }; status?: { suspended?: boolean } }[];
      return items.find((i) => i.metadata.name === 'heartbeat')?.status?.suspended === true;
    };
    await waitUntil('suspended in the CLI', suspendedInCli, 20_000, 200);
    // cancel leaves it as it is
    await page.click('#action-resume');
    await page.locator('dialog#confirm[open]').waitFor();
    await page.keyboard.press('Escape');
    expect(await page.locator('#action-resume').count()).toBe(1);
    await page.click('#action-resume');
    await page.click('#confirm-ok');
    await page.locator('#action-suspend').waitFor();
    await waitUntil('resumed in the CLI', async () => !(await suspendedInCli()), 20_000, 200);
  });

  test('a 2,000-line live log: every line once, in order', async () => {
    const { page } = browser;
    const trig = await ctl.api('POST', '/apis/acictl.dev/v1/containerjobs/chatty/trigger', {});
    expect(trig.status).toBe(201);
    const run = trig.body.run as string;
    await page.goto(`${https}/#/runs/${run}`);
    await page.locator('#log-1').waitFor({ timeout: 20_000 });
    // it was followed live: the status said so while the container ran
    expect(await page.locator('#log-status-1').innerText()).toMatch(/following|complete/);
    await waitUntil('log complete', async () => (await page.locator('#log-status-1').innerText()) === 'complete', 40_000, 200);
    const lines = (await page.locator('#log-1').textContent())!.split('\n').filter((l) => l !== '');
    expect(lines).toEqual(Array.from({ length: 2000 }, (_, i) => `line ${i + 1} of 2000`));
  });

  test('an invalid file shows FILE:LINE:COL and the message; the job keeps its last good spec', async () => {
    const { page } = browser;
    const file = path.join(manifests, 'nightly-etl.yaml');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, good.replace(/^spec:\n/m, 'spec:\n  scheduel: "@hourly"\n'));
    await page.goto(`${https}/#/`);
    const row = page.locator('tr[data-job="nightly-etl"]');
    await waitUntil('Invalid row', async () => (await row.innerText()).includes('Invalid'), 30_000, 200);
    const text = await row.innerText();
    expect(text).toMatch(/nightly-etl\.yaml:\d+:\d+: .*scheduel/);
    await page.goto(`${https}/#/jobs/nightly-etl`);
    await page.locator('#reason').waitFor();
    expect(await page.locator('#reason').innerText()).toMatch(/nightly-etl\.yaml:\d+:\d+:/);
    const schedule = /schedule:\s*"?([^"\n]+)"?/.exec(good)![1]!.trim();
    expect(await page.locator('.facts').innerText()).toContain(schedule); // the last good spec
    writeFileSync(file, good);
  });

  test('narrow screen (390 px) and keyboard: no sideways scroll, every control reachable by Tab', async () => {
    const page = await browser.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${https}/#/`);
    await page.locator('tr[data-job="heartbeat"]').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(page, 'ui-jobs-narrow.png');
    // Tab from the top reaches the filter and the first job link
    const reached = new Set<string>();
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab');
      reached.add(await page.evaluate(() => (document.activeElement?.id || document.activeElement?.getAttribute('href')) ?? ''));
    }
    expect(reached.has('filter')).toBe(true);
    expect([...reached].some((r) => r.startsWith('#/jobs/'))).toBe(true);
    await page.goto(`${https}/#/jobs/heartbeat`);
    await page.locator('#action-trigger').waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await page.close();
  });
});
