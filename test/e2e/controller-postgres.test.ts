/**
 * The real `acictl controller --store postgres://…` (a child process) against a real PostgreSQL
 * server and the emulator: runs are scheduled and recorded in the database (not in the state
 * dir), and a restarted controller on the same database keeps the same instance id and history.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { findPostgres, startPostgres, type TestPostgres } from '../fixtures/postgres';
import { cleanupDirs, jobYaml, startControllerProcess, startTestEmulator, tmp, waitUntil, type ControllerProcess } from './harness';

const found = findPostgres();
const maybe = 'missing' in found ? describe.skip : describe;
if ('missing' in found) console.warn(`skipping the PostgreSQL controller test: ${found.missing}`);

jest.setTimeout(120_000);

maybe('controller on PostgreSQL', () => {
  let pg: TestPostgres;
  let emu: Awaited<ReturnType<typeof startTestEmulator>>;
  const dirs: string[] = [];
  let ctl: ControllerProcess | undefined;

  beforeAll(async () => {
    pg = await startPostgres();
    emu = await startTestEmulator();
  }, 60_000);

  afterAll(async () => {
    if (ctl && ctl.child.exitCode === null) ctl.child.kill('SIGKILL');
    await emu?.close();
    pg?.stop();
    cleanupDirs(...dirs);
  });

  test('schedules and records runs in the database; a restart on it keeps instance id and runs', async () => {
    const url = pg.createDatabase('e2e');
    const manifests = tmp('acictl-pg-m-');
    const stateDir = tmp('acictl-pg-s-');
    dirs.push(manifests, stateDir);
    mkdirSync(manifests, { recursive: true });
    writeFileSync(path.join(manifests, 'tick.yaml'), jobYaml('tick', { schedule: '*/2 * * * * *', command: 'echo tick', extra: '  concurrencyPolicy: Allow\n' }));
    ctl = startControllerProcess(emu, { manifests: [manifests], stateDir, env: { ACICTL_STORE: url } });
    await ctl.ready(60_000);
    const db = new Client({ connectionString: url });
    await db.connect();
    try {
      const succeeded = async (): Promise<number> =>
        Number((await db.query(`SELECT count(*) AS n FROM runs WHERE record::jsonb->>'phase' = 'Succeeded'`)).rows[0].n);
      await waitUntil('two runs Succeeded in the database', async () => ((await succeeded()) >= 2 ? true : null), 60_000, 250);
      expect(existsSync(path.join(stateDir, 'acictl.db'))).toBe(false); // nothing in SQLite
      const id = (await db.query(`SELECT value FROM settings WHERE key = 'instance-id'`)).rows[0].value as string;
      const runs = await ctl.api('GET', '/apis/acictl.dev/v1/containerjobruns');
      expect(runs.status).toBe(200);
      expect(runs.body.items.length).toBeGreaterThanOrEqual(2);
      // the emulator's groups carry the instance id the database holds
      expect(emu.stats().creations.every((c) => c.tags['acictl.dev/managed-by'] === id)).toBe(true);

      ctl.child.kill('SIGKILL');
      await ctl.exited;
      const before = await succeeded();
      ctl = startControllerProcess(emu, { manifests: [manifests], stateDir: tmp('acictl-pg-s2-'), env: { ACICTL_STORE: url } });
      await ctl.ready(60_000);
      await waitUntil('more runs after the restart', async () => ((await succeeded()) > before ? true : null), 60_000, 250);
      expect((await db.query(`SELECT value FROM settings WHERE key = 'instance-id'`)).rows[0].value).toBe(id);
      // exactly once per slot across the restart: no (run, attempt) created twice
      const keys = emu.stats().creations.map((c) => `${c.tags['acictl.dev/run']}#${c.tags['acictl.dev/attempt'] ?? '1'}`);
      expect(new Set(keys).size).toBe(keys.length);
    } finally {
      await db.end();
    }
  });
});
