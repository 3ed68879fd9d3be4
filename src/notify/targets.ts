/**
 * spec.notify as the notifier uses it: each target with its name and events filled in. Pure.
 * Default events: failure, missed, recovery, invalid (retries are often noise: opt in with `retry`).
 */
import type { ContainerJobSpec, EmailTarget, NotifyEvent, WebhookTarget } from '../api/types';
import { parseDuration } from '../api/duration';

export const DEFAULT_EVENTS: readonly NotifyEvent[] = ['failure', 'missed', 'recovery', 'invalid'];
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;

export type ResolvedTarget =
  | { name: string; kind: 'webhook'; on: NotifyEvent[]; webhook: WebhookTarget & { timeoutMs: number } }
  | { name: string; kind: 'email'; on: NotifyEvent[]; email: EmailTarget };

/** The job's targets (those that fail to resolve are left out: the validator reports them). */
export function resolveTargets(spec: Pick<ContainerJobSpec, 'notify'> | undefined): ResolvedTarget[] {
  const out: ResolvedTarget[] = [];
  const counts = { webhook: 0, email: 0 };
  for (const t of spec?.notify ?? []) {
    const on = [...(t.on ?? DEFAULT_EVENTS)];
    if (t.webhook && !t.email) {
      counts.webhook++;
      let timeoutMs = DEFAULT_WEBHOOK_TIMEOUT_MS;
      try {
        if (t.webhook.timeout) timeoutMs = parseDuration(t.webhook.timeout);
      } catch {
        /* the validator reports it */
      }
      out.push({ name: t.name ?? `webhook-${counts.webhook}`, kind: 'webhook', on, webhook: { ...t.webhook, timeoutMs } });
    } else if (t.email && !t.webhook) {
      counts.email++;
      out.push({ name: t.name ?? `email-${counts.email}`, kind: 'email', on, email: { ...t.email } });
    }
  }
  return out;
}

/** Whether any target of the spec wants `event`. */
export function wants(spec: Pick<ContainerJobSpec, 'notify'> | undefined, event: NotifyEvent): boolean {
  return resolveTargets(spec).some((t) => t.on.includes(event));
}
