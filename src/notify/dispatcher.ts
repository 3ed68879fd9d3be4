/**
 * The delivery side: a loop of its own (timer + the outbox as its queue), apart from the reconcile
 * loop, which only ever inserts rows. Each pass takes the due Pending rows (oldest first, a few at a
 * time, each send bounded by its own timeout), reads the target's secrets from their references,
 * sends, and records the outcome in the row: Delivered, or Pending again with attempts + 1, the next
 * attempt time (exponential backoff) and the last error; once a row is older than `giveUpAfterMs`
 * its failed attempt makes it Failed (event NotificationFailed). Nothing here awaits the work queue
 * or holds a store transaction across network I/O.
 *
 * Exactly once? The row is enqueued once (see outbox.ts) and marked Delivered right after the
 * receiver's 2xx. A crash between that 2xx and the mark re-sends the row after the restart: delivery
 * over HTTP/SMTP is at least once. Receivers de-duplicate by the delivery id (X-Acictl-Delivery,
 * the same on every retry; e-mails keep one Message-ID).
 *
 * On a shared PostgreSQL store only the leader dispatches, its writes under its fencing token.
 */
import type { SecretSource } from '../aci/secrets';
import type { OutboxEntry, Store, StoredEvent } from '../store/types';
import type { OutboxPayload } from './outbox';
import { postWebhook, sendMail, SendError, webhookBody } from './send';

export interface RetryPolicy {
  /** Delay after the first failed attempt. */
  initialDelayMs: number;
  /** Cap of the (doubling) delay. */
  maxDelayMs: number;
  /** A row still undelivered this long after it was enqueued is given up on at its next failure. */
  giveUpAfterMs: number;
}

/** 5 s, doubling, at most 10 min between attempts, given up after 1 h: about 11 attempts. */
export const DEFAULT_RETRY: RetryPolicy = { initialDelayMs: 5_000, maxDelayMs: 600_000, giveUpAfterMs: 3_600_000 };

/** `ACICTL_NOTIFY_RETRY=INITIAL,MAX,GIVEUP` in ms (tests shorten them). */
export function retryPolicy(spec: string | undefined): RetryPolicy {
  if (!spec) return DEFAULT_RETRY;
  const [i, m, g] = spec.split(',').map(Number);
  if (!(i > 0 && m >= i && g > 0)) throw new Error(`ACICTL_NOTIFY_RETRY: expected INITIAL,MAX,GIVEUP in ms with INITIAL <= MAX (got ${spec})`);
  return { initialDelayMs: i, maxDelayMs: m, giveUpAfterMs: g };
}

/** The delay after the `attempts`-th failed attempt (1-based). */
export function backoffDelay(policy: RetryPolicy, attempts: number): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(30, Math.max(0, attempts - 1)));
}

export interface DispatcherLogger {
  info(o: object, m?: string): void;
  warn(o: object, m?: string): void;
}

export interface DispatcherOptions {
  store: Store;
  secrets: SecretSource;
  now: () => number;
  logger: DispatcherLogger;
  retry?: RetryPolicy;
  /** Rows sent at once (default 4). */
  concurrency?: number;
  /** Passes when nothing woke it (ms, default 1000): rows whose time came, rows of another replica. */
  pollMs?: number;
  /** The link to a run in a notification (the controller's API URL), or null. */
  runLink?(run: string): string | null;
  /** Only then may this process dispatch (the leader on a shared store); `run` wraps its store writes (fencing). */
  gate?(): { run<T>(fn: () => Promise<T>): Promise<T> } | null;
  /** Metric hooks. */
  metrics?: {
    result(targetKind: string, result: 'delivered' | 'retry' | 'failed'): void;
    deliverySeconds?(seconds: number): void;
  };
  /** Delivered / Failed rows are pruned this long after they finished (default 7 days). */
  keepFinishedMs?: number;
}

export class NotificationDispatcher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private started = false;
  private lastPrune = 0;
  private readonly retry: RetryPolicy;
  /** Passes made and rows sent (tests and describe). */
  readonly stats = { passes: 0, sent: 0, failures: 0 };

  constructor(private readonly o: DispatcherOptions) {
    this.retry = o.retry ?? DEFAULT_RETRY;
  }

  start(): void {
    this.stopped = false;
    this.started = true;
    this.schedule(0);
  }

  /** Look at the outbox soon (a row was just enqueued). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(20);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /** One pass now (tests); resolves when it is done. */
  async runOnce(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
    this.running = this.pass().finally(() => (this.running = null));
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.running) {
        this.again = true;
        return;
      }
      this.running = this.pass()
        .catch((err: Error) => this.o.logger.warn({ err: err.message }, 'notifications: a dispatch pass failed; retrying'))
        .finally(() => {
          this.running = null;
          if (this.again) {
            this.again = false;
            this.schedule(0);
          }
        });
    }, ms);
    this.timer.unref();
  }

  private async pass(): Promise<void> {
    const pollMs = this.o.pollMs ?? 1000;
    try {
      const gate = this.o.gate ? this.o.gate() : { run: <T>(fn: () => Promise<T>) => fn() };
      if (!gate) return; // a follower: the leader dispatches
      this.stats.passes++;
      await gate.run(() => this.deliverDue());
    } finally {
      if (this.started && !this.stopped) await this.nextWake(pollMs);
    }
  }

  /** Sleep until the earliest pending row is due, at most pollMs. */
  private async nextWake(pollMs: number): Promise<void> {
    let wait = pollMs;
    try {
      const [next] = await this.o.store.listNotifications({ state: 'Pending', limit: 1 });
      if (next) wait = Math.max(10, Math.min(pollMs, next.nextAttemptAt - this.o.now()));
    } catch {
      /* the next pass tries again */
    }
    if (!this.again) this.schedule(wait);
  }

  private async deliverDue(): Promise<void> {
    const { store } = this.o;
    const limit = Math.max(1, this.o.concurrency ?? 4);
    for (;;) {
      if (this.stopped) return;
      const now = this.o.now();
      const due = await store.listNotifications({ state: 'Pending', dueBy: now, limit });
      if (due.length === 0) break;
      // What the reconciler enqueued may still sit in a deferred commit: durable before anything is sent.
      await store.flush();
      await Promise.all(due.map((row) => this.deliver(row)));
      if (due.length < limit) break;
    }
    if (this.o.now() - this.lastPrune > 3_600_000) {
      this.lastPrune = this.o.now();
      await store.pruneNotifications(this.o.now() - (this.o.keepFinishedMs ?? 7 * 86_400_000));
    }
  }

  private async deliver(row: OutboxEntry): Promise<void> {
    const { store, logger } = this.o;
    let payload: OutboxPayload;
    try {
      payload = JSON.parse(row.payload) as OutboxPayload;
    } catch {
      await this.record(row, null, new SendError('unreadable outbox payload', true), 'unknown');
      return;
    }
    const { target } = payload;
    const message = { ...payload.message, link: payload.message.run ? (this.o.runLink?.(payload.message.run) ?? null) : null };
    try {
      if (target.kind === 'webhook') {
        const secret = await this.o.secrets.read(target.webhook.secretFrom);
        await postWebhook(target.webhook, secret, payload.message, webhookBody(message));
      } else {
        const password = target.email.passwordFrom ? await this.o.secrets.read(target.email.passwordFrom) : undefined;
        await sendMail(target.email, { password }, message);
      }
    } catch (e) {
      const err = e instanceof SendError ? e : new SendError(errorText(e));
      await this.record(row, payload, err, target.kind);
      return;
    }
    this.stats.sent++;
    const now = this.o.now();
    await store.transaction(async () => {
      await store.updateNotification(row.id, { state: 'Delivered', attempts: row.attempts + 1, nextAttemptAt: row.nextAttemptAt, finishedAt: now });
      await this.event(row, 'Normal', 'NotificationSent', `${row.event} notification sent to ${target.kind} ${target.name}${row.attempts > 0 ? ` (attempt ${row.attempts + 1})` : ''}`);
    });
    this.o.metrics?.result(target.kind, 'delivered');
    this.o.metrics?.deliverySeconds?.(Math.max(0, now - row.createdAt) / 1000);
    logger.info({ job: row.job, delivery: row.id, target: target.name, attempts: row.attempts + 1 }, 'notification sent');
  }

  /** A failed attempt: back off, or give up (too old, or a permanent error). */
  private async record(row: OutboxEntry, payload: OutboxPayload | null, err: SendError, kind: string): Promise<void> {
    const { store, logger } = this.o;
    this.stats.failures++;
    const now = this.o.now();
    const attempts = row.attempts + 1;
    const giveUp = err.permanent || now - row.createdAt >= this.retry.giveUpAfterMs;
    const target = payload?.target.name ?? row.target;
    if (giveUp) {
      await store.transaction(async () => {
        await store.updateNotification(row.id, { state: 'Failed', attempts, nextAttemptAt: row.nextAttemptAt, lastError: err.message, finishedAt: now });
        await this.event(row, 'Warning', 'NotificationFailed', `${row.event} notification to ${kind} ${target} given up after ${attempts} attempt(s): ${err.message}`);
      });
      this.o.metrics?.result(kind, 'failed');
      logger.warn({ job: row.job, delivery: row.id, target, attempts, err: err.message }, 'notification given up');
      return;
    }
    const next = now + backoffDelay(this.retry, attempts);
    await store.updateNotification(row.id, { state: 'Pending', attempts, nextAttemptAt: next, lastError: err.message });
    this.o.metrics?.result(kind, 'retry');
    logger.warn({ job: row.job, delivery: row.id, target, attempts, err: err.message, nextAttemptAt: new Date(next).toISOString() }, 'notification not delivered; retrying later');
  }

  private async event(row: OutboxEntry, type: StoredEvent['type'], reason: string, message: string): Promise<void> {
    const run = (() => {
      try {
        return (JSON.parse(row.payload) as OutboxPayload).message.run ?? undefined;
      } catch {
        return undefined;
      }
    })();
    const e: StoredEvent = { time: new Date(this.o.now()).toISOString(), job: row.job, type, reason, message };
    if (run) e.run = run;
    await this.o.store.addEvent(e);
  }
}

/** An error's message (SecretMissing and friends name the source, never a value). */
function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
