/** PATCH bodies: JSON merge patch (RFC 7386) and JSON patch (RFC 6902, via fast-json-patch). */
import { applyPatch } from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { ApiError, errors } from './status';
import { isPlainObject, mediaType } from './http';

export const MERGE_PATCH = 'application/merge-patch+json';
export const JSON_PATCH = 'application/json-patch+json';
const STRATEGIC = 'application/strategic-merge-patch+json';
const APPLY = 'application/apply-patch+yaml';

/** Apply `patch` to `target` as RFC 7386 says (null removes; objects merge; anything else replaces). */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** The patch type of a Content-Type header; 415 for the types custom resources do not support. */
export function patchType(contentType: string | undefined): typeof MERGE_PATCH | typeof JSON_PATCH {
  const t = mediaType(contentType);
  if (t === MERGE_PATCH || t === JSON_PATCH) return t;
  if (t === STRATEGIC) {
    throw new ApiError(415, 'UnsupportedMediaType', 'strategic merge patch is not supported for custom resources (use application/merge-patch+json or application/json-patch+json)');
  }
  if (t === APPLY) {
    throw new ApiError(415, 'UnsupportedMediaType', 'server-side apply is not supported by this server (use kubectl client-side apply, the default)');
  }
  throw errors.unsupportedMediaType(t);
}

/** Apply a parsed patch body of the given type to a copy of `doc`. */
export function applyPatchBody(type: typeof MERGE_PATCH | typeof JSON_PATCH, doc: unknown, body: unknown): unknown {
  if (type === MERGE_PATCH) {
    if (!isPlainObject(body)) throw errors.badRequest('a merge patch must be a JSON object');
    return mergePatch(doc, body);
  }
  if (!Array.isArray(body)) throw errors.badRequest('a JSON patch must be an array of operations');
  try {
    return applyPatch(structuredClone(doc), body as Operation[], true, true).newDocument;
  } catch (err) {
    // fast-json-patch messages describe the operation, never its value
    const name = (err as { name?: string }).name ?? '';
    const message = (err as Error).message.split('\n')[0];
    if (name === 'TEST_OPERATION_FAILED') throw new ApiError(422, 'Invalid', 'the JSON patch test operation failed');
    throw new ApiError(422, 'Invalid', `the JSON patch could not be applied: ${message}`);
  }
}
