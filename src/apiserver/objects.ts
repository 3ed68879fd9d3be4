/**
 * Kubernetes object mapping: StoredJob ⇄ `ContainerJob` object, RunRecord → `ContainerJobRun`
 * object, and the checks of an incoming object's envelope and metadata.
 */
import { createHash } from 'node:crypto';
import { API_GROUP, API_VERSION, KIND } from '../api/types';
import type { RunRecord } from '../api/runs';
import type { StoredJob } from '../store/types';
import { errors, type StatusCause } from './status';
import { isPlainObject } from './http';

export const RUN_KIND = 'ContainerJobRun';
export const JOBS = 'containerjobs';
export const RUNS = 'containerjobruns';
/** API-created jobs carry this finalizer; the reconciler removes it after deleting the job's groups. */
export { FINALIZER_CLEANUP } from '../api/names';
/** The label every run object carries: the job it belongs to (so `-l acictl.dev/job=NAME` works). */
export const RUN_JOB_LABEL = 'acictl.dev/job';
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export interface ObjectMetaOut {
  name: string;
  uid: string;
  resourceVersion: string;
  generation?: number;
  creationTimestamp: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface JobObject {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMetaOut;
  spec: StoredJob['spec'];
  status: Record<string, unknown>;
}

export interface RunObject {
  apiVersion: typeof API_VERSION;
  kind: typeof RUN_KIND;
  metadata: ObjectMetaOut;
  spec: Record<string, unknown>;
  status: Record<string, unknown>;
}

/** Kubernetes timestamps are RFC 3339 with whole seconds. */
export function k8sTime(value: string | number | undefined | null): string | undefined {
  if (value === undefined || value === null) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return typeof value === 'string' ? value : undefined;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function nonEmpty<T extends object>(v: T | undefined): T | undefined {
  return v && Object.keys(v).length > 0 ? v : undefined;
}

export function jobToObject(job: StoredJob): JobObject {
  const metadata: ObjectMetaOut = {
    name: job.name,
    uid: job.uid,
    resourceVersion: String(job.resourceVersion),
    generation: job.generation,
    creationTimestamp: k8sTime(job.creationTimestamp) ?? job.creationTimestamp,
  };
  if (job.deletionTimestamp) metadata.deletionTimestamp = k8sTime(job.deletionTimestamp);
  if (job.finalizers.length > 0) metadata.finalizers = [...job.finalizers];
  const labels = nonEmpty(job.labels);
  if (labels) metadata.labels = { ...labels };
  const annotations = nonEmpty(job.annotations);
  if (annotations) metadata.annotations = { ...annotations };
  const status: Record<string, unknown> = { ...job.status };
  if (job.source.kind === 'directory') {
    // output only: where a read-only job comes from
    status.source = { kind: 'directory', file: job.source.file, ...(job.source.revision ? { revision: job.source.revision } : {}) };
  }
  return { apiVersion: API_VERSION, kind: KIND, metadata, spec: job.spec, status };
}

/** A stable uid for a run (run ids are unique and never reused for another run). */
export function runUid(id: string): string {
  const h = createHash('sha256').update(`containerjobrun/${id}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function runToObject(run: RunRecord, resourceVersion: number): RunObject {
  const attempts = run.attempts.map((a) => {
    const out: Record<string, unknown> = { attempt: a.attempt, groupName: a.groupName, phase: a.phase, createdAt: k8sTime(a.createdAt) };
    if (a.startedAt !== undefined) out.startedAt = k8sTime(a.startedAt);
    if (a.finishedAt !== undefined) out.finishedAt = k8sTime(a.finishedAt);
    if (a.exitCode !== undefined && a.exitCode !== null) out.exitCode = a.exitCode;
    if (a.reason) out.reason = a.reason;
    if (a.message) out.message = a.message;
    out.logsArchived = a.logsArchived;
    out.groupDeleted = a.groupDeleted;
    return out;
  });
  const status: Record<string, unknown> = { phase: run.phase, attempts };
  if (run.finishedAt !== undefined) status.finishedAt = k8sTime(run.finishedAt);
  if (run.nextAttemptAt !== undefined) status.nextAttemptAt = k8sTime(run.nextAttemptAt);
  if (run.clearedAt !== undefined) status.clearedAt = k8sTime(run.clearedAt);
  if (run.waitReason !== undefined) status.reason = run.waitReason;
  if (run.waitMessage !== undefined) status.message = run.waitMessage;
  return {
    apiVersion: API_VERSION,
    kind: RUN_KIND,
    metadata: {
      name: run.id,
      uid: runUid(run.id),
      resourceVersion: String(resourceVersion),
      creationTimestamp: k8sTime(run.createdAt)!,
      labels: { [RUN_JOB_LABEL]: run.job },
    },
    spec: {
      job: run.job,
      manual: run.manual,
      scheduledTime: k8sTime(run.scheduledTime),
      ...(run.slot !== null ? { slot: k8sTime(run.slot) } : {}),
      dataIntervalStart: k8sTime(run.dataIntervalStart),
      dataIntervalEnd: k8sTime(run.dataIntervalEnd),
      ...(run.backfill ? { backfill: run.backfill } : {}),
    },
    status,
  };
}

// ---- incoming objects --------------------------------------------------------------------------

/** ObjectMeta fields a client may send (system fields are accepted and ignored where they are not ours to set). */
const KNOWN_META = new Set([
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
]);
const KNOWN_TOP = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

export interface IncomingJob {
  name: string;
  /** The object as the validator sees it: envelope, name, labels, annotations, spec. */
  manifest: { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec: unknown };
  labels: Record<string, string>;
  annotations: Record<string, string>;
  finalizers: string[] | undefined;
  resourceVersion: number | undefined;
  /** Top-level and metadata fields Kubernetes does not know, as field paths. */
  unknownFields: string[];
  /** The status the client sent (used by the status subresource only). */
  status: unknown;
}

function stringMap(v: unknown, field: string, causes: StatusCause[], checkKey: boolean, checkValue: boolean): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isPlainObject(v)) {
    causes.push({ type: 'FieldValueInvalid', field, message: 'Invalid value: must be a map of strings' });
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') {
      causes.push({ type: 'FieldValueInvalid', field: `${field}[${JSON.stringify(k)}]`, message: 'Invalid value: must be a string' });
      continue;
    }
    if (checkKey && (!QUALIFIED_NAME.test(k) || k.length > 316)) {
      causes.push({ type: 'FieldValueInvalid', field, message: `Invalid value: ${JSON.stringify(k)}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character` });
    }
    if (checkValue && (!LABEL_VALUE.test(val) || val.length > 63)) {
      causes.push({ type: 'FieldValueInvalid', field: `${field}[${JSON.stringify(k)}]`, message: `Invalid value: ${JSON.stringify(val)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', at most 63 characters` });
    }
    out[k] = val;
  }
  return out;
}

/**
 * Check the envelope (apiVersion, kind) and metadata of an incoming ContainerJob. Envelope errors
 * are 400 (as Kubernetes answers a body it cannot decode); metadata errors are 422 with causes.
 * `urlName` is the name in the URL (PUT/PATCH); `allowGenerateName` for POST.
 */
export function readIncomingJob(body: unknown, urlName: string | undefined, allowGenerateName: boolean): IncomingJob {
  if (!isPlainObject(body)) throw errors.badRequest('the request body must be a JSON object');
  if (body.apiVersion !== API_VERSION) {
    throw errors.badRequest(`the API version in the data (${typeof body.apiVersion === 'string' ? body.apiVersion : '<missing>'}) does not match the expected API version (${API_VERSION})`);
  }
  if (body.kind !== KIND) {
    throw errors.badRequest(`the kind in the data (${typeof body.kind === 'string' ? body.kind : '<missing>'}) does not match the expected kind (${KIND})`);
  }
  const unknownFields = Object.keys(body).filter((k) => !KNOWN_TOP.has(k));
  const meta = body.metadata === undefined ? {} : body.metadata;
  if (!isPlainObject(meta)) throw errors.badRequest('metadata must be an object');
  for (const k of Object.keys(meta)) if (!KNOWN_META.has(k)) unknownFields.push(`metadata.${k}`);

  const causes: StatusCause[] = [];
  let name = typeof meta.name === 'string' ? meta.name : '';
  if (name === '' && allowGenerateName && typeof meta.generateName === 'string' && meta.generateName !== '') {
    name = `${meta.generateName}${Math.random().toString(36).slice(2, 7)}`;
  }
  if (name === '' && urlName) name = urlName;
  if (name === '') causes.push({ type: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' });
  else if (!NAME.test(name) || name.length > 253) {
    causes.push({ type: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character` });
  }
  if (urlName !== undefined && name !== '' && name !== urlName) {
    throw errors.badRequest(`the name of the object (${name}) does not match the name on the URL (${urlName})`);
  }
  const labels = stringMap(meta.labels, 'metadata.labels', causes, true, true);
  const annotations = stringMap(meta.annotations, 'metadata.annotations', causes, true, false);
  let finalizers: string[] | undefined;
  if (meta.finalizers !== undefined && meta.finalizers !== null) {
    if (!Array.isArray(meta.finalizers) || meta.finalizers.some((f) => typeof f !== 'string' || !QUALIFIED_NAME.test(f))) {
      causes.push({ type: 'FieldValueInvalid', field: 'metadata.finalizers', message: 'Invalid value: must be a list of qualified names' });
    } else finalizers = [...new Set(meta.finalizers as string[])];
  }
  let resourceVersion: number | undefined;
  if (meta.resourceVersion !== undefined && meta.resourceVersion !== null && meta.resourceVersion !== '') {
    const rv = typeof meta.resourceVersion === 'string' && /^\d+$/.test(meta.resourceVersion) ? Number(meta.resourceVersion) : NaN;
    if (!Number.isSafeInteger(rv)) throw errors.badRequest('metadata.resourceVersion: Invalid value: must be a resourceVersion this server returned');
    resourceVersion = rv;
  }
  if (causes.length > 0) throw errors.invalid(KIND, name || '<unnamed>', causes);

  const manifestMeta: IncomingJob['manifest']['metadata'] = { name };
  if (Object.keys(labels).length > 0) manifestMeta.labels = labels;
  if (Object.keys(annotations).length > 0) manifestMeta.annotations = annotations;
  return {
    name,
    manifest: { apiVersion: API_VERSION, kind: KIND, metadata: manifestMeta, spec: body.spec },
    labels,
    annotations,
    finalizers,
    resourceVersion,
    unknownFields,
    status: body.status,
  };
}

/** `API_GROUP` re-exported for callers that build discovery documents from this module. */
export { API_GROUP };
