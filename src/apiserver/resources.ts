/**
 * The Kubernetes verbs on `containerjobs` (with `status`) and `containerjobruns`, plus acictl's own
 * verbs (trigger, suspend, resume, log). Handlers return data; server.ts writes responses.
 */
import { cycleThrough, describeCycle } from '../manifest/cycles';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { once } from 'node:events';
import { KIND } from '../api/types';
import type { RunRecord } from '../api/runs';
import type { ContainerJob } from '../api/types';
import { StoreConflictError, type JobInput, type JobStatus, type Store, type StoredJob } from '../store/types';
import { isPlainObject, parseJson, readBody, wantsTable } from './http';
import {
  FINALIZER_CLEANUP, JOBS, RUN_JOB_LABEL, RUN_KIND, RUNS, jobToObject, k8sTime, readIncomingJob, runToObject,
  type IncomingJob, type JobObject, type RunObject,
} from './objects';
import { JSON_PATCH, MERGE_PATCH, applyPatchBody, patchType } from './patch';
import { pruneUnknown, type JobSchema } from './schema';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector, type FieldRequirement, type Requirement } from './selectors';
import { ApiError, errors, pointerToFieldPath, statusObject, type StatusCause } from './status';
import { JOB_COLUMNS, RUN_COLUMNS, jobCells, rowObject, runCells, table } from './table';
import type { SelectorView, Snapshot, WatchEvent, WatchHub } from './watch';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export type Validate = (
  obj: unknown,
  opts: { strict: boolean },
) => ValidateOutcome;

/** What `validate` answers; warnings may be plain text or located (validateObject's ObjectProblem). */
export type ValidateOutcome =
  | { ok: true; job: ContainerJob; warnings: (string | { pointer: string; message: string })[] }
  | { ok: false; errors: { pointer: string; message: string }[] };

/** What the handlers need (a subset of ApiServerDeps plus the server's own parts). */
export interface ResourceContext {
  store: Store;
  validate: Validate;
  enqueue(name: string): void;
  trigger(name: string): Promise<{ run: string }>;
  setSuspended(name: string, suspended: boolean | null): Promise<void>;
  logs(run: string, attempt: number | undefined, follow: boolean, signal: AbortSignal): AsyncIterable<string>;
  hub: WatchHub;
  schema: JobSchema;
  now(): number;
  /** Open watch and log streams, ended by close(). */
  streams: Set<ServerResponse>;
}

/** A handler's answer: status code, JSON body, warnings (sent as `Warning: 299` headers). */
export interface Reply {
  code: number;
  body: unknown;
  warnings?: string[];
}

export interface Request {
  method: string;
  query: URLSearchParams;
  req: IncomingMessage;
  res: ServerResponse;
}

// ---- query parameters ---------------------------------------------------------------------------

function dryRunOf(q: URLSearchParams): boolean {
  const values = q.getAll('dryRun');
  for (const v of values) if (v !== 'All') throw errors.badRequest(`unsupported dryRun value ${JSON.stringify(v)}: only "All" is supported`);
  return values.length > 0;
}

/** Default Strict: unknown fields are errors in acictl (DESIGN §2), unlike Kubernetes' Warn. */
function fieldValidationOf(q: URLSearchParams): FieldValidation {
  const v = q.get('fieldValidation');
  if (v === null || v === '') return 'Strict';
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw errors.badRequest(`fieldValidation must be one of Strict, Warn or Ignore (got ${JSON.stringify(v)})`);
}

function boolParam(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === 'true' || v === '1';
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw errors.badRequest(`${name} must be a non-negative integer`);
  return Number(v);
}

function encodeContinue(rv: number, after: string): string {
  return Buffer.from(JSON.stringify({ rv, after })).toString('base64url');
}

function decodeContinue(token: string | null): string | undefined {
  if (!token) return undefined;
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof v.after === 'string') return v.after;
  } catch {
    // fall through
  }
  throw errors.badRequest('invalid continue token');
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isPlainObject(v)) {
    return `{${Object.keys(v).filter((k) => v[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function same(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

// ---- the handlers -------------------------------------------------------------------------------

export class Resources {
  constructor(private readonly ctx: ResourceContext) {}

  private get store(): Store {
    return this.ctx.store;
  }

  private async getJobOr404(name: string): Promise<StoredJob> {
    const job = await this.store.getJob(name);
    if (!job) throw errors.notFound(JOBS, name);
    return job;
  }

  /** Jobs from a manifests directory are read-only through the API. */
  private guardWritable(job: StoredJob): void {
    if (job.source.kind === 'directory') {
      throw errors.forbidden(JOBS, job.name, `it is defined in the manifests directory by ${job.source.file}; change that file instead (jobs from a directory are read-only through the API)`);
    }
  }

  private readJson(req: IncomingMessage): Promise<unknown> {
    return readBody(req).then(parseJson);
  }

  // ---- validation ------------------------------------------------------------------------------

  /** Unknown fields per fieldValidation, then the validator. Returns the spec to store. */
  private admit(inc: IncomingJob, fv: FieldValidation): { spec: StoredJob['spec']; warnings: string[] } {
    const unknown = [...inc.unknownFields];
    let spec = inc.manifest.spec;
    if (this.ctx.schema.file && spec !== undefined) {
      const pr = pruneUnknown(spec, this.ctx.schema.spec, 'spec');
      unknown.push(...pr.unknown);
      if (fv !== 'Strict') spec = pr.pruned;
    }
    const warnings = fv === 'Warn' ? unknown.map((u) => `unknown field "${u}"`) : [];
    const result = this.ctx.validate({ ...inc.manifest, spec }, { strict: fv === 'Strict' });
    const causes: StatusCause[] = [];
    unknown.sort();
    if (fv === 'Strict') for (const u of unknown) causes.push({ type: 'FieldValueInvalid', field: u, message: 'field not declared in schema' });
    if (!result.ok) {
      for (const e of result.errors) {
        const field = pointerToFieldPath(e.pointer);
        if (causes.some((c) => c.field === field && c.message === 'field not declared in schema')) continue;
        causes.push({ type: 'FieldValueInvalid', field: field || undefined, message: e.message });
      }
    }
    if (causes.length > 0 || !result.ok) throw errors.invalid(KIND, inc.name, causes);
    const more = result.warnings.map((w) => (typeof w === 'string' ? w : w.pointer ? `${pointerToFieldPath(w.pointer)}: ${w.message}` : w.message));
    return { spec: result.job.spec, warnings: [...warnings, ...more] };
  }

  /**
   * A write that would close a dependency cycle is refused (422 on spec.dependsOn, naming the
   * cycle and where its directory jobs are defined), as `acictl validate` refuses it for files.
   */
  private async refuseCycle(name: string, spec: StoredJob['spec']): Promise<void> {
    const upstream = (spec.dependsOn ?? []).map((d) => d.job);
    if (upstream.length === 0) return;
    const jobs = await this.store.listJobs();
    const graph = new Map(jobs.filter((j) => j.name !== name).map((j) => [j.name, (j.spec.dependsOn ?? []).map((d) => d.job)] as const));
    const cycle = cycleThrough(name, upstream, graph);
    if (!cycle) return;
    const byName = new Map(jobs.map((j) => [j.name, j]));
    const message = describeCycle(cycle, (n) => {
      const src = byName.get(n)?.source;
      return src?.kind === 'directory' ? `${src.file}${src.line ? `:${src.line}` : ''}` : undefined;
    });
    throw errors.invalid(KIND, name, [{ type: 'FieldValueInvalid', field: 'spec.dependsOn', message }]);
  }

  /** What a write would store, without storing it (dryRun=All). */
  private simulate(input: JobInput, existing: StoredJob | undefined): StoredJob {
    const copy = structuredClone(input) as StoredJob;
    return {
      ...copy,
      uid: existing?.uid ?? randomUUID(),
      creationTimestamp: existing?.creationTimestamp ?? k8sTime(this.ctx.now())!,
      resourceVersion: existing?.resourceVersion ?? 0,
      generation: existing ? (same(existing.spec, input.spec) ? existing.generation : existing.generation + 1) : 1,
      finalizers: copy.finalizers ?? [],
      labels: copy.labels ?? {},
      annotations: copy.annotations ?? {},
      status: copy.status ?? {},
    };
  }

  private async put(input: JobInput, expected: number): Promise<StoredJob> {
    try {
      return await this.store.putJob(input, expected);
    } catch (err) {
      if (err instanceof StoreConflictError) {
        if (expected === 0) throw errors.alreadyExists(JOBS, input.name);
        throw errors.conflict(JOBS, input.name, 'the object has been modified; please apply your changes to the latest version and try again');
      }
      throw err;
    }
  }

  // ---- containerjobs -----------------------------------------------------------------------------

  async listJobs(r: Request): Promise<Reply | undefined> {
    const labels = parseLabelSelector(r.query.get('labelSelector'));
    const fields = parseFieldSelector(r.query.get('fieldSelector'), ['metadata.name']);
    if (boolParam(r.query, 'watch')) {
      await this.watch(r, 'containerjobs', labels, fields);
      return undefined;
    }
    const rv = await this.store.currentResourceVersion();
    const after = decodeContinue(r.query.get('continue'));
    const all = (await this.store.listJobs())
      .filter((j) => matchLabels(labels, j.labels) && matchFields(fields, { 'metadata.name': j.name }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .filter((j) => after === undefined || j.name > after);
    const limit = intParam(r.query, 'limit');
    const page = limit ? all.slice(0, limit) : all;
    const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
    if (page.length < all.length) {
      metadata.continue = encodeContinue(rv, page[page.length - 1]!.name);
      metadata.remainingItemCount = all.length - page.length;
    }
    if (wantsTable(r.req.headers.accept)) {
      const now = this.ctx.now();
      const include = r.query.get('includeObject');
      return { code: 200, body: table(JOB_COLUMNS, page.map((j) => ({ cells: jobCells(j, now), object: rowObject(jobToObject(j) as never, include) })), metadata) };
    }
    return { code: 200, body: { apiVersion: 'acictl.dev/v1', kind: `${KIND}List`, metadata, items: page.map(jobToObject) } };
  }

  async getJob(r: Request, name: string): Promise<Reply> {
    const job = await this.getJobOr404(name);
    if (wantsTable(r.req.headers.accept)) {
      const include = r.query.get('includeObject');
      return { code: 200, body: table(JOB_COLUMNS, [{ cells: jobCells(job, this.ctx.now()), object: rowObject(jobToObject(job) as never, include) }], { resourceVersion: String(job.resourceVersion) }) };
    }
    return { code: 200, body: jobToObject(job) };
  }

  async createJob(r: Request): Promise<Reply> {
    const dryRun = dryRunOf(r.query);
    const fv = fieldValidationOf(r.query);
    const body = await this.readJson(r.req);
    const inc = readIncomingJob(body, undefined, true);
    const existing = await this.store.getJob(inc.name);
    if (existing) throw errors.alreadyExists(JOBS, inc.name);
    const { spec, warnings } = this.admit(inc, fv);
    await this.refuseCycle(inc.name, spec);
    const fieldManager = r.query.get('fieldManager') ?? undefined;
    const input: JobInput = {
      name: inc.name,
      finalizers: [...new Set([...(inc.finalizers ?? []), FINALIZER_CLEANUP])],
      labels: inc.labels,
      annotations: inc.annotations,
      spec,
      source: fieldManager ? { kind: 'api', fieldManager } : { kind: 'api' },
      status: {},
    };
    if (dryRun) return { code: 201, body: jobToObject(this.simulate(input, undefined)), warnings };
    const stored = await this.put(input, 0);
    this.ctx.enqueue(stored.name);
    return { code: 201, body: jobToObject(stored), warnings };
  }

  /** PUT and PATCH end here: `inc` is the complete new object. */
  private async update(existing: StoredJob, inc: IncomingJob, fv: FieldValidation, dryRun: boolean): Promise<Reply> {
    if (inc.resourceVersion !== undefined && inc.resourceVersion !== existing.resourceVersion) {
      throw errors.conflict(JOBS, existing.name, 'the object has been modified; please apply your changes to the latest version and try again');
    }
    const { spec, warnings } = this.admit(inc, fv);
    if (!same(existing.spec.dependsOn ?? [], spec.dependsOn ?? [])) await this.refuseCycle(existing.name, spec);
    const finalizers = inc.finalizers ?? [];
    const input: JobInput = {
      name: existing.name,
      finalizers,
      labels: inc.labels,
      annotations: inc.annotations,
      spec,
      source: existing.source,
      status: existing.status,
    };
    if (existing.deletionTimestamp) input.deletionTimestamp = existing.deletionTimestamp;
    if (existing.deletionTimestamp && finalizers.length === 0) {
      // the last finalizer is gone: the object goes, as Kubernetes does it
      if (!dryRun) {
        await this.store.deleteJob(existing.name);
        this.ctx.enqueue(existing.name);
      }
      return { code: 200, body: jobToObject({ ...existing, finalizers: [] }), warnings };
    }
    const unchanged =
      same(existing.spec, spec) && same(existing.labels, input.labels) && same(existing.annotations, input.annotations) && same(existing.finalizers, finalizers);
    if (unchanged) return { code: 200, body: jobToObject(existing), warnings };
    if (dryRun) return { code: 200, body: jobToObject(this.simulate(input, existing)), warnings };
    const stored = await this.put(input, existing.resourceVersion);
    this.ctx.enqueue(stored.name);
    return { code: 200, body: jobToObject(stored), warnings };
  }

  async replaceJob(r: Request, name: string): Promise<Reply> {
    const dryRun = dryRunOf(r.query);
    const fv = fieldValidationOf(r.query);
    const body = await this.readJson(r.req);
    const existing = await this.getJobOr404(name);
    this.guardWritable(existing);
    const inc = readIncomingJob(body, name, false);
    if (inc.resourceVersion === undefined) {
      throw errors.invalid(KIND, name, [{ type: 'FieldValueInvalid', field: 'metadata.resourceVersion', message: 'Invalid value: 0x0: must be specified for an update' }]);
    }
    return await this.update(existing, inc, fv, dryRun);
  }

  async patchJob(r: Request, name: string): Promise<Reply> {
    const dryRun = dryRunOf(r.query);
    const fv = fieldValidationOf(r.query);
    const type = patchType(r.req.headers['content-type']);
    const body = await this.readJson(r.req);
    const existing = await this.getJobOr404(name);
    this.guardWritable(existing);
    const patched = applyPatchBody(type, jobToObject(existing), body);
    const inc = readIncomingJob(patched, name, false);
    return await this.update(existing, inc, fv, dryRun);
  }

  async deleteJob(r: Request, name: string): Promise<Reply> {
    const dryRun = dryRunOf(r.query);
    const raw = await readBody(r.req);
    const options = raw.length > 0 ? parseJson(raw) : {};
    const existing = await this.getJobOr404(name);
    this.guardWritable(existing);
    if (isPlainObject(options) && isPlainObject(options.preconditions)) {
      const p = options.preconditions;
      if (typeof p.uid === 'string' && p.uid !== existing.uid) throw errors.conflict(JOBS, name, `Precondition failed: UID in precondition: ${p.uid}, UID in object meta: ${existing.uid}`);
      if (typeof p.resourceVersion === 'string' && p.resourceVersion !== String(existing.resourceVersion)) {
        throw errors.conflict(JOBS, name, `Precondition failed: ResourceVersion in precondition: ${p.resourceVersion}, ResourceVersion in object meta: ${existing.resourceVersion}`);
      }
    }
    if (isPlainObject(options) && Array.isArray(options.dryRun) && options.dryRun.includes('All')) return { code: 200, body: jobToObject(existing) };
    if (dryRun) return { code: 200, body: jobToObject(existing) };
    if (existing.finalizers.length > 0) {
      if (existing.deletionTimestamp) return { code: 200, body: jobToObject(existing) };
      const { uid: _u, resourceVersion: _r, generation: _g, creationTimestamp: _c, ...rest } = existing;
      const stored = await this.put({ ...rest, deletionTimestamp: k8sTime(this.ctx.now())! }, existing.resourceVersion);
      this.ctx.enqueue(name);
      return { code: 200, body: jobToObject(stored) };
    }
    await this.store.deleteJob(name);
    this.ctx.enqueue(name);
    return { code: 200, body: jobToObject(existing) };
  }

  // ---- status subresource --------------------------------------------------------------------

  getStatus(r: Request, name: string): Promise<Reply> {
    return this.getJob(r, name);
  }

  private async writeStatus(existing: StoredJob, obj: unknown, dryRun: boolean): Promise<Reply> {
    if (!isPlainObject(obj)) throw errors.badRequest('the request body must be a JSON object');
    const meta = isPlainObject(obj.metadata) ? obj.metadata : {};
    if (meta.name !== undefined && meta.name !== existing.name) throw errors.badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${existing.name})`);
    if (meta.resourceVersion !== undefined && meta.resourceVersion !== String(existing.resourceVersion)) {
      throw errors.conflict(JOBS, existing.name, 'the object has been modified; please apply your changes to the latest version and try again');
    }
    const status = obj.status === undefined || obj.status === null ? {} : obj.status;
    if (!isPlainObject(status)) throw errors.invalid(KIND, existing.name, [{ type: 'FieldValueInvalid', field: 'status', message: 'Invalid value: must be an object' }]);
    if (status.conditions !== undefined && !Array.isArray(status.conditions)) {
      throw errors.invalid(KIND, existing.name, [{ type: 'FieldValueInvalid', field: 'status.conditions', message: 'Invalid value: must be a list' }]);
    }
    const { source: _outputOnly, ...next } = status;
    if (same(existing.status, next)) return { code: 200, body: jobToObject(existing) };
    if (dryRun) return { code: 200, body: jobToObject({ ...existing, status: next as JobStatus }) };
    const stored = await this.store.putJobStatus(existing.name, next as JobStatus);
    if (!stored) throw errors.notFound(JOBS, existing.name);
    return { code: 200, body: jobToObject(stored) };
  }

  async replaceStatus(r: Request, name: string): Promise<Reply> {
    const dryRun = dryRunOf(r.query);
    fieldValidationOf(r.query);
    const body = await this.readJson(r.req);
    const existing = await this.getJobOr404(name);
    if (isPlainObject(body) && isPlainObject(body.metadata) && body.metadata.resourceVersion === undefined) {
      throw errors.invalid(KIND, name, [{ type: 'FieldValueInvalid', field: 'metadata.resourceVersion', message: 'Invalid value: 0x0: must be specified for an update' }]);
    }
    return await this.writeStatus(existing, body, dryRun);
  }

  async patchStatus(r: Request, name: string): Promise<Reply> {
    const dryRun = dryRunOf(r.query);
    fieldValidationOf(r.query);
    const type = patchType(r.req.headers['content-type']);
    const body = await this.readJson(r.req);
    const existing = await this.getJobOr404(name);
    const current = jobToObject(existing);
    delete current.status.source;
    return await this.writeStatus(existing, applyPatchBody(type, current, body), dryRun);
  }

  // ---- acictl verbs ----------------------------------------------------------------------------

  async trigger(r: Request, name: string): Promise<Reply> {
    await readBody(r.req, 64 * 1024);
    const job = await this.getJobOr404(name);
    if (job.deletionTimestamp) throw errors.conflict(JOBS, name, 'the job is being deleted');
    let run: string;
    try {
      ({ run } = await this.ctx.trigger(name));
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw errors.conflict(JOBS, name, `cannot trigger a run: ${(err as Error).message}`);
    }
    this.ctx.enqueue(name);
    return { code: 201, body: { run } };
  }

  async suspend(r: Request, name: string, suspended: boolean): Promise<Reply> {
    await readBody(r.req, 64 * 1024);
    await this.getJobOr404(name);
    await this.ctx.setSuspended(name, suspended);
    this.ctx.enqueue(name);
    return { code: 200, body: jobToObject(await this.getJobOr404(name)) };
  }

  /** acictl extension: the job's recent events, oldest first (`?limit=N`, default 50). */
  async jobEvents(r: Request, name: string): Promise<Reply> {
    await this.getJobOr404(name);
    const limit = Math.min(Math.max(Number(r.query.get('limit') ?? 50) || 50, 1), 1000);
    const items = (await this.store.listEvents(name, limit)).map((e) => ({ time: e.time, type: e.type, reason: e.reason, message: e.message, ...(e.run ? { run: e.run } : {}) }));
    return { code: 200, body: { kind: 'ContainerJobEventList', apiVersion: 'acictl.dev/v1', items } };
  }

  /** The job's undelivered notifications (spec.notify): Pending and Failed outbox rows, without payloads. */
  async jobNotifications(name: string): Promise<Reply> {
    await this.getJobOr404(name);
    const rows = [...(await this.store.listNotifications({ job: name, state: 'Pending', limit: 50 })), ...(await this.store.listNotifications({ job: name, state: 'Failed', limit: 50 }))];
    const iso = (ms: number) => new Date(ms).toISOString();
    const items = rows.map((e) => ({ id: e.id, event: e.event, target: e.target, state: e.state, attempts: e.attempts, createdAt: iso(e.createdAt), nextAttemptAt: iso(e.nextAttemptAt), ...(e.lastError ? { lastError: e.lastError } : {}), ...(e.finishedAt ? { finishedAt: iso(e.finishedAt) } : {}) }));
    return { code: 200, body: { kind: 'ContainerJobNotificationList', apiVersion: 'acictl.dev/v1', items } };
  }

  // ---- containerjobruns ----------------------------------------------------------------------

  private runObject(run: RunRecord, resourceVersion: number | undefined): RunObject {
    return runToObject(run, resourceVersion ?? this.ctx.hub.oldestResourceVersion());
  }

  async listRuns(r: Request): Promise<Reply | undefined> {
    const labels = parseLabelSelector(r.query.get('labelSelector'));
    const fields = parseFieldSelector(r.query.get('fieldSelector'), ['metadata.name', 'spec.job']);
    if (boolParam(r.query, 'watch')) {
      await this.watch(r, 'containerjobruns', labels, fields);
      return undefined;
    }
    const rv = await this.store.currentResourceVersion();
    const after = decodeContinue(r.query.get('continue'));
    const jobFilter = fields.find((f) => f.field === 'spec.job' && f.equal)?.value;
    // records and their resourceVersions in one read (not a read per run)
    const all = (await this.store.listRunsWithVersion(jobFilter))
      .filter(({ run }) => matchLabels(labels, { [RUN_JOB_LABEL]: run.job }) && matchFields(fields, { 'metadata.name': run.id, 'spec.job': run.job }))
      .sort((a, b) => (a.run.id < b.run.id ? -1 : a.run.id > b.run.id ? 1 : 0))
      .filter(({ run }) => after === undefined || run.id > after);
    const limit = intParam(r.query, 'limit');
    const page = limit ? all.slice(0, limit) : all;
    const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
    if (page.length < all.length) {
      metadata.continue = encodeContinue(rv, page[page.length - 1]!.run.id);
      metadata.remainingItemCount = all.length - page.length;
    }
    if (wantsTable(r.req.headers.accept)) {
      const now = this.ctx.now();
      const include = r.query.get('includeObject');
      return {
        code: 200,
        body: table(RUN_COLUMNS, page.map(({ run, resourceVersion }) => ({ cells: runCells(run, now), object: rowObject(this.runObject(run, resourceVersion) as never, include) })), metadata),
      };
    }
    return { code: 200, body: { apiVersion: 'acictl.dev/v1', kind: `${RUN_KIND}List`, metadata, items: page.map(({ run, resourceVersion }) => this.runObject(run, resourceVersion)) } };
  }

  async getRun(r: Request, id: string): Promise<Reply> {
    const peeked = await this.store.peekRun(id);
    if (!peeked) throw errors.notFound(RUNS, id);
    const run = peeked.load();
    const obj = this.runObject(run, peeked.resourceVersion);
    if (wantsTable(r.req.headers.accept)) {
      return { code: 200, body: table(RUN_COLUMNS, [{ cells: runCells(run, this.ctx.now()), object: rowObject(obj as never, r.query.get('includeObject')) }], { resourceVersion: obj.metadata.resourceVersion }) };
    }
    return { code: 200, body: obj };
  }

  /** Stream a run's log as text/plain (archived, or live with follow=true). */
  async runLog(r: Request, id: string): Promise<void> {
    const run = await this.store.getRun(id);
    if (!run) throw errors.notFound(RUNS, id);
    const attempt = intParam(r.query, 'attempt');
    if (attempt !== undefined && (attempt < 1 || !run.attempts.some((a) => a.attempt === attempt))) {
      throw errors.badRequest(`run ${id} has no attempt ${attempt}`);
    }
    const follow = boolParam(r.query, 'follow');
    const abort = new AbortController();
    const { res } = r;
    res.on('close', () => abort.abort());
    const chunks = this.ctx.logs(id, attempt, follow, abort.signal)[Symbol.asyncIterator]();
    // the first chunk decides between an error Status and a 200 stream
    let first = await chunks.next();
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' });
    this.ctx.streams.add(res);
    try {
      while (!first.done && !abort.signal.aborted) {
        if (!res.write(first.value)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
        first = await chunks.next();
      }
    } catch {
      // the source failed mid-stream: end what was sent (the controller log has the cause)
    } finally {
      this.ctx.streams.delete(res);
      await chunks.return?.();
      res.end();
    }
  }

  // ---- watch -----------------------------------------------------------------------------------

  private snapshotObject(s: Snapshot): JobObject | RunObject {
    return s.resource === 'containerjobs' ? jobToObject(s.job) : runToObject(s.run, s.resourceVersion);
  }

  private async watch(r: Request, resource: 'containerjobs' | 'containerjobruns', labels: Requirement[], fields: FieldRequirement[]): Promise<void> {
    const { res, query } = r;
    const asTable = wantsTable(r.req.headers.accept);
    const include = query.get('includeObject');
    const matches = (v: SelectorView | undefined): boolean => {
      if (!v) return false;
      if (v.resource === 'containerjobs') return matchLabels(labels, v.labels) && matchFields(fields, { 'metadata.name': v.name });
      return matchLabels(labels, { [RUN_JOB_LABEL]: v.job }) && matchFields(fields, { 'metadata.name': v.id, 'spec.job': v.job });
    };
    const viewOf = (s: Snapshot): SelectorView =>
      s.resource === 'containerjobs' ? { resource: s.resource, name: s.job.name, labels: s.job.labels } : { resource: s.resource, id: s.run.id, job: s.run.job };
    const render = (s: Snapshot): unknown => {
      const obj = this.snapshotObject(s);
      if (!asTable) return obj;
      const cells = s.resource === 'containerjobs' ? jobCells(s.job, this.ctx.now()) : runCells(s.run, this.ctx.now());
      return table(s.resource === 'containerjobs' ? JOB_COLUMNS : RUN_COLUMNS, [{ cells, object: rowObject(obj as never, include) }], { resourceVersion: obj.metadata.resourceVersion });
    };
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const send = (type: string, object: unknown): void => {
      res.write(JSON.stringify({ type, object }) + '\n');
    };
    const forward = (e: WatchEvent): void => {
      if (e.object.resource !== resource) return;
      const now = matches(e.view);
      const before = matches(e.previous);
      if (e.type === 'DELETED') {
        if (now || before) send('DELETED', render(e.object));
      } else if (e.type === 'ADDED' || !before) {
        if (now) send('ADDED', render(e.object));
      } else if (now) send('MODIFIED', render(e.object));
      else send('DELETED', render(e.object));
    };

    // replay and subscribe with no change slipping in between: a full list is read, and the
    // subscription made, inside one store transaction (writes wait for it to end)
    const rvParam = query.get('resourceVersion');
    let unsubscribe: () => void;
    // the hub lost changes (a shared store's pruned change log): this watch ends, its client lists again
    const gone = (rv: number): void => {
      send('ERROR', statusObject(410, 'Expired', `too old resource version: changes up to ${rv} were lost; list again`));
      res.end();
    };
    if (!this.ctx.hub.available()) {
      gone(this.ctx.hub.oldestResourceVersion());
      return;
    }
    if (rvParam === null || rvParam === '' || rvParam === '0') {
      unsubscribe = await this.store.transaction(async () => {
        if (resource === 'containerjobs') {
          for (const job of await this.store.listJobs()) if (matches(viewOf({ resource, job }))) send('ADDED', render({ resource, job }));
        } else {
          for (const { run, resourceVersion } of await this.store.listRunsWithVersion()) {
            const s: Snapshot = { resource: 'containerjobruns', run, resourceVersion };
            if (matches(viewOf(s))) send('ADDED', render(s));
          }
        }
        return this.ctx.hub.subscribe(forward, gone);
      });
    } else {
      const rv = /^\d+$/.test(rvParam) ? Number(rvParam) : NaN;
      const replay = Number.isNaN(rv) ? 'gone' : this.ctx.hub.since(resource, rv);
      if (replay === 'gone') {
        send('ERROR', statusObject(410, 'Expired', `too old resource version: ${rvParam} (${this.ctx.hub.oldestResourceVersion()})`));
        res.end();
        return;
      }
      for (const e of replay) forward(e);
      unsubscribe = this.ctx.hub.subscribe(forward, gone);
    }
    this.ctx.streams.add(res);
    const timeout = intParam(query, 'timeoutSeconds');
    const timer = timeout ? setTimeout(() => res.end(), Math.min(timeout * 1000, 2 ** 31 - 1)) : undefined;
    res.on('close', () => {
      unsubscribe();
      if (timer) clearTimeout(timer);
      this.ctx.streams.delete(res);
    });
  }
}

export { ApiError, JSON_PATCH, MERGE_PATCH };
