/**
 * What `apply` would write for a manifest, given the live object: the pure part shared by `apply`
 * and `diff`. Labels and annotations are merged three-way (kubectl style): keys this tool applied
 * before and the manifest no longer has are removed, keys added by others are kept.
 */
import type { ContainerJob, ContainerJobSpec } from '../api/types';
import { API_VERSION, KIND } from '../api/types';
import { deepEqual } from '../store/common';
import type { JobObject } from './client/resources';
import { ANNOTATION_LAST_APPLIED, LABEL_APPLYSET } from './client/resources';

interface LastApplied {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

function lastApplied(live: JobObject | undefined): LastApplied {
  const raw = live?.metadata.annotations?.[ANNOTATION_LAST_APPLIED];
  if (!raw) return { labels: {}, annotations: {} };
  try {
    const parsed = JSON.parse(raw) as Partial<LastApplied>;
    return { labels: parsed.labels ?? {}, annotations: parsed.annotations ?? {} };
  } catch {
    return { labels: {}, annotations: {} };
  }
}

function merge(live: Record<string, string> | undefined, previous: Record<string, string>, wanted: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(live ?? {})) if (!(k in previous)) out[k] = v;
  return { ...out, ...(wanted ?? {}) };
}

/**
 * The object `apply` sends for `job`. `applySet` (when given) sets the membership label; without it
 * the live membership is kept. Finalizers are carried over so that a PUT never drops the
 * controller's cleanup finalizer.
 */
export function desiredObject(job: ContainerJob, live: JobObject | undefined, applySet: string | undefined): JobObject {
  const prev = lastApplied(live);
  const wantedLabels = { ...(job.metadata.labels ?? {}) };
  const wantedAnnotations = { ...(job.metadata.annotations ?? {}) };
  const labels = merge(live?.metadata.labels, prev.labels, wantedLabels);
  if (applySet) labels[LABEL_APPLYSET] = applySet;
  const annotations = merge(live?.metadata.annotations, prev.annotations, wantedAnnotations);
  annotations[ANNOTATION_LAST_APPLIED] = JSON.stringify({ labels: wantedLabels, annotations: wantedAnnotations });
  const metadata: JobObject['metadata'] = { name: job.metadata.name, labels, annotations };
  if (live?.metadata.resourceVersion) metadata.resourceVersion = live.metadata.resourceVersion;
  if (live?.metadata.finalizers?.length) metadata.finalizers = live.metadata.finalizers;
  return { apiVersion: API_VERSION, kind: KIND, metadata, spec: job.spec };
}

/** True when writing `desired` would change nothing the user manages. */
export function isUnchanged(desired: JobObject, live: JobObject): boolean {
  return (
    deepEqual(desired.spec, live.spec) &&
    deepEqual(desired.metadata.labels ?? {}, live.metadata.labels ?? {}) &&
    deepEqual(desired.metadata.annotations ?? {}, live.metadata.annotations ?? {})
  );
}

/** The part of an object a diff shows: name, user labels and annotations, spec. */
export function diffView(obj: JobObject): unknown {
  const labels = { ...(obj.metadata.labels ?? {}) };
  delete labels[LABEL_APPLYSET];
  const annotations = { ...(obj.metadata.annotations ?? {}) };
  delete annotations[ANNOTATION_LAST_APPLIED];
  const metadata: Record<string, unknown> = { name: obj.metadata.name };
  if (Object.keys(labels).length) metadata.labels = sortKeys(labels);
  if (Object.keys(annotations).length) metadata.annotations = sortKeys(annotations);
  return { apiVersion: obj.apiVersion ?? API_VERSION, kind: obj.kind ?? KIND, metadata, spec: obj.spec };
}

function sortKeys(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)));
}

/** Template fields whose change needs a new container group (DESIGN §3). */
const RECREATE_FIELDS: [RegExp, string][] = [
  [/^osType$/, 'osType'],
  [/^restartPolicy$/, 'restartPolicy'],
  [/^containers\/\d+\/resources/, 'CPU, memory or GPU'],
  [/^containers\/\d+\/ports/, 'container ports'],
  [/^containers\/(\d+\/name|\d+$)|^containers$/, 'the set of containers'],
  [/^ipAddress/, 'IP address / ports'],
  [/^subnetIds/, 'subnet'],
  [/^zones/, 'zones'],
  [/^sku/, 'sku'],
  [/^priority/, 'priority'],
  [/^location$/, 'location'],
  [/^resourceGroup$/, 'resource group'],
  [/^subscriptionId$/, 'subscription'],
];

/** JSON pointers (without the leading slash) where two values differ. */
export function changedPaths(a: unknown, b: unknown, prefix = ''): string[] {
  if (deepEqual(a, b)) return [];
  const bothObjects = a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b);
  if (!bothObjects) return [prefix];
  if (Array.isArray(a) && Array.isArray(b) && a.length !== b.length) return [prefix];
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(ao), ...Object.keys(bo)])];
  return keys.flatMap((k) => changedPaths(ao[k], bo[k], prefix ? `${prefix}/${k}` : k));
}

/**
 * What the controller would do in ACI for a spec change (a client-side preview of the planner; the
 * server has the final word): one line per job, or undefined when ACI is not affected.
 */
export function planPreview(name: string, live: ContainerJobSpec | undefined, desired: ContainerJobSpec): string | undefined {
  if (!live) return `containerjob/${name}: create (${desired.schedule ? `scheduled ${desired.schedule}` : 'manual runs only'}; a container group per run)`;
  if (deepEqual(live, desired)) return undefined;
  const tpl = changedPaths(live.template, desired.template);
  const other = changedPaths({ ...live, template: undefined }, { ...desired, template: undefined });
  const parts: string[] = [];
  if (tpl.length) {
    const reasons = [...new Set(tpl.flatMap((p) => RECREATE_FIELDS.filter(([re]) => re.test(p)).map(([, why]) => why)))];
    const reuse = (desired.groupPolicy ?? 'PerRun') === 'Reuse';
    if (reasons.length) parts.push(`${reuse ? 'recreate the job group' : 'new groups'} at the next run (changed: ${reasons.join(', ')})`);
    else parts.push(`${reuse ? 'update the job group in place' : 'new groups use the new template'} at the next run (changed: ${tpl.map((p) => `template/${p}`).join(', ')})`);
  }
  if (other.length) parts.push(`controller settings changed: ${other.join(', ')}`);
  return `containerjob/${name}: ${parts.join('; ')}${tpl.length ? '; running runs are left alone' : ''}`;
}
