/**
 * Issue 20.1: secret files are read without blocking the event loop and without bound: only
 * regular files, a size cap, a time limit; a refused one fails with SecretUnreadable.
 */
import { execFileSync } from 'node:child_process';
import { constants, mkdtempSync, openSync, closeSync, ftruncateSync, promises as fsp, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readSecretFile, SECRET_FILE_MAX_BYTES } from '../../src/aci/secret-file';
import { AciError } from '../../src/aci/types';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'acictl-secret-file-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function failure(p: Promise<unknown>): Promise<AciError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(AciError);
  return e as AciError;
}

test('a regular file is read, trailing newline kept', async () => {
  const f = path.join(dir, 'ok');
  writeFileSync(f, 'value\n');
  await expect(readSecretFile(f, 'file ok')).resolves.toBe('value\n');
});

test('a FIFO without a writer is refused at once, and the event loop keeps turning meanwhile', async () => {
  const fifo = path.join(dir, 'pipe');
  execFileSync('mkfifo', [fifo]);
  let ticks = 0;
  const iv = setInterval(() => ticks++, 5);
  const t0 = Date.now();
  const e = await failure(readSecretFile(fifo, 'file pipe'));
  const ms = Date.now() - t0;
  clearInterval(iv);
  expect(e.code).toBe('SecretUnreadable');
  expect(e.message).toBe('SecretUnreadable: secret file pipe: not a regular file');
  expect(ms).toBeLessThan(200);
});

test('a character device (/dev/zero) is refused, nothing is read', async () => {
  const e = await failure(readSecretFile('/dev/zero', 'file /dev/zero'));
  expect(e.code).toBe('SecretUnreadable');
  expect(e.message).toMatch(/not a regular file/);
});

test('a directory is refused', async () => {
  const e = await failure(readSecretFile(dir, 'file d'));
  expect(e.message).toMatch(/not a regular file/);
});

test('a symbolic link is refused (the path given is the confined real path)', async () => {
  const l = path.join(dir, 'link');
  writeFileSync(path.join(dir, 'target'), 'x');
  execFileSync('ln', ['-s', path.join(dir, 'target'), l]);
  const e = await failure(readSecretFile(l, 'file link'));
  expect(e.code).toBe('SecretUnreadable');
});

test('a missing file is SecretMissing, naming the reference', async () => {
  const e = await failure(readSecretFile(path.join(dir, 'nope'), 'file nope'));
  expect(e.code).toBe('SecretMissing');
  expect(e.message).toMatch(/file nope.*ENOENT/);
});

test('a file over the cap is refused; one at the cap is read', async () => {
  const at = path.join(dir, 'at-cap');
  writeFileSync(at, Buffer.alloc(SECRET_FILE_MAX_BYTES, 0x61));
  expect((await readSecretFile(at, 'file at-cap')).length).toBe(SECRET_FILE_MAX_BYTES);
  const over = path.join(dir, 'over-cap');
  writeFileSync(over, Buffer.alloc(SECRET_FILE_MAX_BYTES + 1, 0x61));
  const e = await failure(readSecretFile(over, 'file over-cap'));
  expect(e.message).toBe(`SecretUnreadable: secret file over-cap: larger than the ${SECRET_FILE_MAX_BYTES}-byte limit on a secret`);
});

test('a 1 GB sparse file is refused without the RSS growing by more than a few MB', async () => {
  const f = path.join(dir, 'sparse');
  const fd = openSync(f, 'w');
  ftruncateSync(fd, 1024 * 1024 * 1024);
  closeSync(fd);
  global.gc?.();
  const before = process.memoryUsage().rss;
  for (let i = 0; i < 5; i++) {
    const e = await failure(readSecretFile(f, 'file sparse'));
    expect(e.code).toBe('SecretUnreadable');
  }
  const grown = process.memoryUsage().rss - before;
  expect(grown).toBeLessThan(8 * 1024 * 1024);
});

test('a read that hangs (every file-system thread stuck) fails after the time limit; the event loop stays free', async () => {
  // A hung file system, simulated: every libuv thread-pool thread blocks opening a FIFO for
  // writing (until a reader comes), so the secret's open cannot even start.
  const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const fifos = Array.from({ length: threads }, (_, i) => path.join(dir, `hang-${i}`));
  for (const f of fifos) execFileSync('mkfifo', [f]);
  const writers = fifos.map((f) => fsp.open(f, 'w'));
  const file = path.join(dir, 'slow');
  writeFileSync(file, 'x');
  let ticks = 0;
  const iv = setInterval(() => ticks++, 10);
  const t0 = Date.now();
  const e = await failure(readSecretFile(file, 'file slow', { timeoutMs: 300 }));
  const ms = Date.now() - t0;
  clearInterval(iv);
  expect(e.message).toBe('SecretUnreadable: secret file slow: not read within 300 ms');
  expect(ms).toBeGreaterThanOrEqual(290);
  expect(ms).toBeLessThan(1500);
  expect(ticks).toBeGreaterThan(10);
  // release the threads: a non-blocking reader on each FIFO lets the writers' opens complete
  const readers = fifos.map((f) => openSync(f, constants.O_RDONLY | constants.O_NONBLOCK));
  for (const w of await Promise.all(writers)) await w.close();
  for (const r of readers) closeSync(r);
});
