/** Observed state of ACI container groups, as the planner and reconciler see it (no SDK types). */

export interface GroupRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

/** Group-level state from the instance view; `undefined` when not known (list responses carry none). */
export type GroupState = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Stopped' | 'Unknown';

export interface ObservedContainer {
  name: string;
  state: 'Waiting' | 'Running' | 'Terminated' | 'Unknown';
  exitCode?: number;
  startTime?: string;
  finishTime?: string;
  detailStatus?: string;
  restartCount: number;
}

export interface ObservedGroup extends GroupRef {
  location: string;
  tags: Record<string, string>;
  /** ARM provisioningState: Pending, Creating, Succeeded, Failed, Deleting, … */
  provisioningState: string;
  /** Present only when the group was read with GET (instance view). */
  state?: GroupState;
  containers?: ObservedContainer[];
  /** 'list': state and containers come from a list item's container instance views (no group events). */
  viewFrom?: 'list';
  /** Group-level events (e.g. image pull failures, Spot eviction), newest last. */
  events?: { type?: string; name?: string; message?: string; lastTimestamp?: string }[];
}
