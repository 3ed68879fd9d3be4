/**
 * The watch hub: one subscription to the store's change feed, a bounded history of events (so a
 * watch can start after a resourceVersion a LIST returned), and the last known state of every
 * object (so a DELETED event carries the object, as Kubernetes sends it).
 */
import type { RunRecord } from '../../api/runs';
import type { Change, Store, StoredJob } from '../../store/types';

export type Resource = 'containerjobs' | 'containerjobruns';
export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** A raw snapshot; mapped to a Kubernetes object (or Table row) per watcher. */
export type Snapshot = { resource: 'containerjobs'; job: StoredJob } | { resource: 'containerjobruns'; run: RunRecord; resourceVersion: number };

export interface WatchEvent {
  resourceVersion: number;
  type: EventType;
  object: Snapshot;
  /** The object before this event (for selector transitions); undefined for ADDED. */
  previous?: Snapshot;
}

export class WatchHub {
  private history: WatchEvent[] = [];
  /** Every event with resourceVersion <= this has been dropped from history (or predates the hub). */
  private horizon: number;
  private readonly lastKnown = new Map<string, Snapshot>();
  private readonly listeners = new Set<(e: WatchEvent) => void>();
  private readonly unsubscribe: () => void;

  constructor(private readonly store: Store, private readonly capacity = 2000) {
    this.horizon = store.currentResourceVersion();
    for (const job of store.listJobs()) this.lastKnown.set(`containerjobs/${job.name}`, { resource: 'containerjobs', job });
    for (const run of store.listRuns()) this.lastKnown.set(`containerjobruns/${run.id}`, this.runSnapshot(run, undefined));
    this.unsubscribe = store.onChange((c) => this.onChange(c));
  }

  close(): void {
    this.unsubscribe();
    this.listeners.clear();
  }

  /** The resourceVersion a run object shows: its last write, as far as anyone knows. */
  runSnapshot(run: RunRecord, changeRv: number | undefined): Snapshot {
    const rv = this.store.getRunResourceVersion?.(run.id) ?? changeRv ?? this.horizon;
    return { resource: 'containerjobruns', run, resourceVersion: rv };
  }

  private onChange(change: Change): void {
    const key = `${change.resource}/${change.name}`;
    const previous = this.lastKnown.get(key);
    let object: Snapshot | undefined;
    let type: EventType = change.kind;
    if (change.kind === 'DELETED') {
      if (!previous) return;
      this.lastKnown.delete(key);
      object = previous.resource === 'containerjobs'
        ? { resource: 'containerjobs', job: { ...previous.job, resourceVersion: change.resourceVersion } }
        : { ...previous, resourceVersion: change.resourceVersion };
    } else if (change.resource === 'containerjobs') {
      const job = this.store.getJob(change.name);
      if (!job) return; // deleted again before we looked; its DELETED change follows
      object = { resource: 'containerjobs', job };
      this.lastKnown.set(key, object);
    } else {
      const run = this.store.getRun(change.name);
      if (!run) return;
      object = this.runSnapshot(run, change.resourceVersion);
      this.lastKnown.set(key, object);
    }
    if (type === 'ADDED' && previous) type = 'MODIFIED';
    if (type === 'MODIFIED' && !previous) type = 'ADDED';
    const event: WatchEvent = { resourceVersion: change.resourceVersion, type, object, previous };
    this.history.push(event);
    if (this.history.length > this.capacity) {
      const dropped = this.history.splice(0, this.history.length - this.capacity);
      this.horizon = dropped[dropped.length - 1]!.resourceVersion;
    }
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch {
        // one broken watch connection must not affect the others
      }
    }
  }

  /**
   * Events of `resource` after `rv`, or 'gone' when history no longer reaches back that far.
   * A listener registered in the same tick receives everything after the replay.
   */
  since(resource: Resource, rv: number): WatchEvent[] | 'gone' {
    if (rv < this.horizon) return 'gone';
    return this.history.filter((e) => e.resourceVersion > rv && e.object.resource === resource);
  }

  oldestResourceVersion(): number {
    return this.horizon;
  }

  subscribe(listener: (e: WatchEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
