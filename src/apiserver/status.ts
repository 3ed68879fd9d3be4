/**
 * Kubernetes `Status` objects: every API error is one, so kubectl prints reasons and field causes.
 * Messages never contain request bodies (they could hold anything a client sent).
 */
import { API_GROUP } from '../api/types';

export interface StatusCause {
  type?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface StatusObject {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** An error the HTTP layer turns into a Status response with `code`. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toStatus(): StatusObject {
    return statusObject(this.code, this.reason, this.message, this.details);
  }
}

export function statusObject(code: number, reason: string, message: string, details?: StatusDetails): StatusObject {
  const s: StatusObject = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: code < 400 ? 'Success' : 'Failure', message, reason, code };
  if (details) s.details = details;
  return s;
}

/** "containerjobs" → "containerjobs.acictl.dev", as Kubernetes names a resource in messages. */
function qualified(resource: string): string {
  return `${resource}.${API_GROUP}`;
}

export const errors = {
  badRequest: (message: string): ApiError => new ApiError(400, 'BadRequest', message),
  unauthorized: (): ApiError => new ApiError(401, 'Unauthorized', 'Unauthorized'),
  /** A browser session's state-changing request without its CSRF proof (or from another site). */
  forbiddenCsrf: (): ApiError => new ApiError(403, 'Forbidden', 'forbidden: a request made with the UI session cookie needs its X-CSRF-Token and must come from the UI itself'),
  forbidden: (resource: string, name: string, why: string): ApiError =>
    new ApiError(403, 'Forbidden', `${qualified(resource)} "${name}" is forbidden: ${why}`, { name, group: API_GROUP, kind: resource }),
  notFound: (resource: string, name: string): ApiError =>
    new ApiError(404, 'NotFound', `${qualified(resource)} "${name}" not found`, { name, group: API_GROUP, kind: resource }),
  pathNotFound: (path: string): ApiError => new ApiError(404, 'NotFound', `the server could not find the requested resource (${path})`),
  methodNotAllowed: (method: string, what: string): ApiError =>
    new ApiError(405, 'MethodNotAllowed', `${method} is not supported on ${what}`),
  alreadyExists: (resource: string, name: string): ApiError =>
    new ApiError(409, 'AlreadyExists', `${qualified(resource)} "${name}" already exists`, { name, group: API_GROUP, kind: resource }),
  conflict: (resource: string, name: string, why: string): ApiError =>
    new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(resource)} "${name}": ${why}`, { name, group: API_GROUP, kind: resource }),
  gone: (message: string): ApiError => new ApiError(410, 'Expired', message),
  tooLarge: (limit: number): ApiError => new ApiError(413, 'RequestEntityTooLarge', `the request body exceeds the limit of ${limit} bytes`),
  unsupportedMediaType: (type: string): ApiError => new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json (got ${JSON.stringify(type)})`),
  notAcceptable: (): ApiError => new ApiError(406, 'NotAcceptable', 'only application/json responses are available'),
  invalid: (kind: string, name: string, causes: StatusCause[]): ApiError => {
    const list = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
    const message = `${kind}.${API_GROUP} "${name}" is invalid: ${list.length === 1 ? list[0] : `[${list.join(', ')}]`}`;
    return new ApiError(422, 'Invalid', message, { name, group: API_GROUP, kind, causes });
  },
  internal: (): ApiError => new ApiError(500, 'InternalError', 'an internal error occurred; see the controller log'),
};

/**
 * A JSON pointer of the validator (`/spec/template/containers/0/image`) as a Kubernetes field
 * path (`spec.template.containers[0].image`).
 */
export function pointerToFieldPath(pointer: string): string {
  if (pointer === '' || pointer === '/') return '';
  const parts = pointer.replace(/^\//, '').split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let out = '';
  for (const p of parts) {
    if (/^\d+$/.test(p)) out += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) out += out === '' ? p : `.${p}`;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}
