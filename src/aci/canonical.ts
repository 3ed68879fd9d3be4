/**
 * The canonical form of a group template: the one shape the spec hash and change classification
 * compare. Defaults are filled in, ARM-normalised values are normalised (location "East US" →
 * "eastus", resource ids lower-cased, numbers as numbers, TCP as the default protocol), sets are
 * sorted (containers, env vars, ports, volumes, mounts, credentials, zones, subnets, identities),
 * and empty lists/objects are dropped, so that "absent" and "empty" never differ.
 * `subscriptionId` is not part of it (null means "the controller's default", which cannot be compared).
 */
import type { GroupTemplate, SecretRef } from '../api/types';

export type CanonicalTemplate = Record<string, unknown>;

const OBSERVED_SECRET_NAME = '<redacted>';
/**
 * The placeholder reference a template read back from ARM carries where ARM shows a secret slot
 * but (rightly) not its value or source. Classification treats it as equal to any reference.
 */
export const OBSERVED_SECRET: SecretRef = Object.freeze({ env: OBSERVED_SECRET_NAME }) as SecretRef;

export function isObservedSecret(r: unknown): boolean {
  return !!r && typeof r === 'object' && (r as { env?: unknown }).env === OBSERVED_SECRET_NAME;
}

/** The canonical stand-in for every secret reference when references are masked. */
export const MASKED_SECRET = Object.freeze({ secret: true });

export interface CanonicalOptions {
  /**
   * Replace every secret reference by MASKED_SECRET. The spec hash does this: where a secret
   * comes from and what it is are covered by the secret digest (hash.ts), so a group read back
   * from ARM (which never shows either) hashes like the manifest it came from.
   */
  maskSecretRefs?: boolean;
}

/** Location as ARM normalises it: lower case, no spaces. */
export function normalizeLocation(loc: string): string {
  return loc.replace(/\s+/g, '').toLowerCase();
}

function num(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function ref(r: SecretRef | undefined, masking: boolean): SecretRef | typeof MASKED_SECRET | undefined {
  if (!r) return undefined;
  if (masking) return MASKED_SECRET;
  if ('keyVault' in r) return { keyVault: { vault: r.keyVault.vault, secret: r.keyVault.secret, ...(r.keyVault.version ? { version: r.keyVault.version } : {}) } };
  return 'env' in r ? { env: r.env } : { file: r.file };
}

function byKey<T>(key: (x: T) => string): (a: T, b: T) => number {
  return (a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

/** Remove undefined members, empty arrays and empty objects (recursively), except where kept on purpose. */
export function prune(v: unknown, keepEmptyAt: (path: string) => boolean = () => false, path = ''): unknown {
  if (Array.isArray(v)) {
    const items = v.map((x, i) => prune(x, keepEmptyAt, `${path}/${i}`)).filter((x) => x !== undefined);
    return items.length === 0 && !keepEmptyAt(path) ? undefined : items;
  }
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object)) {
      const p = prune((v as Record<string, unknown>)[k], keepEmptyAt, `${path}/${k}`);
      if (p !== undefined) out[k] = p;
    }
    return Object.keys(out).length === 0 && !keepEmptyAt(path) ? undefined : out;
  }
  return v === null ? undefined : v;
}

function ports(ps: { port: number; protocol?: string }[] | undefined) {
  return (ps ?? [])
    .map((p) => ({ port: num(p.port), protocol: (p.protocol ?? 'TCP').toUpperCase() }))
    .sort((a, b) => (a.port ?? 0) - (b.port ?? 0) || a.protocol.localeCompare(b.protocol));
}

function env(vars: { name: string; value?: string; secureValueFrom?: SecretRef }[] | undefined, masking: boolean) {
  return (vars ?? [])
    .map((e) => ({ name: e.name, value: e.secureValueFrom ? undefined : (e.value ?? ''), secureValueFrom: ref(e.secureValueFrom, masking) }))
    .sort(byKey((e) => e.name));
}

function mounts(ms: { name: string; mountPath: string; readOnly?: boolean }[] | undefined) {
  return (ms ?? [])
    .map((m) => ({ name: m.name, mountPath: m.mountPath, readOnly: m.readOnly ?? false }))
    .sort(byKey((m) => `${m.name}\u0000${m.mountPath}`));
}

function amounts(a: { cpu?: number; memoryInGB?: number; gpu?: { count: number; sku: string } } | undefined) {
  if (!a) return undefined;
  return {
    cpu: num(a.cpu),
    memoryInGB: num(a.memoryInGB),
    gpu: a.gpu ? { count: num(a.gpu.count), sku: String(a.gpu.sku).toUpperCase() } : undefined,
  };
}

function identityType(t: string): string {
  // ARM spells the combination "SystemAssigned, UserAssigned"; accept spacing/case variations.
  const parts = t.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean).sort();
  const names: Record<string, string> = { systemassigned: 'SystemAssigned', userassigned: 'UserAssigned', none: 'None' };
  return parts.map((p) => names[p] ?? p).join(', ');
}

/** The canonical form of a template (see the file comment). Pure; never touches secret values. */
export function canonicalTemplate(t: GroupTemplate, opts: CanonicalOptions = {}): CanonicalTemplate {
  const masking = opts.maskSecretRefs ?? false;
  const identity =
    t.identity && identityType(t.identity.type) !== 'None'
      ? {
          type: identityType(t.identity.type),
          userAssignedIdentities: [...(t.identity.userAssignedIdentities ?? [])].map((s) => s.toLowerCase()).sort(),
        }
      : undefined;
  const c = {
    resourceGroup: t.resourceGroup.toLowerCase(),
    location: normalizeLocation(t.location),
    osType: t.osType ?? 'Linux',
    restartPolicy: t.restartPolicy ?? 'Never',
    priority: t.priority ?? 'Regular',
    sku: t.sku ?? 'Standard',
    zones: [...(t.zones ?? [])].map(String).sort(),
    containers: [...t.containers]
      .map((c) => ({
        name: c.name,
        image: c.image,
        command: c.command ? [...c.command] : undefined,
        environmentVariables: env(c.environmentVariables, masking),
        resources: { requests: amounts(c.resources?.requests), limits: amounts(c.resources?.limits) },
        ports: ports(c.ports),
        volumeMounts: mounts(c.volumeMounts),
      }))
      .sort(byKey((c) => c.name)),
    initContainers: [...(t.initContainers ?? [])]
      .map((c) => ({
        name: c.name,
        image: c.image,
        command: c.command ? [...c.command] : undefined,
        environmentVariables: env(c.environmentVariables, masking),
        volumeMounts: mounts(c.volumeMounts),
      }))
      // Init containers run in order: their order is meaningful and kept.
      ,
    imageRegistryCredentials: [...(t.imageRegistryCredentials ?? [])]
      .map((r) => ({ server: r.server.toLowerCase(), username: r.username, passwordFrom: ref(r.passwordFrom, masking), identity: r.identity?.toLowerCase() }))
      .sort(byKey((r) => r.server)),
    volumes: [...(t.volumes ?? [])]
      .map((v) => ({
        name: v.name,
        azureFile: v.azureFile
          ? {
              shareName: v.azureFile.shareName,
              storageAccountName: v.azureFile.storageAccountName,
              storageAccountKeyFrom: ref(v.azureFile.storageAccountKeyFrom, masking),
              readOnly: v.azureFile.readOnly ?? false,
            }
          : undefined,
        emptyDir: v.emptyDir ? {} : undefined,
        // Masked: the whole map is one slot (ARM echoes neither file names nor contents; both are
        // covered by the secret digest). Kept: file → reference; `{}` is what ARM shows.
        secret: v.secret ? (masking ? MASKED_SECRET : Object.fromEntries(Object.keys(v.secret).sort().map((k) => [k, ref(v.secret![k], masking)]))) : undefined,
        gitRepo: v.gitRepo ? { repository: v.gitRepo.repository, directory: v.gitRepo.directory, revision: v.gitRepo.revision } : undefined,
      }))
      .sort(byKey((v) => v.name)),
    ipAddress: t.ipAddress
      ? { type: t.ipAddress.type, ports: ports(t.ipAddress.ports), dnsNameLabel: t.ipAddress.dnsNameLabel, ip: t.ipAddress.ip }
      : undefined,
    subnetIds: [...(t.subnetIds ?? [])].map((s) => ({ id: s.id.toLowerCase() })).sort(byKey((s) => s.id)),
    dnsConfig: t.dnsConfig
      ? { nameServers: [...t.dnsConfig.nameServers], searchDomains: t.dnsConfig.searchDomains, options: t.dnsConfig.options }
      : undefined,
    diagnostics: t.diagnostics?.logAnalytics
      ? {
          logAnalytics: {
            workspaceId: t.diagnostics.logAnalytics.workspaceId,
            workspaceKeyFrom: ref(t.diagnostics.logAnalytics.workspaceKeyFrom, masking),
            logType: t.diagnostics.logAnalytics.logType,
            workspaceResourceId: t.diagnostics.logAnalytics.workspaceResourceId?.toLowerCase(),
          },
        }
      : undefined,
    identity,
    tags: t.tags && Object.keys(t.tags).length ? { ...t.tags } : undefined,
  };
  // An emptyDir volume is `{}` on purpose; an env var's empty value is a value.
  return prune(c, (p) => /^\/volumes\/\d+\/(emptyDir|secret)$/.test(p) || /environmentVariables\/\d+\/value$/.test(p)) as CanonicalTemplate;
}

/** JSON with object keys sorted at every level: the byte string the spec hash digests. */
export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
