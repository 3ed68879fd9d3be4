/**
 * The container-group resource as the emulator keeps and renders it: request validation, the update
 * rules (what may change in place), secret stripping and the ARM JSON shape.
 */
import { createHash } from 'node:crypto';
import { ArmError, badRequest, GROUP_TYPE, invalidContent } from './errors';

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Json = any;

export type GroupRunState = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Stopped';

export interface ArmEvent {
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  name: string;
  message: string;
  type: 'Normal' | 'Warning';
}

export interface ContainerState {
  state: 'Waiting' | 'Running' | 'Terminated';
  startTime?: string;
  finishTime?: string;
  exitCode?: number;
  detailStatus: string;
}

export interface ContainerView {
  name: string;
  restartCount: number;
  currentState?: ContainerState;
  previousState?: ContainerState;
  events: ArmEvent[];
}

/** One stored container group. `properties` holds what was PUT, secrets included (memory only). */
export interface GroupRecord {
  /** The location as echoed (displayLocation of what was PUT); `location` is the normalised key. */
  locationEcho?: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  identity?: Json;
  zones?: string[];
  properties: Json;
  provisioningState: string;
  state: GroupRunState;
  events: ArmEvent[];
  containers: ContainerView[];
  createdAt: string;
  /** True when the record was reloaded from disk, where secrets are never written. */
  secretsDropped?: boolean;
}

export const NAME_RULE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const MAX_CONTAINERS = 60;
export const MAX_VOLUMES = 20;
export const MAX_GROUP_CPU = 4;
export const MAX_GROUP_MEMORY_GB = 16;

export function isValidName(name: string): boolean {
  return name.length >= 1 && name.length <= 63 && NAME_RULE.test(name) && !name.includes('--');
}

/** "East US" → "eastus", as ARM normalises locations. */
/**
 * ARM's wording for a required property absent from the body (the JSON deserializer's message,
 * wrapped by ARM in InvalidRequestContent).
 */
export function missingProperty(name: string, path: string): ArmError {
  return invalidContent(`The request content was invalid and could not be deserialized: 'Required property '${name}' not found in JSON. Path '${path}'.'.`, `${path}.${name}`);
}

/** ARM's wording for a value that is not one of an enum's members. */
export function badEnumValue(value: unknown, type: string, path: string): ArmError {
  return invalidContent(`The request content was invalid and could not be deserialized: 'Error converting value ${JSON.stringify(value)} to type '${type}'. Path '${path}'.'.`, path);
}

/**
 * The location as ARM echoes it: Microsoft's examples send "west us" and answer "WestUs" (each
 * word capitalised, spaces removed); a name sent without spaces ("eastus") is echoed as sent.
 */
export function displayLocation(loc: string): string {
  const words = loc.trim().split(/\s+/);
  if (words.length === 1) return words[0];
  return words.map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()).join('');
}

export function normalizeLocation(loc: string): string {
  return loc.replace(/\s+/g, '').toLowerCase();
}

export function groupId(sub: string, rg: string, name: string): string {
  return `/subscriptions/${sub}/resourceGroups/${rg}/providers/${GROUP_TYPE}/${name}`;
}

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function groupCpu(properties: Json): number {
  let sum = 0;
  for (const c of properties?.containers ?? []) sum += Number(c?.properties?.resources?.requests?.cpu ?? 0);
  return sum;
}

function groupMemory(properties: Json): number {
  let sum = 0;
  for (const c of properties?.containers ?? []) sum += Number(c?.properties?.resources?.requests?.memoryInGB ?? 0);
  return sum;
}

/**
 * Validates a PUT body and returns the normalised resource (defaults filled in). Throws ArmError with
 * the ARM code of the first problem found.
 */
export function validateGroupPut(name: string, body: Json): { location: string; locationEcho: string; tags: Record<string, string>; identity?: Json; zones?: string[]; properties: Json } {
  if (!isValidName(name)) {
    throw badRequest('ContainerGroupNameInvalid', `The container group name '${name}' is invalid. A container group name must contain no more than 63 characters and must match the regex '[a-z0-9]([-a-z0-9]*[a-z0-9])?' (e.g. 'my-name'), without consecutive hyphens.`);
  }
  if (!isObject(body)) throw invalidContent('The request content was invalid and could not be deserialized.');
  if (typeof body.location !== 'string' || !body.location.trim()) {
    throw badRequest('LocationRequired', 'The location property is required for this definition.');
  }
  const tags: Record<string, string> = {};
  if (body.tags !== undefined && body.tags !== null) {
    if (!isObject(body.tags)) throw invalidContent("The property 'tags' must be an object of strings.", 'tags');
    for (const [k, v] of Object.entries(body.tags)) {
      if (typeof v !== 'string') throw invalidContent(`The tag '${k}' must have a string value.`, 'tags');
      tags[k] = v;
    }
    if (Object.keys(tags).length > 50) throw badRequest('InvalidTagCount', 'A resource can have at most 50 tags.');
  }
  const p = body.properties;
  if (!isObject(p)) throw invalidContent("The property 'properties' is required.", 'properties');
  const osType = p.osType;
  if (osType === undefined || osType === null) throw missingProperty('osType', 'properties');
  if (osType !== 'Linux' && osType !== 'Windows') throw badEnumValue(osType, 'OperatingSystemTypes', 'properties.osType');
  const restartPolicy = p.restartPolicy ?? 'Always';
  if (!['Always', 'OnFailure', 'Never'].includes(restartPolicy)) throw badEnumValue(restartPolicy, 'ContainerGroupRestartPolicy', 'properties.restartPolicy');
  const sku = p.sku ?? 'Standard';
  if (!['Standard', 'Dedicated', 'Confidential'].includes(sku)) throw invalidContent(`The sku '${String(sku)}' is invalid.`, 'properties.sku');
  if (!Array.isArray(p.containers) || p.containers.length === 0) {
    throw invalidContent('A container group must have at least one container.', 'properties.containers');
  }
  if (p.containers.length > MAX_CONTAINERS) {
    throw badRequest('ContainerGroupTooManyContainers', `A container group can have at most ${MAX_CONTAINERS} containers.`);
  }
  const seen = new Set<string>();
  const containers = [...p.containers, ...(Array.isArray(p.initContainers) ? p.initContainers : [])];
  for (const c of containers) {
    if (!isObject(c) || typeof c.name !== 'string') throw invalidContent('Each container needs a name.', 'properties.containers');
    if (!isValidName(c.name)) {
      throw badRequest('InvalidContainerName', `The container name '${c.name}' in container group '${name}' is invalid. A container name must contain no more than 63 characters and must match the regex '[a-z0-9]([-a-z0-9]*[a-z0-9])?' (e.g. 'my-name').`);
    }
    if (seen.has(c.name)) throw badRequest('DuplicateContainerName', `The container name '${c.name}' is used more than once in container group '${name}'.`);
    seen.add(c.name);
    const cp = c.properties;
    if (!isObject(cp) || typeof cp.image !== 'string' || !cp.image) {
      throw invalidContent(`The container '${c.name}' must have an image.`, `properties.containers.${c.name}.image`);
    }
    if (cp.command !== undefined && !(Array.isArray(cp.command) && cp.command.every((s: unknown) => typeof s === 'string'))) {
      throw invalidContent(`The command of container '${c.name}' must be an array of strings.`);
    }
    for (const ev of cp.environmentVariables ?? []) {
      if (!isObject(ev) || typeof ev.name !== 'string' || !ENV_NAME.test(ev.name)) {
        throw badRequest('InvalidContainerEnvironmentVariable', `The environment variable name '${isObject(ev) ? String(ev.name) : ''}' in container '${c.name}' of container group '${name}' is invalid. A valid environment variable name must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_' (e.g. 'my_name', 'MY_NAME', or 'MyName').`);
      }
      if (ev.value !== undefined && ev.secureValue !== undefined) {
        throw badRequest('InvalidContainerEnvironmentVariable', `The environment variable '${ev.name}' in container '${c.name}' must have either a value or a secure value, not both.`);
      }
    }
    const req = cp.resources?.requests;
    const isInit = !p.containers.includes(c);
    if (!isInit) {
      if (!isObject(req) || !(Number(req.cpu) > 0) || !(Number(req.memoryInGB) > 0)) {
        throw invalidContent(`The container '${c.name}' must request cpu and memoryInGB greater than zero.`, `properties.containers.${c.name}.resources`);
      }
    }
  }
  if ((p.volumes ?? []).length > MAX_VOLUMES) throw badRequest('ContainerGroupTooManyVolumes', `A container group can have at most ${MAX_VOLUMES} volumes.`);
  const cpu = groupCpu(p);
  const mem = groupMemory(p);
  if (cpu > MAX_GROUP_CPU || mem > MAX_GROUP_MEMORY_GB) {
    throw badRequest('ResourceRequestsNotSupported', `The requested resource with '${cpu}' CPU and '${mem}' GB memory is not supported in location '${normalizeLocation(body.location)}'.`);
  }
  const properties = { ...p, osType, restartPolicy, sku, initContainers: p.initContainers ?? [] };
  return {
    location: normalizeLocation(body.location),
    locationEcho: displayLocation(body.location),
    tags,
    ...(body.identity !== undefined ? { identity: body.identity } : {}),
    ...(Array.isArray(body.zones) ? { zones: body.zones } : {}),
    properties,
  };
}

function portsKey(ports: Json): string {
  return JSON.stringify(((ports ?? []) as Json[]).map((x) => `${x?.port}/${(x?.protocol ?? 'TCP').toUpperCase()}`).sort());
}

function ipKey(ip: Json): string {
  if (!ip) return 'none';
  return JSON.stringify({ type: ip.type ?? 'Public', ports: portsKey(ip.ports), dns: ip.dnsNameLabel ?? null });
}

/** The fields of a group that cannot change without delete + recreate; `undefined` = the change is allowed. */
export function immutableChange(oldRec: { properties: Json; zones?: string[] }, next: { properties: Json; zones?: string[] }): string | undefined {
  const a = oldRec.properties;
  const b = next.properties;
  if (a.osType !== b.osType) return 'osType';
  if (a.restartPolicy !== b.restartPolicy) return 'restartPolicy';
  if ((a.sku ?? 'Standard') !== (b.sku ?? 'Standard')) return 'sku';
  if ((a.priority ?? 'Regular') !== (b.priority ?? 'Regular')) return 'priority';
  if (JSON.stringify([...(oldRec.zones ?? [])].sort()) !== JSON.stringify([...(next.zones ?? [])].sort())) return 'zones';
  const subnets = (x: Json) => JSON.stringify(((x.subnetIds ?? []) as Json[]).map((s) => String(s?.id ?? '').toLowerCase()).sort());
  if (subnets(a) !== subnets(b)) return 'subnetIds';
  if (ipKey(a.ipAddress) !== ipKey(b.ipAddress)) return 'ipAddress';
  const byName = new Map<string, Json>(((a.containers ?? []) as Json[]).map((c) => [c.name, c]));
  for (const c of b.containers as Json[]) {
    const old = byName.get(c.name);
    if (!old) continue;
    const ro = old.properties?.resources?.requests ?? {};
    const rn = c.properties?.resources?.requests ?? {};
    if (Number(ro.cpu) !== Number(rn.cpu)) return `containers.${c.name}.cpu`;
    if (Number(ro.memoryInGB) !== Number(rn.memoryInGB)) return `containers.${c.name}.memoryInGB`;
    if (JSON.stringify(ro.gpu ?? null) !== JSON.stringify(rn.gpu ?? null)) return `containers.${c.name}.gpu`;
    const lo = old.properties?.resources?.limits ?? {};
    const ln = c.properties?.resources?.limits ?? {};
    if (JSON.stringify(lo) !== JSON.stringify(ln)) return `containers.${c.name}.limits`;
    if (portsKey(old.properties?.ports) !== portsKey(c.properties?.ports)) return `containers.${c.name}.ports`;
  }
  return undefined;
}

export function invalidUpdate(name: string, field: string): ArmError {
  return badRequest(
    'InvalidContainerGroupUpdate',
    `The updates on container group '${name}' are invalid (changed: ${field}). If you are going to update the os type, restart policy, network profile, CPU, memory or GPU resources for a container group, you must delete it first and then create a new one.`,
  );
}

/** A deep copy of the properties with every secret removed (what ARM echoes). */
export function stripSecrets(properties: Json): Json {
  const p = JSON.parse(JSON.stringify(properties ?? {}));
  for (const list of [p.containers, p.initContainers]) {
    for (const c of list ?? []) {
      for (const ev of c?.properties?.environmentVariables ?? []) delete ev.secureValue;
    }
  }
  for (const cred of p.imageRegistryCredentials ?? []) delete cred.password;
  for (const v of p.volumes ?? []) {
    if (v?.azureFile) delete v.azureFile.storageAccountKey;
    if (v?.secret !== undefined) v.secret = {};
  }
  if (p.diagnostics?.logAnalytics) delete p.diagnostics.logAnalytics.workspaceKey;
  if (p.encryptionProperties) delete p.encryptionProperties.keyVersion;
  return p;
}

function fakeGuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export const EMULATOR_TENANT_ID = '72f988bf-0000-4000-a000-00000000e4a1';

function renderIdentity(rec: GroupRecord): Json {
  if (!isObject(rec.identity)) return undefined;
  const id = JSON.parse(JSON.stringify(rec.identity));
  const type = String(id.type ?? '');
  if (type.includes('SystemAssigned')) {
    id.principalId = fakeGuid(`principal:${groupId(rec.subscriptionId, rec.resourceGroup, rec.name)}`);
    id.tenantId = EMULATOR_TENANT_ID;
  }
  if (isObject(id.userAssignedIdentities)) {
    for (const key of Object.keys(id.userAssignedIdentities)) {
      id.userAssignedIdentities[key] = { principalId: fakeGuid(`uai-p:${key}`), clientId: fakeGuid(`uai-c:${key}`) };
    }
  }
  return id;
}

/** The ARM JSON of a group. List responses pass `withInstanceView: false`, as ARM omits it there. */
export function renderGroup(rec: GroupRecord, withInstanceView: boolean): Json {
  const props = stripSecrets(rec.properties);
  const views = new Map(rec.containers.map((c) => [c.name, c]));
  for (const c of props.containers ?? []) {
    c.properties.environmentVariables ??= [];
    c.properties.ports ??= [];
    const v = views.get(c.name);
    if (withInstanceView && v && v.currentState) {
      c.properties.instanceView = {
        restartCount: v.restartCount,
        currentState: v.currentState,
        ...(v.previousState ? { previousState: v.previousState } : {}),
        events: v.events,
      };
    } else {
      delete c.properties.instanceView;
    }
  }
  if (props.ipAddress && (props.ipAddress.type ?? 'Public') === 'Public') {
    const h = createHash('sha256').update(rec.name + rec.resourceGroup).digest();
    props.ipAddress.ip = `20.${h[0]}.${h[1]}.${h[2] || 1}`;
    if (props.ipAddress.dnsNameLabel) props.ipAddress.fqdn = `${props.ipAddress.dnsNameLabel}.${rec.location}.azurecontainer.io`;
  }
  props.provisioningState = rec.provisioningState;
  if (withInstanceView) props.instanceView = { events: rec.events, state: rec.state };
  else delete props.instanceView;
  const identity = renderIdentity(rec);
  return {
    id: groupId(rec.subscriptionId, rec.resourceGroup, rec.name),
    name: rec.name,
    type: GROUP_TYPE,
    location: rec.locationEcho ?? rec.location,
    tags: { ...rec.tags },
    ...(identity ? { identity } : {}),
    ...(rec.zones ? { zones: rec.zones } : {}),
    properties: props,
  };
}

/**
 * A list item: no instance views, or (behaviour.listInstanceViews) each container's instance view
 * and no group-level one, as in the 2023-05-01 List example.
 */
export function renderListItem(rec: GroupRecord, containerViews: boolean): Json {
  const g = renderGroup(rec, containerViews);
  delete g.properties.instanceView;
  return g;
}
