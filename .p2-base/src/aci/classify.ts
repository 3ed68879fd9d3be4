/**
 * Change classification: what it takes to move an existing container group from `current` to
 * `desired`. Pure. Both templates are compared in canonical form (canonical.ts), so defaults,
 * ordering of sets and ARM-normalised spellings never count as changes.
 *
 * Recreate (delete + create) is needed for what ACI rejects on PUT with InvalidContainerGroupUpdate
 * (ARM-FACTS: "os type, restart policy, network profile, CPU, memory or GPU resources", older docs:
 * ports) and for what identifies or places the group: osType, restartPolicy, priority, sku, zones,
 * location, resourceGroup, containers' resources (requests and limits, GPU) and ports, ipAddress,
 * subnetIds (network profile), dnsConfig (part of the network profile), volumes, and adding or
 * removing a container. Everything else ACI accepts on PUT is in place: image, command,
 * environment variables, volume mounts, init containers, registry credentials, diagnostics,
 * identity and tags.
 */
import type { GroupTemplate } from '../api/types';
import { canonicalTemplate, isObservedSecret } from './canonical';

export type ChangeKind = 'none' | 'inPlace' | 'recreate';

export interface Classification {
  kind: ChangeKind;
  /** recreate: the fields that force the recreate; inPlace: the changed fields; none: []. */
  fields: string[];
  /** Every changed field (a superset of `fields`). */
  changed: string[];
}

const RECREATE_TOP = new Set(['osType', 'restartPolicy', 'priority', 'sku', 'zones', 'location', 'resourceGroup', 'ipAddress', 'subnetIds', 'dnsConfig']);
const RECREATE_CONTAINER = new Set(['resources', 'ports']);

/** Deep equality where a secret placeholder read back from ARM (OBSERVED_SECRET) equals any reference. */
function eq(a: unknown, b: unknown): boolean {
  if (isObservedSecret(a) || isObservedSecret(b)) return isRef(a) && isRef(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => eq(x, b[i]));
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
    const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => eq((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

function isEmptyObject(v: unknown): boolean {
  return !!v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0;
}

function isRef(v: unknown): boolean {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  return keys.length === 1 && (keys[0] === 'env' || keys[0] === 'file');
}

function keyed(list: unknown, key = 'name'): Map<string, Record<string, unknown>> {
  const m = new Map<string, Record<string, unknown>>();
  for (const x of (list as Record<string, unknown>[] | undefined) ?? []) m.set(String(x[key]), x);
  return m;
}

export function classifyChange(current: GroupTemplate, desired: GroupTemplate): Classification {
  const a = canonicalTemplate(current);
  const b = canonicalTemplate(desired);
  const recreate: string[] = [];
  const inPlace: string[] = [];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const k of keys) {
    if (eq(a[k], b[k])) continue;
    if (k === 'containers') {
      const ca = keyed(a[k]);
      const cb = keyed(b[k]);
      for (const name of [...new Set([...ca.keys(), ...cb.keys()])].sort()) {
        const x = ca.get(name);
        const y = cb.get(name);
        if (!x || !y) {
          recreate.push(`/containers/${name}`);
          continue;
        }
        for (const f of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort()) {
          if (eq(x[f], y[f])) continue;
          (RECREATE_CONTAINER.has(f) ? recreate : inPlace).push(`/containers/${name}/${f}`);
        }
      }
    } else if (k === 'volumes') {
      const va = keyed(a[k]);
      const vb = keyed(b[k]);
      for (const name of [...new Set([...va.keys(), ...vb.keys()])].sort()) {
        const x = va.get(name);
        const y = vb.get(name);
        // ARM shows a secret volume as `secret: {}`: its files are as unknown as its contents.
        if (x && y && isEmptyObject(x.secret) !== isEmptyObject(y.secret) && x.secret && y.secret) {
          if (!eq({ ...x, secret: {} }, { ...y, secret: {} })) recreate.push(`/volumes/${name}`);
          continue;
        }
        if (!eq(x, y)) recreate.push(`/volumes/${name}`);
      }
    } else if (k === 'initContainers') {
      const ia = (a[k] as Record<string, unknown>[] | undefined) ?? [];
      const ib = (b[k] as Record<string, unknown>[] | undefined) ?? [];
      const names = ia.map((x) => x.name).join('\u0000') === ib.map((x) => x.name).join('\u0000');
      if (!names) inPlace.push('/initContainers');
      else {
        ia.forEach((x, i) => {
          for (const f of [...new Set([...Object.keys(x), ...Object.keys(ib[i])])].sort()) {
            if (!eq(x[f], ib[i][f])) inPlace.push(`/initContainers/${String(x.name)}/${f}`);
          }
        });
      }
    } else {
      (RECREATE_TOP.has(k) ? recreate : inPlace).push(`/${k}`);
    }
  }
  const changed = [...recreate, ...inPlace].sort();
  if (recreate.length) return { kind: 'recreate', fields: recreate, changed };
  if (inPlace.length) return { kind: 'inPlace', fields: inPlace, changed };
  return { kind: 'none', fields: [], changed: [] };
}
