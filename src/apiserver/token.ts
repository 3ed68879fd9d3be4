/** The controller's bearer token: generated on first start, kept in the state dir with mode 0600. */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const TOKEN_FILE = 'token';

/**
 * Read `<stateDir>/token`, or create it (32 random bytes, hex) when it is missing or empty.
 * The file is (re)set to mode 0600 either way.
 */
export function loadOrCreateToken(stateDir: string): string {
  mkdirSync(stateDir, { recursive: true });
  const file = join(stateDir, TOKEN_FILE);
  let token = '';
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (token === '') {
    token = randomBytes(32).toString('hex');
    // 'wx' would fail on an empty existing file; a plain write with mode covers both cases.
    writeFileSync(file, token + '\n', { mode: 0o600 });
  }
  chmodSync(file, 0o600);
  return token;
}
