/**
 * The controller's picture of its container groups: filled per scope (subscription + resource
 * group) by periodic `listOwned` resyncs, corrected in between by the reconciler's own writes and
 * GETs, and indexed by the `acictl.dev/job` tag so a reconcile reads one job's groups cheaply.
 *
 * Groups are copied and deep-frozen when they enter the cache and handed out as they are: a
 * reader cannot change the cache (a write to a frozen object throws), and reads copy nothing.
 */
import type { GroupRef, ObservedGroup } from '../api/observed';
import { TAG_JOB } from '../api/names';
import type { Scope } from '../aci/types';

function scopeKey(s: Scope): string {
  return `${s.subscriptionId}/${s.resourceGroup.toLowerCase()}`;
}

function refKey(r: GroupRef): string {
  return `${scopeKey(r)}/${r.name}`;
}

export class ObservedCache {
  private readonly byRef = new Map<string, ObservedGroup>();
  private readonly byJob = new Map<string, Set<string>>();
  private readonly synced = new Set<string>();

  /** Replace everything known in a scope with a fresh listing (list entries carry no instance view). */
  replaceScope(scope: Scope, groups: ObservedGroup[]): void {
    const prefix = `${scopeKey(scope)}/`;
    for (const k of [...this.byRef.keys()]) if (k.startsWith(prefix)) this.drop(k);
    for (const g of groups) this.upsert(g);
    this.synced.add(scopeKey(scope));
  }

  /** Whether a scope was listed at least once (absence from it is then meaningful). */
  isSynced(scope: Scope): boolean {
    return this.synced.has(scopeKey(scope));
  }

  /** Insert or replace one group (a PUT response or a GET with instance view). */
  upsert(group: ObservedGroup): void {
    const k = refKey(group);
    this.drop(k);
    const copy = deepFreeze(structuredClone(group));
    this.byRef.set(k, copy);
    const job = group.tags[TAG_JOB];
    if (job !== undefined) {
      let set = this.byJob.get(job);
      if (!set) this.byJob.set(job, (set = new Set()));
      set.add(k);
    }
  }

  remove(ref: GroupRef): void {
    this.drop(refKey(ref));
  }

  get(ref: GroupRef): Readonly<ObservedGroup> | undefined {
    return this.byRef.get(refKey(ref));
  }

  /** The groups tagged with this job, sorted by name. */
  groupsOfJob(job: string): Readonly<ObservedGroup>[] {
    const keys = this.byJob.get(job);
    if (!keys) return [];
    return [...keys]
      .map((k) => this.byRef.get(k)!)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.resourceGroup.localeCompare(b.resourceGroup)));
  }

  /** Every job name that has at least one group (for orphan detection). */
  jobNames(): string[] {
    return [...this.byJob.keys()].sort();
  }

  size(): number {
    return this.byRef.size;
  }

  private drop(k: string): void {
    const g = this.byRef.get(k);
    if (!g) return;
    this.byRef.delete(k);
    const job = g.tags[TAG_JOB];
    if (job === undefined) return;
    const set = this.byJob.get(job);
    set?.delete(k);
    if (set && set.size === 0) this.byJob.delete(job);
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
