/**
 * The one narrow interface the reconciler has to ACI. Implementations: `AciContainerGroups`
 * (the Azure SDK) and `MemoryContainerGroups` (in memory, for fast reconciler tests).
 */
import type { GroupRef, ObservedGroup } from '../api/observed';
import type { ResolvedJob } from '../api/types';

export interface Scope {
  subscriptionId: string;
  resourceGroup: string;
}

/** Everything needed to PUT one container group. */
export interface DesiredGroup {
  ref: GroupRef;
  location: string;
  template: ResolvedJob['template'];
  /** Ownership tags (api/names.ts) merged over template.tags. */
  tags: Record<string, string>;
  /** ACICTL_* variables added to every container's environment. */
  runEnv: Record<string, string>;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface CreateOptions {
  /**
   * A create: never update an existing group. Sent with `If-None-Match: *`, and guarded so that it
   * holds even when ARM ignores or refuses that header (create-guard.ts): a group found under the
   * name that carries this create's tags is adopted, any other answers Conflict.
   */
  ifNoneMatch?: boolean;
  /** With `ifNoneMatch`: the name may already be taken (a Reuse group), so look (GET) before the first PUT too. */
  mayExist?: boolean;
}

export interface DeleteOptions extends CallOptions {
  observedTags?: Record<string, string>;
}

export interface ContainerGroups {
  /** Groups in the scope that carry this controller's managed-by tag; never any other group. No instance view. */
  listOwned(scope: Scope, opts?: CallOptions): Promise<ObservedGroup[]>;
  /**
   * Optional: our groups in the scope as list items, mapped with `fromArmListItem` (container
   * instance views when the service puts them in list items), how many pages that took, and
   * whether deployed items (ours or not) carry container instance views (undefined: none deployed).
   */
  listObserved?(scope: Scope, opts?: CallOptions): Promise<{ groups: ObservedGroup[]; pages: number; views?: boolean }>;
  /** One group with its instance view. Throws NotFound. */
  get(ref: GroupRef, opts?: CallOptions): Promise<ObservedGroup>;
  /**
   * PUT the group. Returns once ARM accepted it (it does not wait for provisioning to finish; the
   * caller observes with `get`). With `ifNoneMatch` the call fails with Conflict when the group
   * already exists, so a repeated create never restarts a run.
   */
  createOrUpdate(desired: DesiredGroup, opts?: CallOptions & CreateOptions): Promise<ObservedGroup>;
  /** Start (re-run) a finished or stopped group we own. */
  start(ref: GroupRef, opts?: CallOptions): Promise<void>;
  /** Stop a group we own; refuses (Forbidden) a group without our tags. */
  stop(ref: GroupRef, opts?: CallOptions): Promise<void>;
  /**
   * Delete a group we own; refuses (Forbidden) a group without our tags; absent is success.
   * `observedTags`: the group's tags as the caller read them from ARM in the same reconcile (a GET
   * or the PUT response). An implementation may then skip its own ownership read: it still
   * refuses when those tags lack our managed-by value.
   */
  delete(ref: GroupRef, opts?: DeleteOptions): Promise<void>;
  /** The container's log (ACI keeps the whole log up to its limits); `tail` lines if given. */
  logs(ref: GroupRef, container: string, opts?: CallOptions & { tail?: number }): Promise<string>;
}

export type AciErrorKind =
  | 'NotFound'
  | 'Conflict'
  | 'Invalid'
  | 'Quota'
  | 'Throttled'
  | 'Transient'
  | 'Forbidden'
  | 'Unauthorized'
  | 'SecretMissing';

/** A typed ACI error. Messages never contain secret values. */
export class AciError extends Error {
  constructor(
    readonly kind: AciErrorKind,
    message: string,
    readonly code?: string,
    readonly retryAfterMs?: number,
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = 'AciError';
  }

  /** Errors a later retry can fix. */
  get retryable(): boolean {
    return this.kind === 'Throttled' || this.kind === 'Transient';
  }
}

export function isAciError(e: unknown, kind?: AciErrorKind): e is AciError {
  return e instanceof AciError && (kind === undefined || e.kind === kind);
}
