/**
 * `acictl get runs --watch` against a real controller: one row per real change (an event whose row
 * reads as before prints nothing) and a run pruned by the history limit shows as deleted.
 *
 * The test watches the same API itself and derives what should be printed from the raw events:
 * for each run, the rows that differ from its previous row (rows compared at one fixed instant, as
 * the CLI does), and a deleted row per DELETED event.
 */
import { runRow as printedRow } from '../../src/cli/output/printers';
import type { RunObject } from '../../src/cli/client/resources';
import { parse as parseYaml } from 'yaml';
import { WatchRows, DELETED_MARKER } from '../../src/cli/output/watch-rows';
import { cleanupDirs, jobYaml, ROOT, sleep, startControllerProcess, startTestEmulator, tmp, waitUntil } from './harness';
import { spawn } from 'node:child_process';
import * as path from 'node:path';

jest.setTimeout(120_000);

test('N real changes give N rows; a pruned run is printed as deleted', async () => {
  const emu = await startTestEmulator();
  const manifests = tmp('acictl-wrows-m-');
  const ctl = startControllerProcess(emu, { manifests: [manifests] });
  const abort = new AbortController();
  try {
    await ctl.ready();
    // the raw event stream, from before the job exists
    const raw: { type: string; object: RunObject }[] = [];
    const res = await fetch(`${ctl.url}/apis/acictl.dev/v1/containerjobruns?watch=true`, { headers: { authorization: `Bearer ${ctl.token}` }, signal: abort.signal });
    const reading = (async () => {
      const decoder = new TextDecoder();
      let buf = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buf += decoder.decode(chunk, { stream: true });
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i).trim();
            buf = buf.slice(i + 1);
            if (line) raw.push(JSON.parse(line));
          }
        }
      } catch {
        /* aborted at the end */
      }
    })();
    const cli = spawn(path.join(ROOT, 'node_modules/.bin/node'), [path.join(ROOT, 'bin/acictl.js'), 'get', 'runs', '--watch', '--state-dir', ctl.stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    cli.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const cliDone = new Promise<void>((r) => cli.on('close', () => r()));
    await sleep(1000);

    // a job every 2 s that keeps one successful run: each new success prunes the one before
    const job = parseYaml(
      jobYaml('wrows', { schedule: '*/2 * * * * *', command: 'echo hi', extra: '  successfulRunsHistoryLimit: 1\n  startingDeadlineSeconds: 30\n' }),
    );
    expect((await ctl.api('POST', '/apis/acictl.dev/v1/containerjobs', job)).status).toBe(201);
    await waitUntil('two runs pruned', () => raw.filter((e) => e.type === 'DELETED').length >= 2, 60_000, 100);
    // stop the job, let the last events arrive at both watchers
    await ctl.api('POST', '/apis/acictl.dev/v1/containerjobs/wrows/suspend');
    await sleep(3000);
    cli.kill('SIGTERM');
    await cliDone;
    abort.abort();
    await reading;

    // what should be printed, from the raw stream
    const fixed = Date.now();
    const model = new WatchRows<RunObject>((o) => printedRow(o, fixed, false).join('\u0000'));
    const expected: string[] = [];
    for (const e of raw) {
      if (e.type !== 'ADDED' && e.type !== 'MODIFIED' && e.type !== 'DELETED') continue;
      const v = model.next(e.type, e.object);
      if (v === 'changed') expected.push(`${e.object.metadata.name} ${printedRow(e.object, fixed, false)[4]}`);
      if (v === 'deleted') expected.push(`${e.object.metadata.name} ${DELETED_MARKER}`);
    }
    const printed = out
      .split('\n')
      // no header: the list before the watch is empty ("No resources found." goes to stderr)
      .filter((l) => l.trim())
      .map((l) => {
        const cells = l.trim().split(/\s{3,}/);
        return l.trimEnd().endsWith(DELETED_MARKER) ? `${cells[0]} ${DELETED_MARKER}` : `${cells[0]} ${cells[4]}`;
      });
    expect(printed).toEqual(expected);
    expect(printed.filter((l) => l.endsWith(DELETED_MARKER)).length).toBeGreaterThanOrEqual(2);
    // a run's first row is its ADDED; its last, once pruned, the deleted marker
    const pruned = expected.filter((l) => l.endsWith(DELETED_MARKER)).map((l) => l.split(' ')[0]);
    for (const name of pruned) expect((await ctl.runs('wrows')).some((r) => r.metadata.name === name)).toBe(false);
    process.stdout.write(`watch-rows: ${raw.length} raw events, ${printed.length} rows printed\n`);
  } finally {
    abort.abort();
    await ctl.stop();
    await emu.close();
    cleanupDirs(manifests);
  }
});
