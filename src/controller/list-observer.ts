/**
 * Observation of running attempts: from a list when the service puts container instance views in
 * list items (Microsoft's 2023-05-01 List example shows them; the 2022-09-01 ListByResourceGroup
 * example does not), else by GET.
 *
 * One listing of a scope (subscription + resource group) serves every attempt of that scope that
 * is observed while it is in flight or within `freshMs` after it. A group that is absent from the
 * listing, or present without container views, is read with GET: absence from a list never means
 * "gone" (ARM lists are eventually consistent; a new group may not be listed yet). A scope whose
 * listing carried our groups but no container views, or took more than one page (then one GET per
 * attempt is cheaper), is observed by GET until `recheckMs` has passed; one whose listing had no
 * deployed group to tell either way, for `undecidedMs`.
 */
import type { Clock } from '../api/clock';
import type { GroupRef, ObservedGroup } from '../api/observed';
import type { CallOptions, ContainerGroups, Scope } from '../aci/types';

interface Listing {
  at: number;
  byName: Map<string, ObservedGroup>;
}

interface ScopeState {
  listing?: Listing;
  inflight?: Promise<Listing>;
  /** Observe this scope by GET until then (no views in list items, or several pages). */
  getUntil?: number;
}

export interface ListObserverStats {
  fromList: number;
  byGet: number;
  listings: number;
}

export class ListObserver {
  private readonly scopes = new Map<string, ScopeState>();
  readonly stats: ListObserverStats = { fromList: 0, byGet: 0, listings: 0 };

  constructor(
    private readonly groups: ContainerGroups,
    private readonly clock: Clock,
    private readonly opts: { freshMs?: number; recheckMs?: number; undecidedMs?: number } = {},
  ) {}

  /** The group with its (container) instance view; throws NotFound like `get`. */
  async observe(ref: GroupRef, opts?: CallOptions): Promise<ObservedGroup> {
    if (!this.groups.listObserved) return this.get(ref, opts);
    const key = `${ref.subscriptionId}/${ref.resourceGroup.toLowerCase()}`;
    let st = this.scopes.get(key);
    if (!st) this.scopes.set(key, (st = {}));
    const now = this.clock.now();
    if (st.getUntil !== undefined && now < st.getUntil) return this.get(ref, opts);
    const listing = await this.listing(st, { subscriptionId: ref.subscriptionId, resourceGroup: ref.resourceGroup }, now);
    const g = listing.byName.get(ref.name);
    if (g && g.viewFrom === 'list') {
      this.stats.fromList++;
      return g;
    }
    return this.get(ref, opts);
  }

  private get(ref: GroupRef, opts?: CallOptions): Promise<ObservedGroup> {
    this.stats.byGet++;
    return this.groups.get(ref, opts);
  }

  private listing(st: ScopeState, scope: Scope, now: number): Promise<Listing> {
    const fresh = this.opts.freshMs ?? 2000;
    if (st.listing && now - st.listing.at <= fresh) return Promise.resolve(st.listing);
    if (st.inflight) return st.inflight;
    // Not bound to one caller's signal: the listing serves every caller of the scope (the adapter bounds each attempt).
    const p = this.groups.listObserved!(scope).then(
      ({ groups, pages, views }) => {
        this.stats.listings++;
        const listing: Listing = { at: this.clock.now(), byName: new Map(groups.map((g) => [g.name, g])) };
        if (views === false || pages > 1) st.getUntil = listing.at + (this.opts.recheckMs ?? 10 * 60_000);
        // Nothing deployed yet to tell: GET for a while rather than paying a listing and a GET per observation.
        else if (views === undefined) st.getUntil = listing.at + (this.opts.undecidedMs ?? 30_000);
        st.listing = listing;
        st.inflight = undefined;
        return listing;
      },
      (err) => {
        st.inflight = undefined;
        throw err;
      },
    );
    st.inflight = p;
    return p;
  }
}
