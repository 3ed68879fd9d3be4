/** Opening the controller's store in its state dir. */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { SqliteStore } from './sqlite';

export { MemoryStore } from './memory';
export { SqliteStore } from './sqlite';
export type { Store } from './types';

/** The store file's name inside the state dir. */
export const STORE_FILE = 'state.db';

/** Open (creating the state dir and the file if needed) `<stateDir>/state.db`. */
export function openStore(stateDir: string): SqliteStore {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  return SqliteStore.open(path.join(stateDir, STORE_FILE));
}
