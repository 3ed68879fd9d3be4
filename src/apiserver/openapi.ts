/**
 * OpenAPI v2 and v3 documents for acictl.dev/v1, built from the ContainerJob JSON Schema, so that
 * kubectl validates (`--validate=strict` through server-side field validation), `kubectl explain`
 * prints our descriptions, and client tooling finds the kinds by `x-kubernetes-group-version-kind`.
 */
import { createHash } from 'node:crypto';
import { API_GROUP, KIND } from '../api/types';
import { RUN_KIND } from './objects';
import type { JobSchema, Structural } from './schema';

const GV_PATH = `apis/${API_GROUP}/v1`;
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const PREFIX = 'dev.acictl.v1';
const gvk = (kind: string) => ({ group: API_GROUP, version: 'v1', kind });

const str = (description: string, extra: Structural = {}): Structural => ({ type: 'string', description, ...extra });
const time = (description: string): Structural => ({ type: 'string', format: 'date-time', description });
const int = (description: string): Structural => ({ type: 'integer', format: 'int64', description });
const strMap = (description: string): Structural => ({ type: 'object', description, additionalProperties: { type: 'string' } });

function objectMeta(): Structural {
  return {
    type: 'object',
    description: 'Standard object metadata (Kubernetes ObjectMeta). ContainerJobs are cluster-scoped: no namespace.',
    properties: {
      name: str('Name of the job: a DNS label, short enough for run names to fit 63 characters.'),
      generateName: str('Prefix for a generated name (create only).'),
      namespace: str('Ignored: ContainerJobs are cluster-scoped.'),
      uid: str('Unique id, set by the server.'),
      resourceVersion: str('Opaque version for optimistic concurrency; a stale one gets 409 Conflict.'),
      generation: int('Incremented by the server on every spec change.'),
      creationTimestamp: time('When the object was created.'),
      deletionTimestamp: time('Set when deletion was requested; the object stays until its finalizers are removed.'),
      deletionGracePeriodSeconds: int('Unused.'),
      labels: strMap('Labels for selection (kubectl get -l).'),
      annotations: strMap('Annotations (the kubectl last-applied configuration is kept here).'),
      finalizers: { type: 'array', description: 'acictl.dev/cleanup: the controller removes it after the job\'s container groups are gone.', items: { type: 'string' } },
      ownerReferences: { type: 'array', description: 'Unused.', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      managedFields: { type: 'array', description: 'Not tracked by this server.', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      selfLink: str('Unused.'),
    },
  };
}

function listMeta(): Structural {
  return {
    type: 'object',
    description: 'Standard list metadata.',
    properties: {
      resourceVersion: str('The resourceVersion the list was read at; watch from it.'),
      continue: str('Token for the next page (limit/continue).'),
      remainingItemCount: int('Items after this page.'),
    },
  };
}

function jobStatus(): Structural {
  const condition: Structural = {
    type: 'object',
    required: ['type', 'status'],
    properties: {
      type: str('Ready, Scheduled, LastRunSucceeded or Invalid.'),
      status: str('True, False or Unknown.', { enum: ['True', 'False', 'Unknown'] }),
      reason: str('Machine-readable reason in CamelCase.'),
      message: str('Human-readable detail.'),
      lastTransitionTime: time('When status last changed.'),
      observedGeneration: int('The generation the condition was computed for.'),
    },
  };
  return {
    type: 'object',
    description: 'Observed state of the job, written by the controller.',
    properties: {
      observedGeneration: int('The generation the controller last acted on.'),
      conditions: { type: 'array', description: 'Ready, Scheduled, LastRunSucceeded, Invalid.', items: condition },
      lastScheduleTime: time('The last slot a run was started for.'),
      lastSuccessfulTime: time('The last slot whose run succeeded.'),
      nextScheduleTime: time('The next slot.'),
      active: {
        type: 'array',
        description: 'Runs in progress.',
        items: { type: 'object', properties: { run: str('Run id.'), group: str('Container group name.'), attempt: int('Attempt number.') } },
      },
      lastRunResult: str('Succeeded or Failed.'),
      sourceRevision: str('Revision of the manifests source the spec came from.'),
      suspended: { type: 'boolean', description: 'Effective suspension (spec.suspend or a runtime override).' },
      specHash: str('Hash of the template the controller last applied.'),
      backfill: {
        type: 'object',
        description: 'The backfill in progress (acictl backfill).',
        properties: { id: str('Backfill id.'), from: time('First instant of the range.'), to: time('Last instant of the range.'), slots: int('Slots in the range.'), handled: int('Slots started, cleared or skipped so far.'), active: int('Runs of the backfill in progress.') },
      },
      source: {
        type: 'object',
        description: 'Output only: the manifests file of a read-only job.',
        properties: { kind: str('directory'), file: str('File path.'), revision: str('Source revision.') },
      },
    },
  };
}

function runSchemas(): { spec: Structural; status: Structural } {
  const attempt: Structural = {
    type: 'object',
    properties: {
      attempt: int('Attempt number, from 1.'),
      groupName: str('Container group of the attempt.'),
      phase: str('Creating, Running, Succeeded or Failed.'),
      createdAt: time('When the attempt was recorded.'),
      startedAt: time('When its containers started.'),
      finishedAt: time('When it finished.'),
      exitCode: int('Exit code of the main container.'),
      reason: str('Machine-readable failure reason (ExitCode, Timeout, Replaced, InaccessibleImage, Quota, Evicted, ...).'),
      message: str('Failure detail.'),
      logsArchived: { type: 'boolean', description: 'Whether the logs are in the store.' },
      groupDeleted: { type: 'boolean', description: 'Whether the container group is gone.' },
    },
  };
  return {
    spec: {
      type: 'object',
      description: 'What the run is for (read-only).',
      properties: {
        job: str('The ContainerJob.'),
        manual: { type: 'boolean', description: 'Triggered by hand rather than by the schedule.' },
        slot: time('The scheduled slot (absent for manual runs).'),
        scheduledTime: time('The slot, or when a manual trigger was accepted.'),
        dataIntervalStart: time('Start of the data interval.'),
        dataIntervalEnd: time('End of the data interval.'),
        backfill: str('The backfill that started or re-ran the run (acictl backfill).'),
      },
    },
    status: {
      type: 'object',
      description: 'Progress of the run.',
      properties: {
        phase: str('Waiting, UpstreamFailed, Pending, Running, Retrying, Succeeded or Failed.'),
        reason: str('Waiting / UpstreamFailed: why (UpstreamRunning, UpstreamPending, UpstreamMissing, UpstreamFailed, UpstreamMissed, PreviousFailed, ...).'),
        message: str('Waiting / UpstreamFailed: what the run waits for.'),
        attempts: { type: 'array', description: 'Attempts, oldest first.', items: attempt },
        finishedAt: time('When the run finished.'),
        nextAttemptAt: time('When Retrying: the earliest next attempt.'),
        clearedAt: time('When the run was last cleared (acictl clear): it then ran again as a new attempt.'),
      },
    },
  };
}

type Refs = (name: string) => Structural;

function definitions(schema: JobSchema, ref: Refs): Record<string, Structural> {
  const runs = runSchemas();
  const envelope = (kind: string, description: string, spec: Structural, status: Structural): Structural => ({
    type: 'object',
    description,
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      apiVersion: str('acictl.dev/v1'),
      kind: str(kind),
      metadata: ref(`${META}.ObjectMeta`),
      spec,
      status,
    },
    'x-kubernetes-group-version-kind': [gvk(kind)],
  });
  const list = (kind: string, item: string): Structural => ({
    type: 'object',
    description: `A list of ${item}s.`,
    required: ['items'],
    properties: {
      apiVersion: str('acictl.dev/v1'),
      kind: str(kind),
      metadata: ref(`${META}.ListMeta`),
      items: { type: 'array', items: ref(`${PREFIX}.${item}`) },
    },
    'x-kubernetes-group-version-kind': [gvk(kind)],
  });
  return {
    [`${PREFIX}.${KIND}`]: envelope(KIND, schema.description, { ...schema.spec, description: schema.spec.description ?? 'Desired state of the job.' }, jobStatus()),
    [`${PREFIX}.${KIND}List`]: list(`${KIND}List`, KIND),
    [`${PREFIX}.${RUN_KIND}`]: envelope(RUN_KIND, 'One run of a ContainerJob (read-only): its attempts, phase and exit codes.', runs.spec, runs.status),
    [`${PREFIX}.${RUN_KIND}List`]: list(`${RUN_KIND}List`, RUN_KIND),
    [`${META}.ObjectMeta`]: objectMeta(),
    [`${META}.ListMeta`]: listMeta(),
    [`${META}.Status`]: {
      type: 'object',
      description: 'The result of a failed request.',
      properties: { apiVersion: str('v1'), kind: str('Status'), status: str('Success or Failure.'), message: str('Description.'), reason: str('Machine-readable reason.'), code: { type: 'integer' }, details: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
    },
  };
}

interface Operation {
  method: 'get' | 'put' | 'post' | 'patch' | 'delete';
  action: string;
  kind: string;
  response: string;
  body?: string;
  id: string;
  description: string;
  query: string[];
}

const QUERY_DOCS: Record<string, string> = {
  dryRun: 'All: validate and return the result without storing it.',
  fieldManager: 'Name of the actor making the change.',
  fieldValidation: 'Strict (default here): unknown fields are errors; Warn: dropped with a warning; Ignore: dropped.',
  labelSelector: 'Label selector (=, ==, !=, in, notin, exists, !key).',
  fieldSelector: 'metadata.name=NAME (and spec.job=JOB for runs).',
  limit: 'Page size.',
  continue: 'Token from the previous page.',
  watch: 'Stream ADDED/MODIFIED/DELETED events.',
  resourceVersion: 'Watch from this version (410 Gone when it is too old).',
  timeoutSeconds: 'End a watch after this many seconds.',
  allowWatchBookmarks: 'Accepted; bookmarks are not sent.',
  pretty: 'Accepted and ignored.',
};

function operations(): Record<string, Operation[]> {
  const writes = ['dryRun', 'fieldManager', 'fieldValidation', 'pretty'];
  const lists = ['labelSelector', 'fieldSelector', 'limit', 'continue', 'watch', 'resourceVersion', 'timeoutSeconds', 'allowWatchBookmarks', 'pretty'];
  const J = KIND;
  const R = RUN_KIND;
  const base = `/${GV_PATH}`;
  return {
    [`${base}/containerjobs`]: [
      { method: 'get', action: 'list', kind: J, response: `${J}List`, id: 'listContainerJob', description: 'List or watch ContainerJobs.', query: lists },
      { method: 'post', action: 'post', kind: J, response: J, body: J, id: 'createContainerJob', description: 'Create a ContainerJob.', query: writes },
    ],
    [`${base}/containerjobs/{name}`]: [
      { method: 'get', action: 'get', kind: J, response: J, id: 'readContainerJob', description: 'Read a ContainerJob.', query: ['pretty'] },
      { method: 'put', action: 'put', kind: J, response: J, body: J, id: 'replaceContainerJob', description: 'Replace a ContainerJob.', query: writes },
      { method: 'patch', action: 'patch', kind: J, response: J, body: 'patch', id: 'patchContainerJob', description: 'Patch a ContainerJob (merge patch or JSON patch).', query: writes },
      { method: 'delete', action: 'delete', kind: J, response: J, id: 'deleteContainerJob', description: 'Delete a ContainerJob (it stays, with deletionTimestamp, until its groups are cleaned up).', query: ['dryRun', 'pretty'] },
    ],
    [`${base}/containerjobs/{name}/status`]: [
      { method: 'get', action: 'get', kind: J, response: J, id: 'readContainerJobStatus', description: 'Read the status of a ContainerJob.', query: ['pretty'] },
      { method: 'put', action: 'put', kind: J, response: J, body: J, id: 'replaceContainerJobStatus', description: 'Replace the status of a ContainerJob.', query: writes },
      { method: 'patch', action: 'patch', kind: J, response: J, body: 'patch', id: 'patchContainerJobStatus', description: 'Patch the status of a ContainerJob.', query: writes },
    ],
    [`${base}/containerjobruns`]: [
      { method: 'get', action: 'list', kind: R, response: `${R}List`, id: 'listContainerJobRun', description: 'List or watch runs.', query: lists },
    ],
    [`${base}/containerjobruns/{name}`]: [
      { method: 'get', action: 'get', kind: R, response: R, id: 'readContainerJobRun', description: 'Read a run.', query: ['pretty'] },
    ],
  };
}

const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json'];

/** The OpenAPI v3 document of acictl.dev/v1. */
export function openApiV3(schema: JobSchema): Record<string, unknown> {
  const ref: Refs = (name) => ({ $ref: `#/components/schemas/${name}` });
  const paths: Record<string, unknown> = {};
  for (const [path, ops] of Object.entries(operations())) {
    const item: Record<string, unknown> = {};
    if (path.includes('{name}')) item.parameters = [{ name: 'name', in: 'path', required: true, description: 'Name of the object.', schema: { type: 'string' } }];
    for (const op of ops) {
      const o: Record<string, unknown> = {
        description: op.description,
        operationId: op.id,
        tags: ['acictlDev_v1'],
        parameters: op.query.map((q) => ({ name: q, in: 'query', description: QUERY_DOCS[q], schema: { type: q === 'limit' || q === 'timeoutSeconds' ? 'integer' : q === 'watch' || q === 'allowWatchBookmarks' ? 'boolean' : 'string' }, uniqueItems: true })),
        responses: {
          '200': { description: 'OK', content: { 'application/json': { schema: ref(`${PREFIX}.${op.response}`) } } },
          '401': { description: 'Unauthorized' },
        },
        'x-kubernetes-action': op.action,
        'x-kubernetes-group-version-kind': gvk(op.kind),
      };
      if (op.body === 'patch') {
        o.requestBody = { content: Object.fromEntries(PATCH_TYPES.map((t) => [t, { schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } }])), required: true };
      } else if (op.body) {
        o.requestBody = { content: { 'application/json': { schema: ref(`${PREFIX}.${op.body}`) } }, required: true };
      }
      if (op.method === 'post') (o.responses as Record<string, unknown>)['201'] = { description: 'Created', content: { 'application/json': { schema: ref(`${PREFIX}.${op.response}`) } } };
      item[op.method] = o;
    }
    paths[path] = item;
  }
  return {
    openapi: '3.0.0',
    info: { title: 'acictl', version: 'v1' },
    paths,
    components: { schemas: definitions(schema, ref) },
  };
}

function stripNullable(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(stripNullable);
  if (typeof s !== 'object' || s === null) return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'nullable') continue;
    if (k === 'x-kubernetes-int-or-string') {
      out[k] = v;
      continue;
    }
    out[k] = k === 'enum' || k === 'default' ? v : stripNullable(v);
  }
  return out;
}

/** The OpenAPI v2 (Swagger) document: same definitions, v2 shapes. */
export function openApiV2(schema: JobSchema): Record<string, unknown> {
  const ref: Refs = (name) => ({ $ref: `#/definitions/${name}` });
  const paths: Record<string, unknown> = {};
  for (const [path, ops] of Object.entries(operations())) {
    const item: Record<string, unknown> = {};
    if (path.includes('{name}')) item.parameters = [{ name: 'name', in: 'path', required: true, type: 'string', description: 'Name of the object.' }];
    for (const op of ops) {
      const params: unknown[] = op.query.map((q) => ({ name: q, in: 'query', type: q === 'limit' || q === 'timeoutSeconds' ? 'integer' : q === 'watch' || q === 'allowWatchBookmarks' ? 'boolean' : 'string', description: QUERY_DOCS[q], uniqueItems: true }));
      if (op.body) params.push({ name: 'body', in: 'body', required: true, schema: op.body === 'patch' ? { type: 'object' } : ref(`${PREFIX}.${op.body}`) });
      const o: Record<string, unknown> = {
        description: op.description,
        operationId: op.id,
        consumes: op.body === 'patch' ? PATCH_TYPES : ['application/json'],
        produces: ['application/json'],
        schemes: ['https', 'http'],
        tags: ['acictlDev_v1'],
        parameters: params,
        responses: { '200': { description: 'OK', schema: ref(`${PREFIX}.${op.response}`) }, '401': { description: 'Unauthorized' } },
        'x-kubernetes-action': op.action,
        'x-kubernetes-group-version-kind': gvk(op.kind),
      };
      item[op.method] = o;
    }
    paths[path] = item;
  }
  return {
    swagger: '2.0',
    info: { title: 'acictl', version: 'v1' },
    paths,
    definitions: stripNullable(definitions(schema, ref)),
  };
}

/** The `/openapi/v3` index: one entry per group version, with a content hash for caching. */
export function openApiV3Index(v3: Record<string, unknown>): { doc: Record<string, unknown>; hash: string } {
  const hash = createHash('sha512').update(JSON.stringify(v3)).digest('hex').slice(0, 128).toUpperCase();
  return { doc: { paths: { [GV_PATH]: { serverRelativeURL: `/openapi/v3/${GV_PATH}?hash=${hash}` } } }, hash };
}
