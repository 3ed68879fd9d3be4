/**
 * The emulator's state machine: container groups, their deployments (Pending → Creating →
 * Succeeded/Failed), container runs under the restart policy, long-running operation records,
 * quotas, and optional persistence. It knows nothing of HTTP; handlers in server.ts call it.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../api/clock';
import { ArmError, badRequest, resourceGroupNotFound, resourceNotFound } from './errors';
import {
  ArmEvent,
  ContainerState,
  ContainerView,
  GroupRecord,
  Json,
  groupCpu,
  immutableChange,
  invalidUpdate,
  renderGroup,
  renderListItem,
  stripSecrets,
  validateGroupPut,
} from './model';
import type { RunHandle, Runtime } from './runtime';
import { DEFAULT_BEHAVIOUR, type EmulatorBehaviour } from './behaviour';

export type StartReason = 'create' | 'update' | 'start' | 'restart';

export interface CreationEntry {
  name: string;
  resourceGroup: string;
  time: string;
  tags: Record<string, string>;
}

export interface StartEntry extends CreationEntry {
  reason: StartReason;
}

export interface EngineOptions {
  subscriptionId: string;
  runtime: Runtime;
  clock: Clock;
  lroDelayMs: number;
  /** First delay before a restart-policy restart; doubles per restart up to `maxRestartBackoffMs`. */
  restartBackoffMs: number;
  maxRestartBackoffMs: number;
  quotas: { groupsPerRegion?: number; coresPerRegion?: number };
  /** When set, only these resource groups exist; otherwise every name exists except `missing-*`. */
  resourceGroups?: string[];
  /** Images containing one of these substrings are rejected with InaccessibleImage. */
  inaccessibleImages: string[];
  /** Images containing one of these substrings fail during provisioning (the LRO ends Failed). */
  failingImages: string[];
  stateDir?: string;
  workDir: string;
  logger?: { info(o: object, msg?: string): void; warn(o: object, msg?: string): void };
  /** The switches of behaviour.ts (default: DEFAULT_BEHAVIOUR). */
  behaviour?: EmulatorBehaviour;
}

export interface OperationRecord {
  id: string;
  location: string;
  status: 'Pending' | 'Creating' | 'Deleting' | 'Succeeded' | 'Failed' | 'Canceled';
  startTime: string;
  endTime?: string;
  error?: { code: string; message: string };
}

const TERMINAL_OP = new Set(['Succeeded', 'Failed', 'Canceled']);
const MAX_LOG_BYTES = 4 * 1024 * 1024;
const MAX_OPERATIONS = 20000;

class LogBuffer {
  lines: { t: string; s: string }[] = [];
  private partial: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
  private bytes = 0;

  append(stream: 'stdout' | 'stderr', text: string, time: string): void {
    const parts = (this.partial[stream] + text).split('\n');
    this.partial[stream] = parts.pop() ?? '';
    for (const s of parts) this.push(s, time);
  }

  /** Flush unterminated output (at exit). */
  flush(time: string): void {
    for (const k of ['stdout', 'stderr'] as const) {
      if (this.partial[k]) this.push(this.partial[k], time);
      this.partial[k] = '';
    }
  }

  private push(s: string, t: string): void {
    this.lines.push({ t, s });
    this.bytes += s.length + 1;
    while (this.bytes > MAX_LOG_BYTES && this.lines.length > 1) this.bytes -= this.lines.shift()!.s.length + 1;
  }

  render(tail: number | undefined, timestamps: boolean): string {
    const pending = [this.partial.stdout, this.partial.stderr].filter(Boolean).map((s) => ({ t: '', s }));
    let all = [...this.lines, ...pending];
    if (tail !== undefined && tail >= 0) all = tail === 0 ? [] : all.slice(-tail);
    if (!all.length) return '';
    return all.map((l) => (timestamps && l.t ? `${l.t} ${l.s}` : l.s)).join('\n') + '\n';
  }
}

interface Entry {
  rec: GroupRecord;
  /** Bumped whenever runs are halted, so stale callbacks can tell they are stale. */
  gen: number;
  handles: Map<string, RunHandle>;
  timers: Set<NodeJS.Timeout>;
  restarting: Set<string>;
  logs: Map<string, LogBuffer>;
  activeOp?: OperationRecord;
  /** Epoch ms from which list responses show the group (behaviour.listDelayMs after its creation). */
  listedFrom?: number;
}

function key(rg: string, name: string): string {
  return `${rg.toLowerCase()}/${name}`;
}

export class Engine {
  private readonly groups = new Map<string, Entry>();
  private readonly ops = new Map<string, OperationRecord>();
  readonly creations: CreationEntry[] = [];
  readonly starts: StartEntry[] = [];
  private saveTimer?: NodeJS.Timeout;
  private closed = false;

  readonly behaviour: EmulatorBehaviour;

  constructor(private readonly opts: EngineOptions) {
    this.behaviour = opts.behaviour ?? DEFAULT_BEHAVIOUR;
    if (opts.stateDir) this.load();
  }

  private now(): string {
    return new Date(this.opts.clock.now()).toISOString();
  }

  // ---- resource groups -----------------------------------------------------------------------

  resourceGroupExists(rg: string): boolean {
    if (this.opts.resourceGroups) return this.opts.resourceGroups.some((r) => r.toLowerCase() === rg.toLowerCase());
    return !/^missing-/i.test(rg);
  }

  private requireRg(rg: string): void {
    if (!this.resourceGroupExists(rg)) throw resourceGroupNotFound(rg);
  }

  private entry(rg: string, name: string): Entry {
    this.requireRg(rg);
    const e = this.groups.get(key(rg, name));
    if (!e) throw resourceNotFound(rg, name);
    return e;
  }

  private transitioning(e: Entry): ArmError | undefined {
    if (e.rec.provisioningState === 'Deleting') {
      return new ArmError(409, 'ContainerGroupTransitioning', `The container group '${e.rec.name}' is still transitioning (deleting), please retry later.`);
    }
    return undefined;
  }

  // ---- operations ----------------------------------------------------------------------------

  private newOp(location: string, status: OperationRecord['status'] = 'Pending'): OperationRecord {
    const op: OperationRecord = { id: randomUUID(), location, status, startTime: this.now() };
    this.ops.set(op.id, op);
    if (this.ops.size > MAX_OPERATIONS) {
      for (const [id, o] of this.ops) {
        if (TERMINAL_OP.has(o.status)) this.ops.delete(id);
        if (this.ops.size <= MAX_OPERATIONS / 2) break;
      }
    }
    return op;
  }

  private finishOp(op: OperationRecord | undefined, status: 'Succeeded' | 'Failed' | 'Canceled', error?: { code: string; message: string }): void {
    if (!op || TERMINAL_OP.has(op.status)) return;
    op.status = status;
    op.endTime = this.now();
    if (error) op.error = error;
  }

  operation(id: string): OperationRecord {
    const op = this.ops.get(id);
    if (!op) throw new ArmError(404, 'OperationNotFound', `The operation '${id}' was not found.`);
    return op;
  }

  // ---- API -----------------------------------------------------------------------------------

  /** PUT. Returns 201 on create, 200 on update, and the operation to poll. */
  put(rg: string, name: string, body: Json, ifNoneMatch: boolean): { status: 200 | 201; body: Json; op: OperationRecord } {
    this.requireRg(rg);
    const next = validateGroupPut(name, body);
    const existing = this.groups.get(key(rg, name));
    if (existing && ifNoneMatch) {
      throw new ArmError(412, 'PreconditionFailed', `The container group '${name}' already exists and the request carries 'If-None-Match: *'.`);
    }
    if (existing) {
      const t = this.transitioning(existing);
      if (t) throw t;
      if (existing.rec.location !== next.location) {
        throw badRequest('InvalidContainerGroupUpdate', `The location of container group '${name}' cannot change from '${existing.rec.location}' to '${next.location}'.`);
      }
      const changed = immutableChange(existing.rec, next);
      if (changed) throw invalidUpdate(name, changed);
    }
    for (const c of next.properties.containers as Json[]) {
      const image = String(c.properties.image);
      if (this.opts.inaccessibleImages.some((s) => image.includes(s))) {
        throw badRequest('InaccessibleImage', `The image '${image}' in container group '${name}' is not accessible. Please check the image and registry credential.`);
      }
    }
    this.checkQuota(next.location, next.properties, existing);

    let e = existing;
    const time = this.now();
    if (!e) {
      e = {
        rec: {
          subscriptionId: this.opts.subscriptionId,
          resourceGroup: rg,
          name,
          location: next.location,
          locationEcho: next.locationEcho,
          tags: next.tags,
          identity: next.identity,
          zones: next.zones,
          properties: next.properties,
          provisioningState: 'Pending',
          state: 'Pending',
          events: [],
          containers: [],
          createdAt: time,
        },
        gen: 0,
        handles: new Map(),
        timers: new Set(),
        restarting: new Set(),
        logs: new Map(),
        listedFrom: this.opts.clock.now() + this.behaviour.listDelayMs,
      };
      this.groups.set(key(rg, name), e);
      this.creations.push({ name, resourceGroup: rg, time, tags: { ...next.tags } });
    } else {
      Object.assign(e.rec, { locationEcho: next.locationEcho, tags: next.tags, identity: next.identity, zones: next.zones, properties: next.properties, secretsDropped: false });
    }
    e.rec.containers = (e.rec.properties.containers as Json[]).map((c) => {
      const old = e!.rec.containers.find((v) => v.name === c.name);
      return old ?? { name: c.name, restartCount: 0, events: [] };
    });
    const op = this.deploy(e, existing ? 'update' : 'create');
    this.opts.logger?.info({ group: name, resourceGroup: rg, update: Boolean(existing) }, existing ? 'container group updated' : 'container group created');
    return { status: existing ? 200 : 201, body: renderGroup(e.rec, true), op };
  }

  patchTags(rg: string, name: string, body: Json): Json {
    const e = this.entry(rg, name);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('InvalidRequestContent', 'The request content was invalid and could not be deserialized.');
    if (body.tags !== undefined) {
      const tags: Record<string, string> = {};
      for (const [k, v] of Object.entries(body.tags ?? {})) {
        if (typeof v !== 'string') throw badRequest('InvalidRequestContent', `The tag '${k}' must have a string value.`);
        tags[k] = v;
      }
      e.rec.tags = tags;
    }
    this.save();
    return renderGroup(e.rec, true);
  }

  get(rg: string, name: string): Json {
    return renderGroup(this.entry(rg, name).rec, true);
  }

  /** A page of groups (by resource group, or the whole subscription), ordered by resource group then name. */
  list(rg: string | undefined, after: string | undefined, pageSize: number): { value: Json[]; next?: string } {
    if (rg !== undefined) this.requireRg(rg);
    const now = this.opts.clock.now();
    const all = [...this.groups.entries()]
      .filter(([k, e]) => (rg === undefined || k.startsWith(`${rg.toLowerCase()}/`)) && (e.listedFrom === undefined || e.listedFrom <= now))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const start = after === undefined ? 0 : all.findIndex(([k]) => k > after);
    const page = start < 0 ? [] : all.slice(start, start + pageSize);
    const more = start >= 0 && start + pageSize < all.length;
    return { value: page.map(([, e]) => renderListItem(e.rec, this.behaviour.listInstanceViews)), next: more ? page[page.length - 1][0] : undefined };
  }

  /** DELETE: 202 with an operation, or 204 when the group does not exist. */
  delete(rg: string, name: string): { status: 202 | 204; body?: Json; op?: OperationRecord } {
    this.requireRg(rg);
    const e = this.groups.get(key(rg, name));
    if (!e) return { status: 204 };
    if (e.rec.provisioningState === 'Deleting' && e.activeOp) return { status: 202, body: renderGroup(e.rec, true), op: e.activeOp };
    this.halt(e, 'Killed');
    e.rec.provisioningState = 'Deleting';
    const op = this.newOp(e.rec.location, 'Deleting');
    e.activeOp = op;
    this.schedule(e, this.opts.lroDelayMs, () => {
      this.groups.delete(key(rg, name));
      this.finishOp(op, 'Succeeded');
      this.save();
    }, false);
    this.opts.logger?.info({ group: name, resourceGroup: rg }, 'container group deleting');
    this.save();
    return { status: 202, body: renderGroup(e.rec, true), op };
  }

  /** POST start: redeploys a finished or stopped group; `undefined` when it is already running. */
  start(rg: string, name: string): OperationRecord | undefined {
    const e = this.entry(rg, name);
    const t = this.transitioning(e);
    if (t) throw t;
    if (e.rec.state === 'Running' || e.rec.state === 'Pending') return undefined;
    return this.deploy(e, 'start');
  }

  /** POST stop: synchronous; no effect on a finished group. */
  stop(rg: string, name: string): void {
    const e = this.entry(rg, name);
    const t = this.transitioning(e);
    if (t) throw t;
    if (e.rec.state !== 'Running' && e.rec.state !== 'Pending') return;
    this.halt(e, 'Killed');
    if (e.rec.provisioningState !== 'Succeeded' && e.rec.provisioningState !== 'Failed') e.rec.provisioningState = 'Succeeded';
    e.rec.state = 'Stopped';
    this.groupEvent(e, 'Stopped', 'Container group stopped', 'Normal');
    this.opts.logger?.info({ group: name, resourceGroup: rg }, 'container group stopped');
    this.save();
  }

  restart(rg: string, name: string): OperationRecord {
    const e = this.entry(rg, name);
    const t = this.transitioning(e);
    if (t) throw t;
    return this.deploy(e, 'restart');
  }

  logs(rg: string, name: string, container: string, tail: number | undefined, timestamps: boolean): string {
    const e = this.entry(rg, name);
    if (!e.rec.containers.some((c) => c.name === container)) {
      throw new ArmError(404, 'ContainerNotFound', `The container '${container}' could not be found in container group '${name}'.`);
    }
    return e.logs.get(container)?.render(tail, timestamps) ?? '';
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  private schedule(e: Entry, ms: number, fn: () => void, guarded = true): void {
    const gen = e.gen;
    const t = setTimeout(() => {
      e.timers.delete(t);
      if (this.closed || (guarded && gen !== e.gen)) return;
      fn();
    }, Math.max(0, ms));
    e.timers.add(t);
  }

  /** Kills processes, cancels timers and pending operations; running containers end Terminated. */
  private halt(e: Entry, detail: string): void {
    e.gen++;
    for (const h of e.handles.values()) h.kill();
    e.handles.clear();
    for (const t of e.timers) clearTimeout(t);
    e.timers.clear();
    e.restarting.clear();
    if (e.activeOp && !TERMINAL_OP.has(e.activeOp.status)) this.finishOp(e.activeOp, 'Canceled', { code: 'OperationCanceled', message: 'The operation was superseded by another request.' });
    const time = this.now();
    for (const c of e.rec.containers) {
      const s = c.currentState;
      if (s && (s.state === 'Running' || s.state === 'Waiting')) {
        c.currentState = { state: 'Terminated', startTime: s.startTime ?? time, finishTime: time, exitCode: 137, detailStatus: detail };
        this.containerEvent(c, 'Killing', `Killing container ${c.name}`, 'Normal');
        e.logs.get(c.name)?.flush(time);
      }
    }
  }

  private deploy(e: Entry, reason: StartReason): OperationRecord {
    this.halt(e, 'Killed');
    const rec = e.rec;
    const op = this.newOp(rec.location);
    e.activeOp = op;
    rec.provisioningState = 'Pending';
    rec.state = 'Pending';
    for (const c of rec.containers) {
      if (c.currentState?.state === 'Terminated') c.previousState = c.currentState;
      c.restartCount = 0;
      c.currentState = { state: 'Waiting', detailStatus: '' };
    }
    // A fresh deployment starts with an empty instance view of containers that have not run yet.
    for (const c of rec.containers) if (!c.previousState) delete c.currentState;
    const d = this.opts.lroDelayMs;
    this.schedule(e, d / 2, () => {
      rec.provisioningState = 'Creating';
      op.status = 'Creating';
    });
    this.schedule(e, d, () => {
      const failing = (rec.properties.containers as Json[]).find((c) => this.opts.failingImages.some((s) => String(c.properties.image).includes(s)));
      if (failing) {
        // Shaped like Microsoft's ContainerGroupsGet_Failed example: provisioningState Failed, the
        // group's instance view still Pending with a FailedMount event, each container Waiting
        // after Pulling/Pulled.
        const msg = `Failed to deploy container group '${rec.name}': container '${failing.name}' (image '${failing.properties.image}') could not be started.`;
        const time = this.now();
        rec.provisioningState = 'Failed';
        rec.state = 'Pending';
        for (const c of rec.properties.containers as Json[]) {
          const view = rec.containers.find((v) => v.name === c.name)!;
          this.containerEvent(view, 'Pulling', `pulling image "${c.properties.image}"`, 'Normal');
          this.containerEvent(view, 'Pulled', `Successfully pulled image "${c.properties.image}"`, 'Normal');
          view.currentState = { state: 'Waiting', startTime: time, detailStatus: '' };
        }
        this.groupEvent(e, 'FailedMount', `Output: mount error(2): Permission denied (emulated deployment failure of image '${failing.properties.image}')`, 'Normal');
        this.finishOp(op, 'Failed', { code: 'ContainerGroupDeploymentFailed', message: msg });
        this.save();
        return;
      }
      rec.provisioningState = 'Succeeded';
      rec.state = 'Running';
      this.finishOp(op, 'Succeeded');
      this.starts.push({ name: rec.name, resourceGroup: rec.resourceGroup, time: this.now(), tags: { ...rec.tags }, reason });
      for (const c of rec.properties.containers as Json[]) this.runContainer(e, c, true);
      this.save();
    });
    this.save();
    return op;
  }

  private runContainer(e: Entry, spec: Json, firstRun: boolean): void {
    const view = e.rec.containers.find((c) => c.name === spec.name)!;
    const time = this.now();
    const image = String(spec.properties.image);
    if (firstRun) {
      this.containerEvent(view, 'Pulling', `pulling image "${image}"`, 'Normal');
      this.containerEvent(view, 'Pulled', `Successfully pulled image "${image}"`, 'Normal');
    }
    this.containerEvent(view, 'Created', `Created container ${spec.name}`, 'Normal');
    this.containerEvent(view, 'Started', `Started container ${spec.name}`, 'Normal');
    view.currentState = { state: 'Running', startTime: time, detailStatus: '' };
    const log = new LogBuffer();
    e.logs.set(spec.name, log);
    const env: Record<string, string> = {};
    for (const ev of (spec.properties.environmentVariables ?? []) as Json[]) {
      env[ev.name] = String(ev.secureValue ?? ev.value ?? '');
    }
    const gen = e.gen;
    const handle = this.opts.runtime.start(
      { group: e.rec.name, container: spec.name, image, command: spec.properties.command, env, workDir: this.opts.workDir },
      {
        output: (stream, text) => {
          if (gen === e.gen) log.append(stream, text, this.now());
        },
        exit: (code, detail) => {
          if (gen !== e.gen || this.closed) return;
          log.flush(this.now());
          this.onExit(e, spec, code, detail);
        },
      },
    );
    e.handles.set(spec.name, handle);
  }

  private onExit(e: Entry, spec: Json, exitCode: number, detail: string): void {
    const view = e.rec.containers.find((c) => c.name === spec.name)!;
    e.handles.delete(spec.name);
    const time = this.now();
    view.currentState = { state: 'Terminated', startTime: view.currentState?.startTime ?? time, finishTime: time, exitCode, detailStatus: detail };
    const policy = e.rec.properties.restartPolicy;
    if (policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0)) {
      e.restarting.add(spec.name);
      const delay = Math.min(this.opts.restartBackoffMs * 2 ** view.restartCount, this.opts.maxRestartBackoffMs);
      this.schedule(e, delay, () => {
        e.restarting.delete(spec.name);
        view.previousState = view.currentState;
        view.restartCount++;
        this.runContainer(e, spec, false);
        this.save();
      });
      this.save();
      return;
    }
    const done = e.rec.containers.every((c) => c.currentState?.state === 'Terminated') && e.restarting.size === 0;
    if (done) {
      const ok = e.rec.containers.every((c) => c.currentState?.exitCode === 0);
      e.rec.state = ok ? 'Succeeded' : 'Failed';
    }
    this.save();
  }

  private groupEvent(e: Entry, name: string, message: string, type: ArmEvent['type']): void {
    const t = this.now();
    e.rec.events.push({ count: 1, firstTimestamp: t, lastTimestamp: t, name, message, type });
    if (e.rec.events.length > 50) e.rec.events.splice(0, e.rec.events.length - 50);
  }

  private containerEvent(c: ContainerView, name: string, message: string, type: ArmEvent['type']): void {
    const t = this.now();
    const last = c.events[c.events.length - 1];
    if (last && last.name === name && last.message === message) {
      last.count++;
      last.lastTimestamp = t;
      return;
    }
    c.events.push({ count: 1, firstTimestamp: t, lastTimestamp: t, name, message, type });
    if (c.events.length > 50) c.events.splice(0, c.events.length - 50);
  }

  private checkQuota(location: string, properties: Json, existing: Entry | undefined): void {
    const { groupsPerRegion, coresPerRegion } = this.opts.quotas;
    const inRegion = [...this.groups.values()].filter((g) => g.rec.location === location && g !== existing);
    if (!existing && groupsPerRegion !== undefined && inRegion.length + 1 > groupsPerRegion) {
      throw badRequest('ContainerGroupQuotaReached', `Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota 'StandardContainerGroups' exceeded in region '${location}'. Limit: '${groupsPerRegion}', Usage: '${inRegion.length}' Requested: '1'.`);
    }
    if (coresPerRegion !== undefined) {
      const used = inRegion.filter((g) => g.rec.state === 'Pending' || g.rec.state === 'Running').reduce((s, g) => s + groupCpu(g.rec.properties), 0);
      const requested = groupCpu(properties);
      if (used + requested > coresPerRegion) {
        throw badRequest('ContainerGroupQuotaReached', `Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota 'StandardCores' exceeded in region '${location}'. Limit: '${coresPerRegion}', Usage: '${used}' Requested: '${requested}'.`);
      }
    }
  }

  // ---- persistence ---------------------------------------------------------------------------

  private stateFile(): string {
    return join(this.opts.stateDir!, 'emulator-groups.json');
  }

  /** Debounced write of the groups (secrets stripped) to the state dir. */
  private save(): void {
    if (!this.opts.stateDir || this.closed || this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.flush();
    }, 50);
  }

  flush(): void {
    if (!this.opts.stateDir) return;
    const groups = [...this.groups.values()].map((e) => ({ ...e.rec, properties: stripSecrets(e.rec.properties), secretsDropped: true }));
    const data = JSON.stringify({ version: 1, groups, creations: this.creations, starts: this.starts });
    mkdirSync(this.opts.stateDir, { recursive: true });
    const tmp = `${this.stateFile()}.${process.pid}.tmp`;
    writeFileSync(tmp, data, { mode: 0o600 });
    renameSync(tmp, this.stateFile());
  }

  /**
   * Reload after a restart. Processes do not survive the emulator, so a group whose containers were
   * running is marked Failed, its containers Terminated (exit code 137, detailStatus explaining why);
   * a deployment in flight ends Failed; a deletion in flight completes.
   */
  private load(): void {
    let raw: string;
    try {
      raw = readFileSync(this.stateFile(), 'utf8');
    } catch {
      return;
    }
    const data = JSON.parse(raw) as { groups: GroupRecord[]; creations?: CreationEntry[]; starts?: StartEntry[] };
    this.creations.push(...(data.creations ?? []));
    this.starts.push(...(data.starts ?? []));
    const time = this.now();
    for (const rec of data.groups ?? []) {
      if (rec.provisioningState === 'Deleting') continue;
      if (rec.provisioningState === 'Pending' || rec.provisioningState === 'Creating') {
        rec.provisioningState = 'Failed';
        rec.state = 'Failed';
      }
      let lost = false;
      for (const c of rec.containers) {
        const s: ContainerState | undefined = c.currentState;
        if (s && (s.state === 'Running' || s.state === 'Waiting')) {
          lost = true;
          c.currentState = { state: 'Terminated', startTime: s.startTime ?? time, finishTime: time, exitCode: 137, detailStatus: 'Killed: the emulator restarted and the container process was lost' };
        }
      }
      if (lost || rec.state === 'Running' || rec.state === 'Pending') {
        rec.state = 'Failed';
        rec.events.push({ count: 1, firstTimestamp: time, lastTimestamp: time, name: 'EmulatorRestarted', message: 'The emulator restarted; running containers were lost.', type: 'Warning' });
      }
      this.groups.set(key(rec.resourceGroup, rec.name), { rec, gen: 0, handles: new Map(), timers: new Set(), restarting: new Set(), logs: new Map() });
    }
    this.opts.logger?.info({ groups: this.groups.size }, 'emulator state reloaded');
  }

  /** Stops every run and timer; writes the state one last time. */
  close(): void {
    if (this.closed) return;
    for (const e of this.groups.values()) {
      e.gen++;
      for (const h of e.handles.values()) h.kill();
      e.handles.clear();
      for (const t of e.timers) clearTimeout(t);
      e.timers.clear();
    }
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    this.flush();
    this.closed = true;
  }

  groupCount(): number {
    return this.groups.size;
  }
}
