/** Prometheus metrics of the controller (prom-client), on a registry of its own. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly reconcileDuration = new Histogram({
    name: 'acictl_reconcile_duration_seconds',
    help: 'Duration of one reconcile of one job.',
    labelNames: ['result'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({ name: 'acictl_workqueue_depth', help: 'Keys waiting in the work queue.', registers: [this.registry] });
  readonly armCalls = new Counter({
    name: 'acictl_arm_requests_total',
    help: 'ARM calls made through the ACI adapter, by operation and outcome.',
    labelNames: ['operation', 'outcome'],
    registers: [this.registry],
  });
  readonly armCallDuration = new Histogram({
    name: 'acictl_arm_request_duration_seconds',
    help: 'Duration of ARM calls, by operation.',
    labelNames: ['operation'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly runs = new Counter({ name: 'acictl_runs_total', help: 'Finished runs, by outcome.', labelNames: ['outcome'], registers: [this.registry] });
  readonly missedSlots = new Counter({ name: 'acictl_missed_slots_total', help: 'Slots recorded as missed.', registers: [this.registry] });
  readonly scheduleLag = new Histogram({
    name: 'acictl_schedule_lag_seconds',
    help: 'Delay from a scheduled slot to the create request of its run.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly operatorActions = new Counter({
    name: 'acictl_operator_actions_total',
    help: 'Operator verbs that took effect: runs cleared, runs cancelled, backfills completed.',
    labelNames: ['verb'],
    registers: [this.registry],
  });
  readonly leader = new Gauge({ name: 'acictl_leader', help: '1 while this replica holds the lease (PostgreSQL store), else 0.', registers: [this.registry] });
  readonly leaseTransitions = new Counter({ name: 'acictl_lease_transitions_total', help: 'Times this replica became or stopped being leader.', registers: [this.registry] });
  readonly fencingRefusals = new Counter({
    name: 'acictl_fencing_refusals_total',
    help: 'Writes of this replica refused by the database under a stale fencing token (PostgreSQL store), by what was refused: a store write, or the check right before an ARM call.',
    labelNames: ['what'],
    registers: [this.registry],
  });
  readonly feedResyncs = new Counter({
    name: 'acictl_store_feed_resyncs_total',
    help: 'Times other replicas\' changes had been pruned from the change log before this replica read them (its watches and caches relisted).',
    registers: [this.registry],
  });
  readonly jobs = new Gauge({ name: 'acictl_jobs', help: 'Desired jobs known to the controller.', registers: [this.registry] });
  readonly invalidJobs = new Gauge({ name: 'acictl_jobs_invalid', help: 'Jobs whose source is currently invalid.', registers: [this.registry] });

  constructor(withDefaults = true) {
    if (withDefaults) collectDefaultMetrics({ register: this.registry, prefix: 'acictl_process_' });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
