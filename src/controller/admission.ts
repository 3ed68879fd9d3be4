/**
 * Admission of a job from a given source (issue 19): what the operator allows a manifest author to
 * name and use. Two parts, each a list of problems {pointer (JSON pointer into the manifest),
 * message (the rule broken, never a secret value)}:
 * - secret references must name allowed sources (src/aci/secret-access.ts);
 * - the job must fit its source's policy (`--policy FILE`): resource groups, locations, image
 *   registries, subnet ids, user-assigned identities, CPU / memory / GPU per job, public IPs.
 * A directory job with problems is an error diagnostic at the line of the offending field (the
 * file is then invalid, its last good jobs kept); an API request with problems is a 422.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ContainerJob, SecretRef } from '../api/types';
import { normalizeLocation } from '../api/defaults';
import type { SecretAccess } from '../aci/secret-access';

export interface AdmissionProblem {
  pointer: string;
  message: string;
}

/** The API's source name in a policy file; directories are named by their path. */
export const API_SOURCE = 'api';

/** Every secret reference of a manifest with its JSON pointer. */
export function secretRefPointers(job: ContainerJob): { pointer: string; ref: SecretRef }[] {
  const out: { pointer: string; ref: SecretRef }[] = [];
  (job.spec?.notify ?? []).forEach((n, i) => {
    if (n.webhook?.secretFrom) out.push({ pointer: `/spec/notify/${i}/webhook/secretFrom`, ref: n.webhook.secretFrom });
    if (n.email?.passwordFrom) out.push({ pointer: `/spec/notify/${i}/email/passwordFrom`, ref: n.email.passwordFrom });
  });
  const t = job.spec?.template;
  if (!t) return out;
  const base = '/spec/template';
  for (const kind of ['initContainers', 'containers'] as const) {
    (t[kind] ?? []).forEach((c, i) =>
      (c.environmentVariables ?? []).forEach((e, j) => {
        if (e.secureValueFrom) out.push({ pointer: `${base}/${kind}/${i}/environmentVariables/${j}/secureValueFrom`, ref: e.secureValueFrom });
      }),
    );
  }
  (t.imageRegistryCredentials ?? []).forEach((r, i) => {
    if (r.passwordFrom) out.push({ pointer: `${base}/imageRegistryCredentials/${i}/passwordFrom`, ref: r.passwordFrom });
  });
  (t.volumes ?? []).forEach((v, i) => {
    if (v.azureFile?.storageAccountKeyFrom) out.push({ pointer: `${base}/volumes/${i}/azureFile/storageAccountKeyFrom`, ref: v.azureFile.storageAccountKeyFrom });
    for (const f of Object.keys(v.secret ?? {})) out.push({ pointer: `${base}/volumes/${i}/secret/${f.replace(/~/g, '~0').replace(/\//g, '~1')}`, ref: v.secret![f] });
  });
  const la = t.diagnostics?.logAnalytics;
  if (la?.workspaceKeyFrom) out.push({ pointer: `${base}/diagnostics/logAnalytics/workspaceKeyFrom`, ref: la.workspaceKeyFrom });
  return out;
}

export function checkSecretRefs(job: ContainerJob, access: SecretAccess): AdmissionProblem[] {
  const out: AdmissionProblem[] = [];
  for (const { pointer, ref } of secretRefPointers(job)) {
    const rule = access.checkWithPath(ref);
    if (rule) out.push({ pointer, message: `secret reference refused: ${rule}` });
  }
  return out;
}

// ---- source policy ------------------------------------------------------------------------------

export interface SourcePolicy {
  /** Allowed resource groups (case-insensitive); absent: any. */
  resourceGroups?: string[];
  /** Allowed locations ("East US" = eastus); absent: any. */
  locations?: string[];
  /** Allowed image registries (host[:port]; `docker.io` for images without one); absent: any. */
  registries?: string[];
  /** Allowed subnet resource ids (case-insensitive); absent: any. */
  subnetIds?: string[];
  /** Allowed user-assigned identity resource ids (case-insensitive); absent: any. */
  identities?: string[];
  /** Per job (sum over its containers). */
  maxCpu?: number;
  maxMemoryInGB?: number;
  maxGpu?: number;
  /** false: `ipAddress.type: Public` is refused. Default true. */
  publicIp?: boolean;
}

export interface PolicyFile {
  /** Per source: `api`, `git:URL` (a --git source, URL as given), or a --manifests directory (relative paths: to the policy file's directory). */
  sources?: ({ source: string } & SourcePolicy)[];
  /** For every source not listed. */
  default?: SourcePolicy;
}

const POLICY_KEYS = new Set(['resourceGroups', 'locations', 'registries', 'subnetIds', 'identities', 'maxCpu', 'maxMemoryInGB', 'maxGpu', 'publicIp']);

/** A loaded policy file: the policy of a source by its name (`api`) or directory. */
export class SourcePolicies {
  private readonly byDir: { dir: string; policy: SourcePolicy }[] = [];
  private api: SourcePolicy | null = null;
  /** `git:URL` entries, bound to their checkout roots once the Git sources exist. */
  private readonly byGit = new Map<string, SourcePolicy>();
  private readonly fallback: SourcePolicy | null;

  constructor(file: PolicyFile, baseDir: string) {
    for (const s of file.sources ?? []) {
      const { source, ...policy } = s;
      if (source === API_SOURCE) this.api = policy;
      else if (source.startsWith('git:')) this.byGit.set(source.slice(4), policy);
      else this.byDir.push({ dir: path.resolve(baseDir, source), policy });
    }
    this.fallback = file.default ?? null;
  }

  /** Reads and checks a policy file (YAML or JSON). Throws an Error naming the problem. */
  static load(file: string): SourcePolicies {
    const doc = parseYaml(fs.readFileSync(file, 'utf8')) as unknown;
    const where = `policy file ${file}`;
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${where}: expected a mapping with "sources" and/or "default"`);
    const d = doc as Record<string, unknown>;
    for (const k of Object.keys(d)) if (k !== 'sources' && k !== 'default') throw new Error(`${where}: unknown field "${k}"`);
    const check = (p: unknown, at: string): void => {
      if (!p || typeof p !== 'object' || Array.isArray(p)) throw new Error(`${where}: ${at} must be a mapping`);
      for (const [k, v] of Object.entries(p)) {
        if (k === 'source' && at.startsWith('sources')) continue;
        if (!POLICY_KEYS.has(k)) throw new Error(`${where}: ${at}: unknown field "${k}"`);
        if (k.startsWith('max') && (typeof v !== 'number' || v < 0)) throw new Error(`${where}: ${at}.${k} must be a number ≥ 0`);
        if (k === 'publicIp' && typeof v !== 'boolean') throw new Error(`${where}: ${at}.publicIp must be true or false`);
        if (!k.startsWith('max') && k !== 'publicIp' && (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))) throw new Error(`${where}: ${at}.${k} must be a list of strings`);
      }
    };
    if (d.sources !== undefined) {
      if (!Array.isArray(d.sources)) throw new Error(`${where}: sources must be a list`);
      d.sources.forEach((s, i) => {
        check(s, `sources[${i}]`);
        if (typeof (s as { source?: unknown }).source !== 'string') throw new Error(`${where}: sources[${i}].source must name "api" or a manifests directory`);
      });
    }
    if (d.default !== undefined) check(d.default, 'default');
    return new SourcePolicies(d as PolicyFile, path.dirname(path.resolve(file)));
  }

  /** A `--git` source's checkout root: its files get the policy written as `source: git:URL`. */
  bindGitRoot(url: string, root: string): void {
    const p = this.byGit.get(url);
    if (p) this.byDir.push({ dir: path.resolve(root), policy: p });
  }

  /** The policy of the API, or of the --manifests directory holding `file`; null: unrestricted. */
  policyOf(source: { api: true } | { file: string }): { name: string; policy: SourcePolicy } | null {
    if ('api' in source) return this.api ? { name: API_SOURCE, policy: this.api } : this.fallback ? { name: 'default', policy: this.fallback } : null;
    const f = path.resolve(source.file);
    const hit = this.byDir.filter((d) => f.startsWith(d.dir + path.sep)).sort((a, b) => b.dir.length - a.dir.length)[0];
    if (hit) return { name: hit.dir, policy: hit.policy };
    return this.fallback ? { name: 'default', policy: this.fallback } : null;
  }
}

/** The registry host of an image reference (Docker's rule: a first segment with '.' or ':' or `localhost`). */
export function registryOf(image: string): string {
  const slash = image.indexOf('/');
  if (slash < 0) return 'docker.io';
  const first = image.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first.toLowerCase() : 'docker.io';
}

const lower = (xs: string[]): Set<string> => new Set(xs.map((x) => x.toLowerCase()));

export function checkPolicy(job: ContainerJob, named: { name: string; policy: SourcePolicy }): AdmissionProblem[] {
  const { name, policy } = named;
  const t = job.spec?.template;
  if (!t) return [];
  const out: AdmissionProblem[] = [];
  const base = '/spec/template';
  const rule = (pointer: string, what: string) => out.push({ pointer, message: `policy of source ${name}: ${what}` });
  if (policy.resourceGroups && !lower(policy.resourceGroups).has(String(t.resourceGroup).toLowerCase())) {
    rule(`${base}/resourceGroup`, `resource group ${t.resourceGroup} is not allowed (allowed: ${policy.resourceGroups.join(', ') || 'none'})`);
  }
  if (policy.locations && !new Set(policy.locations.map((l) => normalizeLocation(l))).has(normalizeLocation(String(t.location)))) {
    rule(`${base}/location`, `location ${t.location} is not allowed (allowed: ${policy.locations.join(', ') || 'none'})`);
  }
  if (policy.registries) {
    const ok = lower(policy.registries);
    for (const kind of ['initContainers', 'containers'] as const) {
      (t[kind] ?? []).forEach((c, i) => {
        const r = registryOf(c.image);
        if (!ok.has(r)) rule(`${base}/${kind}/${i}/image`, `image registry ${r} is not allowed (allowed: ${policy.registries!.join(', ') || 'none'})`);
      });
    }
    (t.imageRegistryCredentials ?? []).forEach((r, i) => {
      if (!ok.has(r.server.toLowerCase())) rule(`${base}/imageRegistryCredentials/${i}/server`, `image registry ${r.server} is not allowed (allowed: ${policy.registries!.join(', ') || 'none'})`);
    });
  }
  if (policy.subnetIds) {
    const ok = lower(policy.subnetIds);
    (t.subnetIds ?? []).forEach((s, i) => {
      if (!ok.has(s.id.toLowerCase())) rule(`${base}/subnetIds/${i}/id`, `subnet ${s.id} is not allowed`);
    });
  }
  if (policy.identities) {
    const ok = lower(policy.identities);
    (t.identity?.userAssignedIdentities ?? []).forEach((id, i) => {
      if (!ok.has(id.toLowerCase())) rule(`${base}/identity/userAssignedIdentities/${i}`, `user-assigned identity ${id} is not allowed`);
    });
    (t.imageRegistryCredentials ?? []).forEach((r, i) => {
      if (r.identity && !ok.has(r.identity.toLowerCase())) rule(`${base}/imageRegistryCredentials/${i}/identity`, `user-assigned identity ${r.identity} is not allowed`);
    });
  }
  const sum = (f: (c: ContainerJob['spec']['template']['containers'][number]) => number) => (t.containers ?? []).reduce((a, c) => a + f(c), 0);
  const cpu = sum((c) => Number(c.resources?.requests?.cpu ?? 0));
  const mem = sum((c) => Number(c.resources?.requests?.memoryInGB ?? 0));
  const gpu = sum((c) => Number(c.resources?.requests?.gpu?.count ?? 0));
  if (policy.maxCpu !== undefined && cpu > policy.maxCpu) rule(`${base}/containers`, `${cpu} CPU requested, more than the ${policy.maxCpu} allowed per job`);
  if (policy.maxMemoryInGB !== undefined && mem > policy.maxMemoryInGB) rule(`${base}/containers`, `${mem} GB of memory requested, more than the ${policy.maxMemoryInGB} GB allowed per job`);
  if (policy.maxGpu !== undefined && gpu > policy.maxGpu) rule(`${base}/containers`, `${gpu} GPU requested, more than the ${policy.maxGpu} allowed per job`);
  if (policy.publicIp === false && t.ipAddress?.type === 'Public') rule(`${base}/ipAddress/type`, 'a public IP address is not allowed');
  return out;
}

/** Both checks for a job from a source. */
export interface Admission {
  check(job: ContainerJob, source: { api: true } | { file: string }): AdmissionProblem[];
}

export function admission(access: SecretAccess, policies: SourcePolicies | null): Admission & { policies: SourcePolicies | null } {
  return {
    policies,
    check(job, source) {
      const out = checkSecretRefs(job, access);
      const p = policies?.policyOf(source);
      if (p) out.push(...checkPolicy(job, p));
      return out;
    },
  };
}
