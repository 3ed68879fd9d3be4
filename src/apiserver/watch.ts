/**
 * The watch hub: one subscription to the store's change feed, a bounded history of events (so a
 * watch can start after a resourceVersion a LIST returned), and the last known state of every
 * object (so a DELETED event carries the object, as Kubernetes sends it).
 *
 * The hub sees every write of the controller, most of them while nobody watches, so it holds
 * objects in their stored (undecoded) form and decodes one only when a watcher or a replay looks
 * at it (`store.peekJob`): a change costs one keyed read, and the last known state of 10,000 jobs
 * is their rows, not 10,000 decoded object trees.
 */
import type { RunRecord } from '../api/runs';
import { lazy } from '../store/common';
import type { Change, Lazy, Store, StoredJob, WrittenJob, WrittenRun } from '../store/types';

export type Resource = 'containerjobs' | 'containerjobruns';
export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** A raw snapshot; mapped to a Kubernetes object (or Table row) per watcher. `job` / `run` decode on first read. */
export type Snapshot = { readonly resource: 'containerjobs'; readonly job: StoredJob } | { readonly resource: 'containerjobruns'; readonly run: RunRecord; readonly resourceVersion: number };

function jobSnapshot(load: Lazy<StoredJob>): Snapshot {
  return {
    resource: 'containerjobs',
    get job() {
      return load();
    },
  };
}

function runSnapshotOf(load: Lazy<RunRecord>, resourceVersion: number): Snapshot {
  return {
    resource: 'containerjobruns',
    resourceVersion,
    get run() {
      return load();
    },
  };
}

/**
 * What a selector looks at (labels and the selectable fields), kept for every object so a watch
 * can tell when an object enters or leaves its selection without the hub keeping whole objects.
 */
export type SelectorView =
  | { resource: 'containerjobs'; name: string; labels: Record<string, string> }
  | { resource: 'containerjobruns'; id: string; job: string };

export interface WatchEvent {
  resourceVersion: number;
  type: EventType;
  object: Snapshot;
  /** The selector view of `object`. */
  view: SelectorView;
  /** The selector view before this event (for selector transitions); undefined for ADDED. */
  previous?: SelectorView;
}

export class WatchHub {
  private history: WatchEvent[] = [];
  /** Every event with resourceVersion <= this has been dropped from history (or predates the hub). */
  private horizon: number;
  /** The selector view of every object that exists, as of the last change seen. */
  private lastKnown = new Map<string, SelectorView>();
  /** Each watch's listener, with what to call when the hub can no longer serve it (changes were lost). */
  private readonly listeners = new Map<(e: WatchEvent) => void, ((resourceVersion: number) => void) | undefined>();
  private readonly unsubscribe: () => void;
  /** While the hub lists again after a resync: changes wait here, and watches are refused (410). */
  private relisting: Change[] | null = null;
  /** Resyncs handled (changes lost by the store's feed, e.g. a pruned shared change log). */
  resyncs = 0;

  private constructor(private readonly store: Store, private readonly capacity: number, horizon: number) {
    this.horizon = horizon;
    const offChange = store.onChange((c) => this.onChange(c));
    const offResync = store.onResync?.((rv) => this.onResync(rv));
    this.unsubscribe = () => {
      offChange();
      offResync?.();
    };
  }

  /**
   * Subscribe to `store` and learn every object's selector view. Read in one store transaction,
   * subscribed inside it: no change is missed or counted twice.
   */
  static async open(store: Store, capacity = 2000): Promise<WatchHub> {
    return store.transaction(async () => {
      const hub = new WatchHub(store, capacity, await store.currentResourceVersion());
      hub.lastKnown = await WatchHub.views(store);
      return hub;
    });
  }

  private static async views(store: Store): Promise<Map<string, SelectorView>> {
    const out = new Map<string, SelectorView>();
    for (const j of await store.listJobLabels()) out.set(`containerjobs/${j.name}`, { resource: 'containerjobs', name: j.name, labels: j.labels });
    for (const r of await store.listRunJobs()) out.set(`containerjobruns/${r.id}`, { resource: 'containerjobruns', id: r.id, job: r.job });
    return out;
  }

  close(): void {
    this.unsubscribe();
    this.listeners.clear();
  }

  /** False while the hub lists again after a resync (a watch asked for then is answered 410: list again). */
  available(): boolean {
    return this.relisting === null;
  }

  /**
   * The store lost changes up to `rv` (Kubernetes' "too old resource version"): every watch ends
   * with 410 Gone (its client lists again), the history is dropped, and the selector views are
   * read again in one transaction; changes that arrive meanwhile are applied after it, those the
   * listing already covers skipped.
   */
  private onResync(rv: number): void {
    this.resyncs++;
    this.history = [];
    this.horizon = Math.max(this.horizon, rv);
    const ended = [...this.listeners];
    this.listeners.clear();
    for (const [, gone] of ended) {
      try {
        gone?.(rv);
      } catch {
        // one broken watch connection must not affect the others
      }
    }
    if (this.relisting) return; // the listing under way reads after this point anyway
    this.relisting = [];
    void this.store
      .transaction(async () => ({ views: await WatchHub.views(this.store), at: await this.store.currentResourceVersion() }))
      .then(
        ({ views, at }) => {
          this.lastKnown = views;
          this.horizon = Math.max(this.horizon, at);
        },
        () => undefined, // the store is out of reach: what arrived is applied to the views as they are
      )
      .finally(() => {
        const waiting = this.relisting ?? [];
        this.relisting = null;
        for (const c of waiting) this.onChange(c);
      });
  }

  private onChange(change: Change): void {
    if (this.relisting) {
      this.relisting.push(change);
      return;
    }
    if (change.resourceVersion <= this.horizon) return; // covered by the listing the hub started from
    const key = `${change.resource}/${change.name}`;
    const previous = this.lastKnown.get(key);
    let object: Snapshot;
    let view: SelectorView;
    let type: EventType = change.kind;
    if (change.kind === 'DELETED') {
      if (!previous || !change.last) return;
      this.lastKnown.delete(key);
      view = previous;
      if (change.resource === 'containerjobs') {
        const last = change.last as Lazy<StoredJob>;
        object = jobSnapshot(lazy(() => ({ ...last(), resourceVersion: change.resourceVersion })));
      } else {
        object = runSnapshotOf(change.last as Lazy<RunRecord>, change.resourceVersion);
      }
    } else if (change.resource === 'containerjobs') {
      const peeked = change.written as WrittenJob | undefined;
      if (!peeked) return; // every store sets it
      object = jobSnapshot(peeked.load);
      view = { resource: 'containerjobs', name: change.name, labels: peeked.labels };
      this.lastKnown.set(key, view);
    } else {
      const peeked = change.written as WrittenRun | undefined;
      if (!peeked) return;
      object = runSnapshotOf(peeked.load, peeked.resourceVersion);
      view = { resource: 'containerjobruns', id: change.name, job: peeked.job };
      this.lastKnown.set(key, view);
    }
    if (type === 'ADDED' && previous) type = 'MODIFIED';
    if (type === 'MODIFIED' && !previous) type = 'ADDED';
    const event: WatchEvent = { resourceVersion: change.resourceVersion, type, object, view, previous };
    this.history.push(event);
    if (this.history.length > this.capacity) {
      const dropped = this.history.splice(0, this.history.length - this.capacity);
      this.horizon = dropped[dropped.length - 1]!.resourceVersion;
    }
    for (const l of [...this.listeners.keys()]) {
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
    if (rv < this.horizon || this.relisting) return 'gone';
    return this.history.filter((e) => e.resourceVersion > rv && e.object.resource === resource);
  }

  oldestResourceVersion(): number {
    return this.horizon;
  }

  /** `gone`: called (and the listener dropped) when the hub can no longer serve this watch. */
  subscribe(listener: (e: WatchEvent) => void, gone?: (resourceVersion: number) => void): () => void {
    this.listeners.set(listener, gone);
    return () => this.listeners.delete(listener);
  }
}
