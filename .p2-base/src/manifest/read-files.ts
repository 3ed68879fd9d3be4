/**
 * The I/O edge of validation: expands paths (files, directories recursively) and reads manifest
 * files with a size cap checked before the content is read.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Diagnostic } from './diagnostic';
import { tooLarge } from './load';

/** Extensions read from directories; a file named explicitly is read whatever its extension. */
export const MANIFEST_EXTENSIONS = /\.(ya?ml|json)$/i;

export interface ExpandedPaths {
  /** Files in a stable order: arguments in order, directory contents sorted. */
  files: string[];
  diagnostics: Diagnostic[];
}

function pathError(file: string, message: string, severity: Diagnostic['severity'] = 'error'): Diagnostic {
  return { file, line: 0, column: 0, pointer: '', message, severity };
}

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return (err as Error).message;
}

async function walk(dir: string, out: string[], diagnostics: Diagnostic[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    diagnostics.push(pathError(dir, `cannot read directory: ${reason(err)}`));
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue; // .git, editor swap files, hidden state
    const full = join(dir, e.name);
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    if (e.isSymbolicLink()) {
      try {
        const s = await stat(full);
        isDir = s.isDirectory();
        isFile = s.isFile();
      } catch {
        continue; // a dangling link is not a manifest
      }
    }
    if (isDir) await walk(full, out, diagnostics);
    else if (isFile && MANIFEST_EXTENSIONS.test(e.name)) out.push(full);
  }
}

/** Expands files and directories (recursive; hidden entries skipped). `-` is passed through. */
export async function expandPaths(paths: string[]): Promise<ExpandedPaths> {
  const files: string[] = [];
  const diagnostics: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const p of paths) {
    if (p === '-') {
      files.push(p);
      continue;
    }
    let s;
    try {
      s = await stat(p);
    } catch (err) {
      diagnostics.push(pathError(p, reason(err)));
      continue;
    }
    const found: string[] = [];
    if (s.isDirectory()) {
      await walk(p, found, diagnostics);
      if (found.length === 0) diagnostics.push(pathError(p, 'no manifest files (*.yaml, *.yml, *.json) in this directory', 'warning'));
    } else {
      found.push(p);
    }
    for (const f of found) {
      if (!seen.has(f)) {
        seen.add(f);
        files.push(f);
      }
    }
  }
  return { files, diagnostics };
}

/**
 * Reads a file, refusing (without reading it) one larger than `maxBytes`. Synchronous system calls
 * on purpose: for small files they cost a few microseconds on the main thread, far less than the
 * promise machinery of four asynchronous calls, and parsing blocks the thread much longer anyway.
 */
export async function readManifestFile(file: string, maxBytes: number): Promise<{ ok: true; bytes: Uint8Array } | { ok: false; diagnostic: Diagnostic }> {
  return readManifestFileSync(file, maxBytes);
}

export function readManifestFileSync(file: string, maxBytes: number): { ok: true; bytes: Uint8Array } | { ok: false; diagnostic: Diagnostic } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    return { ok: false, diagnostic: pathError(file, `cannot read: ${reason(err)}`) };
  }
  try {
    const s = fstatSync(fd);
    if (!s.isFile()) return { ok: false, diagnostic: pathError(file, 'not a regular file') };
    if (s.size > maxBytes) return { ok: false, diagnostic: tooLarge(file, s.size, maxBytes) };
    // Read what fstat announced (never more than maxBytes): a file being written while we read is
    // seen truncated now and whole at the next read, but never makes us read past the cap.
    const buf = Buffer.allocUnsafe(s.size);
    let total = 0;
    while (total < s.size) {
      const n = readSync(fd, buf, total, s.size - total, total);
      if (n === 0) break;
      total += n;
    }
    return { ok: true, bytes: buf.subarray(0, total) };
  } catch (err) {
    return { ok: false, diagnostic: pathError(file, `cannot read: ${reason(err)}`) };
  } finally {
    closeSync(fd);
  }
}

/** Reads a stream (stdin) up to `maxBytes`; stops reading as soon as the limit is passed. */
export async function readStream(stream: NodeJS.ReadableStream, maxBytes: number): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    chunks.push(b);
    total += b.length;
    if (total > maxBytes) {
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      return { bytes: Buffer.concat(chunks), truncated: true };
    }
  }
  return { bytes: Buffer.concat(chunks), truncated: false };
}
