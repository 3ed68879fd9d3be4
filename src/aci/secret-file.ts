/**
 * Bounded, non-blocking reads of secret files (issue 20.1). A secret file is read only if it is a
 * regular file: it is opened with O_NONBLOCK (a FIFO without a writer then opens at once instead of
 * waiting, a device does not block) and O_NOFOLLOW (the path given is the already-confined real
 * path: a symlink swapped in after the check is refused), checked with fstat on the open handle,
 * and read up to a size cap, within a time limit. Every failure is an AciError('SecretMissing')
 * whose code is 'SecretMissing' (absent) or 'SecretUnreadable' (present but refused): it fails the
 * one attempt that needed it and nothing else. Messages name the reference, never content.
 */
import { constants, promises as fsp } from 'node:fs';
import { AciError } from './types';

/**
 * ACI caps a container group's whole definition (environment variables, secret volumes) well below
 * a megabyte; a secret of more than 64 KiB is a mistake, not a secret.
 */
export const SECRET_FILE_MAX_BYTES = 64 * 1024;
/** A read that takes longer than this (a hung network file system) fails the attempt. */
export const SECRET_FILE_TIMEOUT_MS = 5_000;

export interface SecretFileLimits {
  maxBytes?: number;
  timeoutMs?: number;
}

function unreadable(label: string, why: string): AciError {
  return new AciError('SecretMissing', `SecretUnreadable: secret ${label}: ${why}`, 'SecretUnreadable');
}

/**
 * The content of the regular file at `realPath` (utf8). `label` names the reference in messages
 * (the path as the manifest wrote it).
 */
export async function readSecretFile(realPath: string, label: string, limits: SecretFileLimits = {}): Promise<string> {
  const maxBytes = limits.maxBytes ?? SECRET_FILE_MAX_BYTES;
  const timeoutMs = limits.timeoutMs ?? SECRET_FILE_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  let handle: fsp.FileHandle | undefined;
  let timedOut = false;
  const work = (async () => {
    try {
      handle = await fsp.open(realPath, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW | constants.O_NOCTTY);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException)?.code ?? 'unreadable';
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new AciError('SecretMissing', `secret ${label} cannot be read (${code})`, 'SecretMissing');
      if (code === 'ELOOP') throw unreadable(label, 'is a symbolic link');
      throw unreadable(label, `cannot be opened (${code})`);
    }
    if (timedOut) return '';
    const st = await handle.stat();
    if (!st.isFile()) throw unreadable(label, 'not a regular file');
    if (st.size > maxBytes) throw unreadable(label, `larger than the ${maxBytes}-byte limit on a secret`);
    // The file may grow between fstat and read: never read more than the cap + 1.
    const buf = Buffer.alloc(Math.min(maxBytes + 1, Math.max(st.size, 0) + 1));
    let filled = 0;
    for (;;) {
      if (filled === buf.length) break;
      const { bytesRead } = await handle.read(buf, filled, buf.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
      if (timedOut) return '';
    }
    if (filled > maxBytes) throw unreadable(label, `larger than the ${maxBytes}-byte limit on a secret`);
    if (filled === buf.length && filled <= maxBytes) {
      // Grew past the size fstat saw, still within the cap: read on, bounded by the cap.
      const more = Buffer.alloc(maxBytes + 1 - filled);
      const { bytesRead } = await handle.read(more, 0, more.length, filled);
      if (filled + bytesRead > maxBytes) throw unreadable(label, `larger than the ${maxBytes}-byte limit on a secret`);
      return Buffer.concat([buf.subarray(0, filled), more.subarray(0, bytesRead)]).toString('utf8');
    }
    return buf.subarray(0, filled).toString('utf8');
  })();
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(unreadable(label, `not read within ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref?.();
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    // A handle opened after the time limit is closed when the open completes.
    void work.catch(() => undefined).finally(() => handle?.close().catch(() => undefined));
  }
}
