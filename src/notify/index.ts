/**
 * Notifications (spec.notify): the outbox hooks the reconciler calls (outbox.ts), the dispatcher
 * that delivers (dispatcher.ts), the senders (send.ts), and their wiring for the controller.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { SecretSource } from '../aci/secrets';
import type { Store } from '../store/types';
import { NotificationDispatcher, retryPolicy, type DispatcherLogger, type DispatcherOptions } from './dispatcher';
import { Notifier } from './outbox';

export { Notifier, type NotifyHooks, type NotificationMessage, type OutboxPayload } from './outbox';
export { NotificationDispatcher, DEFAULT_RETRY, backoffDelay, retryPolicy, type RetryPolicy } from './dispatcher';
export { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signature } from './send';
export { resolveTargets, DEFAULT_EVENTS } from './targets';

export interface Notifications {
  hooks: Notifier;
  dispatcher: NotificationDispatcher;
  /** The API URL runs are linked to (the controller knows it once it listens). */
  setBaseUrl(url: string): void;
}

/** The controller's notifications: metrics on `registry`, links to `ACICTL_PUBLIC_URL` or the API URL. */
export function setUpNotifications(o: {
  store: Store;
  secrets: SecretSource;
  now: () => number;
  logger: DispatcherLogger;
  registry: Registry;
  env: Record<string, string | undefined>;
  gate?: DispatcherOptions['gate'];
}): Notifications {
  const total = new Counter({
    name: 'acictl_notifications_total',
    help: 'Notification delivery attempts, by target kind (webhook, email) and result (delivered, retry, failed = given up).',
    labelNames: ['target', 'result'],
    registers: [o.registry],
  });
  const latency = new Histogram({
    name: 'acictl_notification_delivery_seconds',
    help: 'From the event (outbox row written) to its delivery.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600],
    registers: [o.registry],
  });
  let base = o.env.ACICTL_PUBLIC_URL?.replace(/\/+$/, '') ?? '';
  const dispatcher = new NotificationDispatcher({
    store: o.store,
    secrets: o.secrets,
    now: o.now,
    logger: o.logger,
    retry: retryPolicy(o.env.ACICTL_NOTIFY_RETRY),
    runLink: (run) => (base ? `${base}/apis/acictl.dev/v1/containerjobruns/${encodeURIComponent(run)}` : null),
    gate: o.gate,
    metrics: { result: (target, result) => total.inc({ target, result }), deliverySeconds: (s) => latency.observe(s) },
  });
  const hooks = new Notifier({ store: o.store, now: o.now, onEnqueued: () => dispatcher.wake() });
  return {
    hooks,
    dispatcher,
    setBaseUrl(url: string) {
      if (!o.env.ACICTL_PUBLIC_URL) base = url.replace(/\/+$/, '');
    },
  };
}
