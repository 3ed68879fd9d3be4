/**
 * Mapping between a desired group (manifest template + ownership tags + run environment) and the
 * ARM ContainerGroup body of `@azure/arm-containerinstance`, and back.
 *
 * - Secret references are resolved here, at call time, into `secureValue`, registry `password`,
 *   `storageAccountKey`, secret-volume contents (base64, as ARM wants them) and the Log Analytics
 *   `workspaceKey`. The body returned by `toArmGroup` therefore holds secrets: send it, never log or
 *   keep it.
 * - The run environment (`ACICTL_*`) is added to every container AND every init container: init
 *   containers typically stage the inputs of the run's data interval, so they need to know it.
 *   A template variable with the same name as a run variable is replaced by the run variable
 *   (validation rejects such names; this is the belt to that brace).
 * - `templateFromArm` reads a group back into the observable part of a template. ARM never echoes
 *   secrets, so every secret slot it shows comes back as `OBSERVED_SECRET` (a placeholder
 *   reference); classification treats it as equal to any reference, and the spec hash masks all
 *   references anyway (secret sources and values are covered by the secret digest, see hash.ts).
 */
import type {
  Container as ArmContainer,
  ContainerGroup as ArmGroup,
  EnvironmentVariable as ArmEnv,
  Event as ArmEvent,
  InitContainerDefinition as ArmInit,
  Volume as ArmVolume,
} from '@azure/arm-containerinstance';
import type { GroupState, ObservedContainer, ObservedGroup } from '../api/observed';
import type { Container, EnvironmentVariable, GpuResource, GroupTemplate, InitContainer, Volume } from '../api/types';
import { isObservedSecret, normalizeLocation, OBSERVED_SECRET } from './canonical';
import type { SecretResolver } from './secrets';
import type { DesiredGroup } from './types';

export { OBSERVED_SECRET, isObservedSecret };

function mapEnv(vars: EnvironmentVariable[] | undefined, runEnv: Record<string, string>, secrets: SecretResolver): ArmEnv[] | undefined {
  const out: ArmEnv[] = [];
  for (const e of vars ?? []) {
    if (e.name in runEnv) continue;
    if (e.secureValueFrom) out.push({ name: e.name, secureValue: secrets.resolve(e.secureValueFrom) });
    else out.push({ name: e.name, value: e.value ?? '' });
  }
  for (const name of Object.keys(runEnv).sort()) out.push({ name, value: runEnv[name] });
  return out.length ? out : undefined;
}

function mapContainer(c: Container, runEnv: Record<string, string>, secrets: SecretResolver): ArmContainer {
  const { requests, limits } = c.resources;
  const out: ArmContainer = {
    name: c.name,
    image: c.image,
    resources: {
      requests: { cpu: requests.cpu, memoryInGB: requests.memoryInGB, ...(requests.gpu ? { gpu: { count: requests.gpu.count, sku: requests.gpu.sku } } : {}) },
    },
  };
  if (limits && Object.keys(limits).length) {
    out.resources.limits = {};
    if (limits.cpu !== undefined) out.resources.limits.cpu = limits.cpu;
    if (limits.memoryInGB !== undefined) out.resources.limits.memoryInGB = limits.memoryInGB;
    if (limits.gpu) out.resources.limits.gpu = { count: limits.gpu.count, sku: limits.gpu.sku };
  }
  if (c.command) out.command = [...c.command];
  const env = mapEnv(c.environmentVariables, runEnv, secrets);
  if (env) out.environmentVariables = env;
  if (c.ports?.length) out.ports = c.ports.map((p) => ({ port: p.port, protocol: p.protocol ?? 'TCP' }));
  if (c.volumeMounts?.length) out.volumeMounts = c.volumeMounts.map((m) => ({ name: m.name, mountPath: m.mountPath, readOnly: m.readOnly ?? false }));
  return out;
}

function mapInit(c: InitContainer, runEnv: Record<string, string>, secrets: SecretResolver): ArmInit {
  const out: ArmInit = { name: c.name, image: c.image };
  if (c.command) out.command = [...c.command];
  const env = mapEnv(c.environmentVariables, runEnv, secrets);
  if (env) out.environmentVariables = env;
  if (c.volumeMounts?.length) out.volumeMounts = c.volumeMounts.map((m) => ({ name: m.name, mountPath: m.mountPath, readOnly: m.readOnly ?? false }));
  return out;
}

function mapVolume(v: Volume, secrets: SecretResolver): ArmVolume {
  const out: ArmVolume = { name: v.name };
  if (v.azureFile) {
    out.azureFile = { shareName: v.azureFile.shareName, storageAccountName: v.azureFile.storageAccountName, readOnly: v.azureFile.readOnly ?? false };
    if (v.azureFile.storageAccountKeyFrom) out.azureFile.storageAccountKey = secrets.resolve(v.azureFile.storageAccountKeyFrom);
  }
  if (v.emptyDir) out.emptyDir = {};
  if (v.secret) {
    out.secret = {};
    for (const file of Object.keys(v.secret).sort()) out.secret[file] = Buffer.from(secrets.resolve(v.secret[file]), 'utf8').toString('base64');
  }
  if (v.gitRepo) {
    out.gitRepo = { repository: v.gitRepo.repository };
    if (v.gitRepo.directory !== undefined) out.gitRepo.directory = v.gitRepo.directory;
    if (v.gitRepo.revision !== undefined) out.gitRepo.revision = v.gitRepo.revision;
  }
  return out;
}

/**
 * The ARM body for a PUT of `desired`: every template field, ownership tags merged over
 * template tags, run environment in every (init) container, secrets resolved.
 * Throws AciError('SecretMissing') (from the resolver) when a reference cannot be resolved.
 */
export function toArmGroup(desired: DesiredGroup, secrets: SecretResolver): ArmGroup {
  const t = desired.template;
  const body: ArmGroup = {
    location: normalizeLocation(desired.location || t.location),
    tags: { ...(t.tags ?? {}), ...desired.tags },
    osType: t.osType ?? 'Linux',
    restartPolicy: t.restartPolicy ?? 'Never',
    containers: t.containers.map((c) => mapContainer(c, desired.runEnv, secrets)),
  };
  if (t.priority) body.priority = t.priority;
  if (t.sku) body.sku = t.sku;
  if (t.zones?.length) body.zones = [...t.zones];
  if (t.initContainers?.length) body.initContainers = t.initContainers.map((c) => mapInit(c, desired.runEnv, secrets));
  if (t.imageRegistryCredentials?.length) {
    body.imageRegistryCredentials = t.imageRegistryCredentials.map((r) => {
      const cred: NonNullable<ArmGroup['imageRegistryCredentials']>[number] = { server: r.server };
      if (r.username !== undefined) cred.username = r.username;
      if (r.passwordFrom) cred.password = secrets.resolve(r.passwordFrom);
      if (r.identity !== undefined) cred.identity = r.identity;
      return cred;
    });
  }
  if (t.volumes?.length) body.volumes = t.volumes.map((v) => mapVolume(v, secrets));
  if (t.ipAddress) {
    body.ipAddress = { type: t.ipAddress.type, ports: t.ipAddress.ports.map((p) => ({ port: p.port, protocol: p.protocol ?? 'TCP' })) };
    if (t.ipAddress.dnsNameLabel !== undefined) body.ipAddress.dnsNameLabel = t.ipAddress.dnsNameLabel;
    if (t.ipAddress.ip !== undefined) body.ipAddress.ip = t.ipAddress.ip;
  }
  if (t.subnetIds?.length) body.subnetIds = t.subnetIds.map((s) => (s.name !== undefined ? { id: s.id, name: s.name } : { id: s.id }));
  if (t.dnsConfig) {
    body.dnsConfig = { nameServers: [...t.dnsConfig.nameServers] };
    if (t.dnsConfig.searchDomains !== undefined) body.dnsConfig.searchDomains = t.dnsConfig.searchDomains;
    if (t.dnsConfig.options !== undefined) body.dnsConfig.options = t.dnsConfig.options;
  }
  if (t.diagnostics?.logAnalytics) {
    const la = t.diagnostics.logAnalytics;
    body.diagnostics = { logAnalytics: { workspaceId: la.workspaceId, workspaceKey: secrets.resolve(la.workspaceKeyFrom) } };
    if (la.logType !== undefined) body.diagnostics.logAnalytics!.logType = la.logType;
    if (la.workspaceResourceId !== undefined) body.diagnostics.logAnalytics!.workspaceResourceId = la.workspaceResourceId;
  }
  if (t.identity) {
    body.identity = { type: t.identity.type };
    if (t.identity.userAssignedIdentities?.length) {
      body.identity.userAssignedIdentities = Object.fromEntries(t.identity.userAssignedIdentities.map((id) => [id, {}]));
    }
  }
  return body;
}

/** subscription, resource group and name from an ARM id `/subscriptions/S/resourceGroups/R/providers/…/containerGroups/N`. */
export function parseGroupId(id: string): { subscriptionId: string; resourceGroup: string; name: string } {
  const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerInstance\/containerGroups\/([^/]+)$/i.exec(id);
  if (!m) throw new Error(`not a container group id: ${id}`);
  return { subscriptionId: m[1], resourceGroup: m[2], name: m[3] };
}

type GpuSku = GpuResource['sku'];

const GROUP_STATES: GroupState[] = ['Pending', 'Running', 'Succeeded', 'Failed', 'Stopped'];
const CONTAINER_STATES: ObservedContainer['state'][] = ['Waiting', 'Running', 'Terminated'];

function iso(d: Date | string | undefined): string | undefined {
  if (d === undefined || d === null) return undefined;
  const date = d instanceof Date ? d : new Date(d);
  return Number.isNaN(date.getTime()) ? String(d) : date.toISOString();
}

function events(evs: readonly ArmEvent[] | undefined): ObservedGroup['events'] {
  return (evs ?? []).map((e) => {
    const o: NonNullable<ObservedGroup['events']>[number] = {};
    if (e.type !== undefined) o.type = e.type;
    if (e.name !== undefined) o.name = e.name;
    if (e.message !== undefined) o.message = e.message;
    const ts = iso(e.lastTimestamp as Date | string | undefined);
    if (ts !== undefined) o.lastTimestamp = ts;
    return o;
  });
}

function stateOf<T extends string>(s: string | undefined, known: T[], fallback: T): T {
  const hit = known.find((k) => k.toLowerCase() === (s ?? '').toLowerCase());
  return hit ?? fallback;
}

/**
 * The observed state of a group. `state`, `containers` and `events` are set only when the body has
 * an instance view (GET), never from list items.
 */
export function fromArmGroup(g: ArmGroup): ObservedGroup {
  const ref = parseGroupId(g.id ?? '');
  const o: ObservedGroup = {
    ...ref,
    name: g.name ?? ref.name,
    location: normalizeLocation(g.location ?? ''),
    tags: { ...(g.tags ?? {}) },
    provisioningState: g.provisioningState ?? 'Unknown',
  };
  if (g.instanceView) {
    o.state = g.instanceView.state ? stateOf<GroupState>(g.instanceView.state, GROUP_STATES, 'Unknown') : 'Unknown';
    o.containers = g.containers.map(containerOf);
    o.events = events(g.instanceView.events);
  }
  return o;
}

function containerOf(c: ArmGroup['containers'][number]): ObservedContainer {
  const iv = c.instanceView;
  const cur = iv?.currentState;
  const oc: ObservedContainer = {
    name: c.name,
    state: cur?.state ? stateOf<ObservedContainer['state']>(cur.state, CONTAINER_STATES, 'Unknown') : iv ? 'Waiting' : 'Unknown',
    restartCount: iv?.restartCount ?? 0,
  };
  if (cur?.exitCode !== undefined && cur.exitCode !== null) oc.exitCode = cur.exitCode;
  const st = iso(cur?.startTime as Date | string | undefined);
  if (st) oc.startTime = st;
  const ft = iso(cur?.finishTime as Date | string | undefined);
  if (ft) oc.finishTime = ft;
  if (cur?.detailStatus !== undefined) oc.detailStatus = cur.detailStatus;
  return oc;
}

/**
 * A list item. When every container carries its instance view (as in the 2023-05-01 List
 * example), the containers are mapped and the group state is derived from them — conservatively:
 * `Running` while any container is not terminated or one that failed may be restarted
 * (OnFailure/Always), otherwise `Succeeded`/`Failed` by exit codes — and `viewFrom` is 'list'.
 * Otherwise the item is what `fromArmGroup` makes of it (no state, no containers).
 */
export function fromArmListItem(g: ArmGroup): ObservedGroup {
  const o = fromArmGroup(g);
  if (g.instanceView || !g.containers?.length || !g.containers.every((c) => c.instanceView?.currentState?.state)) return o;
  o.containers = g.containers.map(containerOf);
  const cs = o.containers;
  const policy = g.restartPolicy ?? 'Always';
  const allDone = cs.every((c) => c.state === 'Terminated');
  const allZero = cs.every((c) => c.exitCode === 0);
  if (g.provisioningState === 'Pending' || g.provisioningState === 'Creating' || cs.some((c) => c.state === 'Waiting' || c.state === 'Unknown')) o.state = 'Pending';
  else if (!allDone || policy === 'Always' || (policy === 'OnFailure' && !allZero)) o.state = 'Running';
  else o.state = allZero ? 'Succeeded' : 'Failed';
  o.viewFrom = 'list';
  return o;
}

function envBack(vars: ArmEnv[] | undefined, dropNames: Set<string>): EnvironmentVariable[] | undefined {
  const out = (vars ?? [])
    .filter((e) => !dropNames.has(e.name))
    .map((e): EnvironmentVariable => (e.value !== undefined && e.value !== null ? { name: e.name, value: e.value } : { name: e.name, secureValueFrom: OBSERVED_SECRET }));
  return out.length ? out : undefined;
}

/**
 * The observable part of a template from an ARM group (a GET or list item): everything except
 * secret values (shown as OBSERVED_SECRET) and without our run environment (`runEnvNames`,
 * default: every variable named ACICTL_*) and ownership tags (`acictl.dev/*`).
 */
export function templateFromArm(g: ArmGroup, opts: { runEnvNames?: string[] } = {}): GroupTemplate {
  const ref = parseGroupId(g.id ?? '');
  const drop = new Set(opts.runEnvNames ?? []);
  const isRun = (n: string) => drop.has(n) || (!opts.runEnvNames && n.startsWith('ACICTL_'));
  const allEnvNames = new Set<string>();
  for (const c of [...g.containers, ...(g.initContainers ?? [])]) for (const e of c.environmentVariables ?? []) if (isRun(e.name)) allEnvNames.add(e.name);
  const t: GroupTemplate = {
    subscriptionId: ref.subscriptionId,
    resourceGroup: ref.resourceGroup,
    location: normalizeLocation(g.location ?? ''),
    osType: g.osType as GroupTemplate['osType'],
    containers: g.containers.map((c) => {
      const out: Container = {
        name: c.name,
        image: c.image,
        resources: { requests: { cpu: Number(c.resources.requests.cpu), memoryInGB: Number(c.resources.requests.memoryInGB) } },
      };
      if (c.resources.requests.gpu) out.resources.requests.gpu = { count: Number(c.resources.requests.gpu.count), sku: c.resources.requests.gpu.sku as GpuSku };
      const l = c.resources.limits;
      if (l && (l.cpu !== undefined || l.memoryInGB !== undefined || l.gpu)) {
        out.resources.limits = {};
        if (l.cpu !== undefined && l.cpu !== null) out.resources.limits.cpu = Number(l.cpu);
        if (l.memoryInGB !== undefined && l.memoryInGB !== null) out.resources.limits.memoryInGB = Number(l.memoryInGB);
        if (l.gpu) out.resources.limits.gpu = { count: Number(l.gpu.count), sku: l.gpu.sku as GpuSku };
      }
      if (c.command?.length) out.command = [...c.command];
      const env = envBack(c.environmentVariables, allEnvNames);
      if (env) out.environmentVariables = env;
      if (c.ports?.length) out.ports = c.ports.map((p) => ({ port: p.port, protocol: (p.protocol ?? 'TCP') as 'TCP' | 'UDP' }));
      if (c.volumeMounts?.length) out.volumeMounts = c.volumeMounts.map((m) => ({ name: m.name, mountPath: m.mountPath, readOnly: m.readOnly ?? false }));
      return out;
    }),
  };
  if (g.restartPolicy) t.restartPolicy = g.restartPolicy as GroupTemplate['restartPolicy'];
  if (g.priority) t.priority = g.priority as GroupTemplate['priority'];
  if (g.sku) t.sku = g.sku as GroupTemplate['sku'];
  if (g.zones?.length) t.zones = [...g.zones];
  if (g.initContainers?.length) {
    t.initContainers = g.initContainers.map((c) => {
      const out: InitContainer = { name: c.name, image: c.image ?? '' };
      if (c.command?.length) out.command = [...c.command];
      const env = envBack(c.environmentVariables, allEnvNames);
      if (env) out.environmentVariables = env;
      if (c.volumeMounts?.length) out.volumeMounts = c.volumeMounts.map((m) => ({ name: m.name, mountPath: m.mountPath, readOnly: m.readOnly ?? false }));
      return out;
    });
  }
  if (g.imageRegistryCredentials?.length) {
    t.imageRegistryCredentials = g.imageRegistryCredentials.map((r) => {
      const out: NonNullable<GroupTemplate['imageRegistryCredentials']>[number] = { server: r.server };
      if (r.username !== undefined && r.username !== null) out.username = r.username;
      // ARM never returns the password: a credential with a username and no identity had one.
      if (r.password !== undefined || (r.username && !r.identity)) out.passwordFrom = OBSERVED_SECRET;
      if (r.identity) out.identity = r.identity;
      return out;
    });
  }
  if (g.volumes?.length) {
    t.volumes = g.volumes.map((v) => {
      const out: Volume = { name: v.name };
      if (v.azureFile) {
        out.azureFile = { shareName: v.azureFile.shareName, storageAccountName: v.azureFile.storageAccountName, readOnly: v.azureFile.readOnly ?? false };
        // The key is never echoed; an Azure Files mount cannot work without one.
        out.azureFile.storageAccountKeyFrom = OBSERVED_SECRET;
      }
      if (v.emptyDir) out.emptyDir = {};
      if (v.secret) out.secret = Object.fromEntries(Object.keys(v.secret).sort().map((k) => [k, OBSERVED_SECRET]));
      if (v.gitRepo) {
        out.gitRepo = { repository: v.gitRepo.repository };
        if (v.gitRepo.directory !== undefined) out.gitRepo.directory = v.gitRepo.directory;
        if (v.gitRepo.revision !== undefined) out.gitRepo.revision = v.gitRepo.revision;
      }
      return out;
    });
  }
  if (g.ipAddress) {
    t.ipAddress = { type: g.ipAddress.type as 'Public' | 'Private', ports: (g.ipAddress.ports ?? []).map((p) => ({ port: p.port, protocol: (p.protocol ?? 'TCP') as 'TCP' | 'UDP' })) };
    if (g.ipAddress.dnsNameLabel) t.ipAddress.dnsNameLabel = g.ipAddress.dnsNameLabel;
    // A public IP is assigned by the server; only a requested (private) address is part of the spec.
    if (g.ipAddress.ip && g.ipAddress.type === 'Private') t.ipAddress.ip = g.ipAddress.ip;
  }
  if (g.subnetIds?.length) t.subnetIds = g.subnetIds.map((s) => (s.name ? { id: s.id, name: s.name } : { id: s.id }));
  if (g.dnsConfig) {
    t.dnsConfig = { nameServers: [...(g.dnsConfig.nameServers ?? [])] };
    if (g.dnsConfig.searchDomains) t.dnsConfig.searchDomains = g.dnsConfig.searchDomains;
    if (g.dnsConfig.options) t.dnsConfig.options = g.dnsConfig.options;
  }
  if (g.diagnostics?.logAnalytics) {
    const la = g.diagnostics.logAnalytics;
    t.diagnostics = { logAnalytics: { workspaceId: la.workspaceId, workspaceKeyFrom: OBSERVED_SECRET } };
    if (la.logType) t.diagnostics.logAnalytics.logType = la.logType as 'ContainerInsights' | 'ContainerInstanceLogs';
    if (la.workspaceResourceId) t.diagnostics.logAnalytics.workspaceResourceId = la.workspaceResourceId;
  }
  if (g.identity?.type && g.identity.type !== 'None') {
    t.identity = { type: g.identity.type };
    const ids = Object.keys(g.identity.userAssignedIdentities ?? {});
    if (ids.length) t.identity.userAssignedIdentities = ids;
  }
  const tags = Object.fromEntries(Object.entries(g.tags ?? {}).filter(([k]) => !k.startsWith('acictl.dev/')));
  if (Object.keys(tags).length) t.tags = tags;
  return t;
}

/** Members of the SDK's flattened ContainerGroup that stay at the top level of the ARM JSON. */
const WIRE_TOP = new Set(['id', 'name', 'type', 'location', 'tags', 'zones', 'identity']);

type Json = Record<string, unknown>;

function nest(c: { name: string } & Json): Json {
  const { name, ...rest } = c;
  return { name, properties: rest };
}

function unnest(c: Json): Json {
  const props = (c.properties ?? {}) as Json;
  return { ...props, name: c.name };
}

/**
 * The ARM wire JSON of an SDK ContainerGroup (the SDK's models flatten `properties.*` of the group,
 * its containers and init containers). The adapter sends PUTs as single raw requests (see
 * adapter.ts) and so serialises itself; these two functions are that serialiser's whole job.
 */
export function toWire(g: ArmGroup): Json {
  const out: Json = {};
  const props: Json = {};
  for (const [k, v] of Object.entries(g)) {
    if (v === undefined) continue;
    if (WIRE_TOP.has(k)) out[k] = v;
    else props[k] = v;
  }
  props.containers = g.containers.map((c) => nest(c as unknown as { name: string } & Json));
  if (g.initContainers) props.initContainers = g.initContainers.map((c) => nest(c as unknown as { name: string } & Json));
  out.properties = props;
  return out;
}

/** An SDK-shaped ContainerGroup from ARM wire JSON (dates stay ISO strings; fromArmGroup accepts both). */
export function fromWire(json: unknown): ArmGroup {
  const j = (json ?? {}) as Json;
  const { properties, ...top } = j;
  const p = { ...((properties ?? {}) as Json) };
  p.containers = ((p.containers ?? []) as Json[]).map(unnest);
  if (p.initContainers) p.initContainers = (p.initContainers as Json[]).map(unnest);
  return { ...top, ...p } as unknown as ArmGroup;
}
