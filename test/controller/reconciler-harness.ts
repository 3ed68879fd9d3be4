/** A reconciler wired to in-memory fakes and a hand-moved clock, plus a workqueue stand-in. */
import type { ContainerJobSpec, ResolvedJob } from '../../src/api/types';
import type { Clock } from '../../src/api/clock';
import type { ContainerGroups } from '../../src/aci/types';
import { MemoryContainerGroups } from '../../src/aci/memory';
import { specHash } from '../../src/aci/hash';
import { MemoryStore } from '../../src/store/memory';
import { ObservedCache } from '../../src/controller/observed-cache';
import { CLEANUP_FINALIZER, Reconciler, type LogLineFields, type ReconcileResult } from '../../src/controller/reconciler';
import type { Action } from '../../src/plan';
import type { StoredEvent } from '../../src/store/types';
import type { NotifyHooks } from '../../src/notify/outbox';

export const SUB = '00000000-0000-0000-0000-0000000000aa';
export const INSTANCE = 'ctl-test';
export const T0 = Date.UTC(2026, 0, 10, 0, 0, 30);

export class FakeClock implements Clock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
}

export function spec(over: Partial<ContainerJobSpec> = {}): ContainerJobSpec {
  return {
    schedule: '0 * * * *',
    template: {
      resourceGroup: 'rg1',
      location: 'eastus',
      containers: [{ name: 'main', image: 'busybox:1', command: ['/bin/sh', '-c', 'echo hi'], resources: { requests: { cpu: 1, memoryInGB: 1 } } }],
    },
    ...over,
  };
}

export class Harness {
  readonly clock = new FakeClock(T0);
  readonly store = new MemoryStore({ now: () => this.clock.now() });
  readonly groups = new MemoryContainerGroups({ instanceId: INSTANCE, clock: this.clock });
  observed = new ObservedCache();
  readonly lines: { f: LogLineFields; line: string }[] = [];
  readonly events: StoredEvent[] = [];
  /** Jobs the reconciler asked to have queued (downstream jobs of a finished run). */
  readonly woken: string[] = [];
  reconciler!: Reconciler;
  /** Lets a test put a layer between the reconciler and the fake ACI. */
  wrapGroups: ((inner: ContainerGroups) => ContainerGroups) | null = null;
  /** spec.notify hooks (src/notify/), passed to the reconciler at (re)start. */
  notify: NotifyHooks | undefined;
  /** Set to make the next matching action throw (a crash of the controller). */
  crashBefore: ((a: Action) => boolean) | null = null;

  constructor() {
    this.restart();
  }

  /** A fresh reconciler and cache, as after a controller restart (the cache is refilled by a listing). */
  restart(): void {
    this.observed = new ObservedCache();
    this.reconciler = new Reconciler({
      store: this.store,
      groups: this.wrapGroups ? this.wrapGroups(this.groups) : this.groups,
      observed: this.observed,
      clock: this.clock,
      instanceId: INSTANCE,
      defaultSubscriptionId: SUB,
      specHashOf: (j: ResolvedJob) => specHash(j.template),
      logger: { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} },
      onLogLine: (f, line) => this.lines.push({ f, line }),
      onEvent: (e) => this.events.push(e),
      wake: (n) => this.woken.push(n),
      ...(this.notify ? { notify: this.notify } : {}),
      beforeAction: (a) => {
        if (this.crashBefore?.(a)) {
          this.crashBefore = null;
          throw new Error(`crash before ${a.type}`);
        }
      },
    });
  }

  async resync(resourceGroups = ['rg1']): Promise<void> {
    for (const rg of resourceGroups) {
      const scope = { subscriptionId: SUB, resourceGroup: rg };
      this.observed.replaceScope(scope, await this.groups.listOwned(scope));
    }
  }

  async putJob(name: string, s: ContainerJobSpec = spec()): Promise<void> {
    const prev = await this.store.getJob(name);
    await this.store.putJob({
      name,
      labels: {},
      annotations: {},
      finalizers: [CLEANUP_FINALIZER],
      spec: s,
      source: { kind: 'api' },
      status: prev?.status ?? {},
      ...(prev ? { uid: prev.uid, creationTimestamp: prev.creationTimestamp } : {}),
    });
  }

  async deleteJob(name: string): Promise<void> {
    const j = (await this.store.getJob(name))!;
    const { uid, creationTimestamp, labels, annotations, finalizers, spec: s, source, status } = j;
    await this.store.putJob({ name, uid, creationTimestamp, labels, annotations, finalizers, spec: s, source, status, deletionTimestamp: new Date(this.clock.t).toISOString() });
  }

  reconcile(name: string): Promise<ReconcileResult> {
    return this.reconciler.reconcile(name);
  }

  /** Workqueue stand-in: reconcile at every requested wake-up until `ms` have passed. */
  async runFor(name: string, ms: number): Promise<ReconcileResult> {
    const end = this.clock.t + ms;
    for (let i = 0; i < 10_000; i++) {
      const r = await this.reconcile(name);
      const next = r.requeueAfterMs === null ? Infinity : this.clock.t + r.requeueAfterMs;
      if (next > end) {
        this.clock.t = end;
        return this.reconcile(name);
      }
      this.clock.t = Math.max(next, this.clock.t);
    }
    throw new Error('runFor: no progress');
  }

  writes(): number {
    return this.groups.calls.filter((c) => c.op === 'createOrUpdate' || c.op === 'start' || c.op === 'stop' || c.op === 'delete').length;
  }

  creations(): string[] {
    return this.groups.calls.filter((c) => c.op === 'createOrUpdate').map((c) => c.name);
  }
}
