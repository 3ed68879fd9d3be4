/**
 * Which store a bench runs the controller on: `store=sqlite` (the default, `<state dir>/acictl.db`)
 * or `store=postgres` — a throw-away PostgreSQL server started from Debian's binaries by the same
 * helper the store tests use (test/fixtures/postgres.ts, no jest in it; built into dist for the
 * benches), one fresh database per measurement. Without the binaries a postgres bench reports
 * `skipped` instead of figures.
 */
import { basename, dirname } from 'node:path';
import { findPostgres, startPostgres } from '../../test/fixtures/postgres';

export type BenchStoreKind = 'sqlite' | 'postgres';

export function parseStoreKind(v: unknown): BenchStoreKind {
  const s = String(v ?? 'sqlite');
  if (s !== 'sqlite' && s !== 'postgres') throw new Error(`store=${s}: expected sqlite or postgres`);
  return s;
}

export interface BenchStore {
  kind: BenchStoreKind;
  /** e.g. "PostgreSQL 15 (fsync off)" or "SQLite". */
  description: string;
  /** The controller's `store` option for a new, empty store: a postgres:// URL, or undefined (SQLite in the state dir). */
  fresh(): string | undefined;
  stop(): void;
}

/** The store for a bench run, or why it cannot run (`skipped`: shown in the table instead of a figure). */
export async function openBenchStore(kind: BenchStoreKind): Promise<BenchStore | { skipped: string }> {
  if (kind === 'sqlite') return { kind, description: 'SQLite', fresh: () => undefined, stop: () => undefined };
  const found = findPostgres();
  if ('missing' in found) return { skipped: `skipped: postgres binaries not found (${found.missing})` };
  const server = await startPostgres();
  let n = 0;
  return {
    kind,
    description: `PostgreSQL ${basename(dirname(found.bin))} (local server, loopback, fsync off)`,
    fresh: () => server.createDatabase(`bench_${++n}`),
    stop: () => server.stop(),
  };
}
