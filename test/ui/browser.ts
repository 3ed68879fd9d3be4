/**
 * Debian's chromium, driven by playwright-core (never a downloaded browser): a fresh profile per
 * launch, and every console error or page error collected so a test can fail on any.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.resolve(__dirname, '../..');

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-quic',
  '--no-first-run',
  '--disable-sync',
];

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Compile the browser code (tsconfig.ui.json) when dist/ui-static/app.js is missing or stale. */
export function ensureUiBuilt(): void {
  const out = path.join(ROOT, 'dist/ui-static/app.js');
  if (existsSync(out) && statSync(out).mtimeMs >= newest(path.join(ROOT, 'src/ui/client'))) return;
  const r = spawnSync(path.join(ROOT, 'node_modules/.bin/node'), [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.ui.json')], { cwd: ROOT, encoding: 'utf8' });
  if (!existsSync(out)) throw new Error(`tsc -p tsconfig.ui.json failed: ${r.stdout}${r.stderr}`);
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors seen so far. */
  errors: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(viewport = { width: 1280, height: 800 }): Promise<Browser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'acictl-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    ignoreHTTPSErrors: true, // the controller's self-signed loopback certificate
    viewport,
  });
  const errors: string[] = [];
  const watchPage = (p: Page): Page => {
    p.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    p.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    return p;
  };
  const page = watchPage(context.pages()[0] ?? (await context.newPage()));
  return {
    context,
    page,
    errors,
    newPage: async () => watchPage(await context.newPage()),
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
