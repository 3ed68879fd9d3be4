/**
 * acictl's operator verbs on the API (beside `trigger`):
 *   POST /apis/acictl.dev/v1/containerjobs/NAME/backfill   {from, to, maxActive?, rerun?, dryRun?}
 *   POST /apis/acictl.dev/v1/containerjobruns/RUN/clear    {}
 *   POST /apis/acictl.dev/v1/containerjobruns/RUN/cancel   {}
 * kubectl reaches them with `kubectl create --raw PATH -f BODY.json`.
 */
import type { BackfillOptions, BackfillReply, OperatorVerbs } from '../controller/operator';
import { isPlainObject, parseJson, readBody } from './http';
import { JOBS, RUNS } from './objects';
import type { Reply, Request } from './resources';
import { ApiError, errors } from './status';

/** The verbs as the controller offers them (src/controller/operator.ts); errors carry a code. */
export type OperatorApi = OperatorVerbs;

function toApiError(err: unknown, resource: string, name: string): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { code?: string; message?: string };
  if (e.code === 'NotFound') return errors.notFound(resource, name);
  if (e.code === 'Conflict') return errors.conflict(resource, name, e.message ?? 'conflict');
  if (e.code === 'Invalid') return errors.badRequest(e.message ?? 'invalid request');
  throw err;
}

function instant(v: unknown, field: string): number {
  const t = typeof v === 'string' ? Date.parse(v) : typeof v === 'number' ? v : NaN;
  if (!Number.isFinite(t)) throw errors.badRequest(`${field} must be an RFC 3339 time (got ${JSON.stringify(v)})`);
  return t;
}

export async function backfill(api: OperatorApi | undefined, r: Request, name: string): Promise<Reply> {
  if (!api) throw errors.methodNotAllowed('POST', 'containerjobs/NAME/backfill');
  const body = parseJson(await readBody(r.req, 64 * 1024));
  if (!isPlainObject(body)) throw errors.badRequest('the body must be a JSON object {from, to, maxActive?, rerun?, dryRun?}');
  const known = new Set(['from', 'to', 'maxActive', 'rerun', 'dryRun']);
  for (const k of Object.keys(body)) if (!known.has(k)) throw errors.badRequest(`unknown field ${JSON.stringify(k)}`);
  const o: BackfillOptions = { from: instant(body.from, 'from'), to: instant(body.to, 'to') };
  if (body.maxActive !== undefined) {
    if (typeof body.maxActive !== 'number' || !Number.isInteger(body.maxActive) || body.maxActive < 1) throw errors.badRequest('maxActive must be a positive integer');
    o.maxActive = body.maxActive;
  }
  o.rerun = body.rerun === true;
  o.dryRun = body.dryRun === true || r.query.getAll('dryRun').includes('All');
  let reply: BackfillReply;
  try {
    reply = await api.backfill(name, o);
  } catch (err) {
    throw toApiError(err, JOBS, name);
  }
  return { code: reply.dryRun ? 200 : 201, body: { kind: 'ContainerJobBackfill', apiVersion: 'acictl.dev/v1', job: name, ...reply } };
}

export async function runVerb(api: OperatorApi | undefined, r: Request, verb: 'clear' | 'cancel', run: string): Promise<Reply> {
  if (!api) throw errors.methodNotAllowed('POST', `containerjobruns/NAME/${verb}`);
  await readBody(r.req, 64 * 1024);
  try {
    const res = await (verb === 'clear' ? api.clear(run) : api.cancel(run));
    return { code: 202, body: { kind: 'ContainerJobRunRequest', apiVersion: 'acictl.dev/v1', verb, ...res } };
  } catch (err) {
    throw toApiError(err, RUNS, run);
  }
}
