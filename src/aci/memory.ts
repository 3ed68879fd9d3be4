/**
 * MemoryContainerGroups: an in-memory ContainerGroups with the semantics of ACI / the emulator,
 * plus test controls. For fast reconciler tests.
 *
 * Semantics kept from ACI:
 * - Ownership: `listOwned` returns only groups whose `acictl.dev/managed-by` tag equals this
 *   instance id; `stop`, `delete`, `start` and an update through `createOrUpdate` refuse a group
 *   without it (AciError 'Forbidden'). `delete` of an absent group succeeds.
 * - `createOrUpdate` with `ifNoneMatch` on an existing group → 'Conflict' (code PreconditionFailed).
 *   An update that would change an immutable field (classify.ts: recreate) → 'Invalid' with code
 *   InvalidContainerGroupUpdate — classify.ts is a little stricter than ACI (volumes, dnsConfig and
 *   the set of containers count as immutable), which is the side the reconciler plans on anyway.
 *   A PUT on an existing group restarts its containers (as ACI does).
 * - Secret references are resolved at call time through the SecretResolver (a missing one →
 *   'SecretMissing'); values are dropped at once and never stored.
 * - List results carry no instance view (`state`/`containers` undefined); `get` carries it.
 *
 * Lifecycle: by default a group is 'Running' as soon as `createOrUpdate` returns
 * (provisioningState 'Succeeded'). With `startPending: true` it is returned 'Pending'
 * (provisioningState 'Creating') and becomes 'Running' at the next `get`. Containers stay Running
 * until the test calls `finish` / `setState`. `stop` marks a running group 'Stopped' (no effect on a
 * finished group); `start` runs it again (containers Running, logs cleared).
 */
import type { Clock } from '../api/clock';
import { systemClock } from '../api/clock';
import type { GroupRef, GroupState, ObservedContainer, ObservedGroup } from '../api/observed';
import { TAG_MANAGED_BY } from '../api/names';
import type { GroupTemplate } from '../api/types';
import { classifyChange } from './classify';
import { normalizeLocation } from './canonical';
import { mapSecretResolver, prefetchSecrets, resolveAll, type SecretResolver, type SecretSource } from './secrets';
import { AciError, type CallOptions, type ContainerGroups, type DesiredGroup, type Scope } from './types';

export type MemoryOp = 'listOwned' | 'get' | 'createOrUpdate' | 'start' | 'stop' | 'delete' | 'logs';

export interface MemoryCall {
  op: MemoryOp;
  /** The group name (for listOwned: the resource group). */
  name: string;
  ref?: GroupRef;
  ifNoneMatch?: boolean;
}

interface StoredGroup {
  ref: GroupRef;
  location: string;
  tags: Record<string, string>;
  /** Undefined for seeded unmanaged groups. Holds secret references only, never values. */
  template?: GroupTemplate;
  runEnv: Record<string, string>;
  provisioningState: string;
  state: GroupState;
  containers: ObservedContainer[];
  events: NonNullable<ObservedGroup['events']>;
  logs: Map<string, string>;
  pendingUntilGet: boolean;
  /** How many times a PUT created or updated it. */
  puts: number;
}

interface Injection {
  op: MemoryOp | '*';
  error: Error;
  remaining: number;
  name?: string;
  afterEffect: boolean;
}

export interface InjectOptions {
  /** Only calls on this group name (for listOwned: resource group). */
  name?: string;
  /** Perform the operation, then throw (a lost response: the write happened, the caller saw an error). */
  afterEffect?: boolean;
}

export interface MemoryContainerGroupsOptions {
  instanceId: string;
  clock?: Clock;
  /** Resolves secret references; default: every reference is missing. */
  secrets?: SecretSource | SecretResolver;
  /** Groups start 'Pending' and turn 'Running' at the next get. */
  startPending?: boolean;
}

function key(ref: GroupRef): string {
  return `${ref.subscriptionId}/${ref.resourceGroup.toLowerCase()}/${ref.name}`;
}

function notFound(ref: GroupRef): AciError {
  return new AciError(
    'NotFound',
    `container group '${ref.name}' under resource group '${ref.resourceGroup}' was not found`,
    'ResourceNotFound',
    undefined,
    404,
  );
}

function throwIfAborted(opts?: CallOptions): void {
  if (opts?.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
}

export class MemoryContainerGroups implements ContainerGroups {
  readonly instanceId: string;
  /** Every call, in order, including failed ones. */
  readonly calls: MemoryCall[] = [];
  private readonly clock: Clock;
  private readonly secrets: SecretSource | SecretResolver;
  private readonly startPending: boolean;
  private readonly groups = new Map<string, StoredGroup>();
  private injections: Injection[] = [];

  constructor(opts: MemoryContainerGroupsOptions) {
    this.instanceId = opts.instanceId;
    this.clock = opts.clock ?? systemClock;
    this.secrets = opts.secrets ?? mapSecretResolver({});
    this.startPending = opts.startPending ?? false;
  }

  // ---- ContainerGroups -------------------------------------------------------------------

  async listOwned(scope: Scope, opts?: CallOptions): Promise<ObservedGroup[]> {
    return this.op('listOwned', scope.resourceGroup, undefined, opts, () =>
      [...this.groups.values()]
        .filter(
          (g) =>
            g.ref.subscriptionId === scope.subscriptionId &&
            g.ref.resourceGroup.toLowerCase() === scope.resourceGroup.toLowerCase() &&
            g.tags[TAG_MANAGED_BY] === this.instanceId,
        )
        .sort((a, b) => a.ref.name.localeCompare(b.ref.name))
        .map((g) => this.observe(g, false)),
    );
  }

  async get(ref: GroupRef, opts?: CallOptions): Promise<ObservedGroup> {
    return this.op('get', ref.name, ref, opts, () => {
      const g = this.groups.get(key(ref));
      if (!g) throw notFound(ref);
      if (g.pendingUntilGet) {
        g.pendingUntilGet = false;
        this.run(g);
      }
      return this.observe(g, true);
    });
  }

  async createOrUpdate(desired: DesiredGroup, opts?: CallOptions & { ifNoneMatch?: boolean }): Promise<ObservedGroup> {
    const ref = desired.ref;
    const values = 'read' in this.secrets ? await prefetchSecrets(desired.template, this.secrets) : this.secrets;
    return this.op('createOrUpdate', ref.name, ref, opts, () => {
      // Resolved first (as the real adapter does, before any request) to prove every reference
      // resolves; the values are dropped here.
      resolveAll(desired.template, values);
      const existing = this.groups.get(key(ref));
      if (existing && opts?.ifNoneMatch) {
        throw new AciError('Conflict', `container group '${ref.name}' already exists`, 'PreconditionFailed', undefined, 412);
      }
      if (existing && existing.tags[TAG_MANAGED_BY] !== this.instanceId) {
        throw new AciError('Forbidden', `container group '${ref.name}' is not managed by this controller; refusing to update it`, 'NotOwned');
      }
      if (existing?.template) {
        const change = classifyChange(existing.template, desired.template);
        if (change.kind === 'recreate') {
          throw new AciError(
            'Invalid',
            `container group '${ref.name}' cannot be updated in place (${change.fields.join(', ')}); delete it first and then create a new one`,
            'InvalidContainerGroupUpdate',
            undefined,
            400,
          );
        }
      }
      const g: StoredGroup = {
        ref: { ...ref },
        location: normalizeLocation(desired.location),
        tags: { ...(desired.template.tags ?? {}), ...desired.tags },
        template: structuredClone(desired.template),
        runEnv: { ...desired.runEnv },
        provisioningState: 'Succeeded',
        state: 'Running',
        containers: [],
        events: [],
        logs: new Map(),
        pendingUntilGet: false,
        puts: (existing?.puts ?? 0) + 1,
      };
      this.groups.set(key(ref), g);
      if (this.startPending) {
        g.provisioningState = 'Creating';
        g.state = 'Pending';
        g.pendingUntilGet = true;
        g.containers = desired.template.containers.map((c) => ({ name: c.name, state: 'Waiting', restartCount: 0 }));
        return this.observe(g, true);
      }
      this.run(g);
      return this.observe(g, true);
    });
  }

  async start(ref: GroupRef, opts?: CallOptions): Promise<void> {
    return this.op('start', ref.name, ref, opts, () => {
      const g = this.owned(ref, 'start');
      if (g.state === 'Running' || g.state === 'Pending') return;
      this.run(g);
    });
  }

  async stop(ref: GroupRef, opts?: CallOptions): Promise<void> {
    return this.op('stop', ref.name, ref, opts, () => {
      const g = this.owned(ref, 'stop');
      if (g.state !== 'Running' && g.state !== 'Pending') return;
      const now = new Date(this.clock.now()).toISOString();
      g.state = 'Stopped';
      g.pendingUntilGet = false;
      g.containers = g.containers.map((c) =>
        c.state === 'Terminated' ? c : { ...c, state: 'Terminated', exitCode: c.exitCode ?? 137, finishTime: now, detailStatus: 'Stopped' },
      );
    });
  }

  async delete(ref: GroupRef, opts?: CallOptions): Promise<void> {
    return this.op('delete', ref.name, ref, opts, () => {
      if (!this.groups.has(key(ref))) return;
      this.owned(ref, 'delete');
      this.groups.delete(key(ref));
    });
  }

  async logs(ref: GroupRef, container: string, opts?: CallOptions & { tail?: number }): Promise<string> {
    return this.op('logs', ref.name, ref, opts, () => {
      const g = this.groups.get(key(ref));
      if (!g) throw notFound(ref);
      if (!g.containers.some((c) => c.name === container)) {
        throw new AciError('NotFound', `container '${container}' not found in container group '${ref.name}'`, 'ContainerNotFound', undefined, 404);
      }
      const text = g.logs.get(container) ?? '';
      if (opts?.tail === undefined) return text;
      const lines = text.split('\n');
      const trailing = text.endsWith('\n');
      const body = trailing ? lines.slice(0, -1) : lines;
      const out = opts.tail <= 0 ? [] : body.slice(-opts.tail);
      return out.join('\n') + (trailing && out.length ? '\n' : '');
    });
  }

  // ---- test controls ---------------------------------------------------------------------

  /**
   * Terminate containers of a group (all, or the named one) with an exit code. When every
   * container has terminated the group becomes 'Succeeded' (all zero) or 'Failed'.
   */
  finish(name: string | GroupRef, exitCode: number, container?: string): void {
    const g = this.find(name);
    const now = new Date(this.clock.now()).toISOString();
    g.pendingUntilGet = false;
    g.provisioningState = 'Succeeded';
    g.containers = g.containers.map((c) =>
      container === undefined || c.name === container
        ? { ...c, state: 'Terminated', exitCode, finishTime: now, detailStatus: 'Completed' }
        : c,
    );
    if (g.containers.every((c) => c.state === 'Terminated')) {
      g.state = g.containers.every((c) => c.exitCode === 0) ? 'Succeeded' : 'Failed';
    }
  }

  /** Set a group's state directly (and optionally patch containers by name, provisioningState, events). */
  setState(
    name: string | GroupRef,
    state: GroupState,
    patch: { containers?: (Partial<ObservedContainer> & { name: string })[]; provisioningState?: string; events?: ObservedGroup['events'] } = {},
  ): void {
    const g = this.find(name);
    g.state = state;
    g.pendingUntilGet = false;
    if (patch.provisioningState !== undefined) g.provisioningState = patch.provisioningState;
    if (patch.events) g.events = [...patch.events];
    for (const p of patch.containers ?? []) {
      const i = g.containers.findIndex((c) => c.name === p.name);
      if (i >= 0) g.containers[i] = { ...g.containers[i], ...p };
      else g.containers.push({ state: 'Unknown', restartCount: 0, ...p });
    }
  }

  /** Put a group that is not ours (no managed-by tag unless the test gives another one). */
  seedUnmanaged(group: GroupRef & { tags?: Record<string, string>; location?: string; state?: GroupState; containers?: string[] }): void {
    const containers = group.containers ?? ['main'];
    this.groups.set(key(group), {
      ref: { subscriptionId: group.subscriptionId, resourceGroup: group.resourceGroup, name: group.name },
      location: normalizeLocation(group.location ?? 'eastus'),
      tags: { ...(group.tags ?? {}) },
      runEnv: {},
      provisioningState: 'Succeeded',
      state: group.state ?? 'Running',
      containers: containers.map((name) => ({ name, state: 'Running', restartCount: 0 })),
      events: [],
      logs: new Map(),
      pendingUntilGet: false,
      puts: 0,
    });
  }

  /**
   * The next `times` calls of `op` (or any op: '*') throw `error`. With `afterEffect` the
   * operation happens first (a write whose response was lost).
   */
  injectError(op: MemoryOp | '*', error: Error, times = 1, opts: InjectOptions = {}): void {
    this.injections.push({ op, error, remaining: times, name: opts.name, afterEffect: opts.afterEffect ?? false });
  }

  /** Drop all pending injected errors. */
  clearErrors(): void {
    this.injections = [];
  }

  setLogs(name: string | GroupRef, container: string, text: string): void {
    this.find(name).logs.set(container, text);
  }

  appendLog(name: string | GroupRef, container: string, text: string): void {
    const g = this.find(name);
    g.logs.set(container, (g.logs.get(container) ?? '') + text);
  }

  /** Remove a group behind the controller's back (someone deleted it in the portal). */
  removeExternally(name: string | GroupRef): void {
    this.groups.delete(key(this.find(name).ref));
  }

  /** Whether a group exists (any owner). */
  has(name: string | GroupRef): boolean {
    return this.tryFind(name) !== undefined;
  }

  /** The stored template (secret references only) and run env of a group, for assertions. */
  inspect(name: string | GroupRef): { template?: GroupTemplate; runEnv: Record<string, string>; tags: Record<string, string>; puts: number } {
    const g = this.find(name);
    return { template: g.template && structuredClone(g.template), runEnv: { ...g.runEnv }, tags: { ...g.tags }, puts: g.puts };
  }

  /** All groups (any owner), with instance view. */
  all(): ObservedGroup[] {
    return [...this.groups.values()].map((g) => this.observe(g, true));
  }

  /** Count of recorded calls of one op. */
  count(op: MemoryOp): number {
    return this.calls.filter((c) => c.op === op).length;
  }

  // ---- internals -------------------------------------------------------------------------

  private async op<T>(op: MemoryOp, name: string, ref: GroupRef | undefined, opts: (CallOptions & { ifNoneMatch?: boolean }) | undefined, fn: () => T): Promise<T> {
    const call: MemoryCall = { op, name };
    if (ref) call.ref = { ...ref };
    if (opts?.ifNoneMatch) call.ifNoneMatch = true;
    this.calls.push(call);
    await Promise.resolve();
    throwIfAborted(opts);
    const inj = this.injections.find((i) => (i.op === '*' || i.op === op) && (i.name === undefined || i.name === name));
    if (inj) {
      inj.remaining -= 1;
      if (inj.remaining <= 0) this.injections = this.injections.filter((i) => i !== inj);
      if (inj.afterEffect) fn();
      throw inj.error;
    }
    return fn();
  }

  private run(g: StoredGroup): void {
    const now = new Date(this.clock.now()).toISOString();
    g.provisioningState = 'Succeeded';
    g.state = 'Running';
    g.logs = new Map();
    const names = g.template ? g.template.containers.map((c) => c.name) : g.containers.map((c) => c.name);
    g.containers = names.map((name) => ({ name, state: 'Running', startTime: now, restartCount: 0 }));
  }

  private owned(ref: GroupRef, verb: string): StoredGroup {
    const g = this.groups.get(key(ref));
    if (!g) throw notFound(ref);
    if (g.tags[TAG_MANAGED_BY] !== this.instanceId) {
      throw new AciError('Forbidden', `container group '${ref.name}' is not managed by this controller; refusing to ${verb} it`, 'NotOwned');
    }
    return g;
  }

  private tryFind(name: string | GroupRef): StoredGroup | undefined {
    if (typeof name !== 'string') return this.groups.get(key(name));
    const matches = [...this.groups.values()].filter((g) => g.ref.name === name);
    if (matches.length > 1) throw new Error(`several groups are named '${name}'; pass a GroupRef`);
    return matches[0];
  }

  private find(name: string | GroupRef): StoredGroup {
    const g = this.tryFind(name);
    if (!g) throw new Error(`no group '${typeof name === 'string' ? name : name.name}' in memory`);
    return g;
  }

  private observe(g: StoredGroup, withInstanceView: boolean): ObservedGroup {
    const o: ObservedGroup = {
      ...g.ref,
      location: g.location,
      tags: { ...g.tags },
      provisioningState: g.provisioningState,
    };
    if (withInstanceView) {
      o.state = g.state;
      o.containers = g.containers.map((c) => ({ ...c }));
      o.events = g.events.map((e) => ({ ...e }));
    }
    return o;
  }
}
