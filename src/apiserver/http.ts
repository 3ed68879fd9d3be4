/** Small HTTP helpers: bounded body reading, JSON parsing without echoing the body, responses. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { exceedsNesting, nestingMessage } from '../api/depth';
import { ApiError, errors } from './status';

/** Requests larger than this are answered 413 (Kubernetes allows 3 MiB per object). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** Read the whole body, failing with 413 as soon as it passes `limit` bytes. */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume(); // drain, so the 413 can still be written on a keep-alive connection
      reject(errors.tooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(errors.tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (!failed) {
        failed = true;
        reject(err);
      }
    });
  });
}

/** Parse a JSON body; the error names the position only (never the content, which may be secret). */
export function parseJson(body: Buffer): unknown {
  if (body.length === 0) throw errors.badRequest('the request body is empty');
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    if (err instanceof RangeError) throw errors.badRequest(`the request body is ${nestingMessage()}`);
    const m = /position (\d+)/.exec((err as Error).message);
    throw errors.badRequest(`the request body is not valid JSON${m ? ` (at byte ${m[1]})` : ''}`);
  }
  // before anything recursive (validation, structuredClone, patching) can overflow the stack on it
  if (exceedsNesting(value)) throw errors.badRequest(`the request body is ${nestingMessage()}`);
  return value;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The media type of a Content-Type header without parameters, lower-cased. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Whether the Accept header asks for a meta.k8s.io Table (the first acceptable choice wins). */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.split(';').map((s) => s.trim());
    const p = new Map(params.map((kv) => kv.split('=').map((s) => s.trim()) as [string, string]));
    if (p.get('as') === 'Table' && (p.get('g') ?? 'meta.k8s.io') === 'meta.k8s.io' && (p.get('v') ?? 'v1') === 'v1') return true;
    if (type === 'application/json' && !p.has('as')) return false;
    if (type === '*/*' || type === 'application/*') return false;
  }
  return false;
}

export function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.code, err.toStatus(), err.headers);
}
