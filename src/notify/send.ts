/**
 * Sending one notification: a signed JSON POST (webhook) or an e-mail over SMTP (nodemailer).
 * Secret values (the HMAC key, the SMTP password) are passed in by the dispatcher, which read them
 * just now from their references; they are never logged, stored or put in an error message.
 */
import { createHmac } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { createTransport } from 'nodemailer';
import type { EmailTarget, WebhookTarget } from '../api/types';
import type { NotificationMessage } from './outbox';

export const SIGNATURE_HEADER = 'X-Acictl-Signature';
export const DELIVERY_HEADER = 'X-Acictl-Delivery';
export const EVENT_HEADER = 'X-Acictl-Event';

/** A delivery that failed: `permanent` ones are not retried (a 4xx other than 408/425/429). */
export class SendError extends Error {
  constructor(
    message: string,
    readonly permanent = false,
  ) {
    super(message);
    this.name = 'SendError';
  }
}

/** `sha256=HEX`: HMAC-SHA256 of the exact body bytes under `secret`. */
export function signature(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The body a webhook gets: the message and the link to the run, as compact JSON. */
export function webhookBody(message: NotificationMessage & { link: string | null }): Buffer {
  return Buffer.from(JSON.stringify(message), 'utf8');
}

const RESPONSE_LIMIT = 64 * 1024;

/** POST `body` to the webhook; resolves on a 2xx answer, rejects with SendError otherwise (or on timeout). */
export function postWebhook(target: WebhookTarget & { timeoutMs: number }, secret: string, message: NotificationMessage, body: Buffer, signal?: AbortSignal): Promise<number> {
  const url = new URL(target.url);
  const lib = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : null;
  if (!lib) return Promise.reject(new SendError(`unsupported URL scheme ${url.protocol}`, true));
  return new Promise<number>((resolve, reject) => {
    let done = false;
    const finish = (err: Error | null, status?: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(status!);
    };
    const req = lib.request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': String(body.length),
          'user-agent': 'acictl-notify/1',
          [SIGNATURE_HEADER]: signature(secret, body),
          [DELIVERY_HEADER]: message.id,
          [EVENT_HEADER]: message.event,
        },
        agent: false, // one connection per delivery: nothing kept open to a receiver that hangs
        signal,
      },
      (res) => {
        let seen = 0;
        res.on('data', (d: Buffer) => {
          seen += d.length;
          if (seen > RESPONSE_LIMIT) res.destroy();
        });
        res.on('error', () => undefined);
        res.on('close', () => {
          const s = res.statusCode ?? 0;
          if (s >= 200 && s < 300) finish(null, s);
          else finish(new SendError(`HTTP ${s}`, s >= 400 && s < 500 && ![408, 409, 425, 429].includes(s)));
        });
      },
    );
    // The whole exchange (connect, send, answer) within the timeout: a receiver that accepts and
    // never answers costs one timer, not a blocked loop.
    const timer = setTimeout(() => {
      req.destroy();
      finish(new SendError(`no answer within ${target.timeoutMs} ms`));
    }, target.timeoutMs);
    timer.unref();
    req.on('error', (e: NodeJS.ErrnoException) => finish(new SendError(e.code ? `${e.code} ${url.host}` : e.message)));
    req.end(body);
  });
}

export interface MailSecrets {
  password?: string;
}

/** Subject and plain-text body of the e-mail of a notification. */
export function mailText(target: EmailTarget, m: NotificationMessage & { link: string | null }): { subject: string; text: string } {
  const prefix = target.subjectPrefix ?? '[acictl]';
  const what: Record<string, string> = { failure: 'failed', retry: 'attempt failed, retrying', recovery: 'recovered', missed: 'missed a slot', invalid: 'manifest invalid' };
  const subject = `${prefix} ${m.job}${m.run ? ` ${m.run}` : ''}: ${what[m.event] ?? m.event}`.trim();
  const lines = [
    `Job:      ${m.job}`,
    ...(m.run ? [`Run:      ${m.run}`] : []),
    ...(m.attempt !== null ? [`Attempt:  ${m.attempt}`] : []),
    ...(m.slot ? [`Slot:     ${m.slot}`] : []),
    `Event:    ${m.event} (${m.outcome})`,
    `Reason:   ${m.reason}`,
    `Time:     ${m.time}`,
    ...(m.nextAttemptAt ? [`Next try: ${m.nextAttemptAt}`] : []),
    '',
    m.message,
    '',
    ...(m.link ? [`Details:  ${m.link}`] : []),
    `Delivery: ${m.id}`,
  ];
  return { subject, text: lines.join('\n') + '\n' };
}

/** Send the e-mail of a notification; rejects with SendError (5xx answers to the envelope are permanent). */
export async function sendMail(target: EmailTarget, secrets: MailSecrets, m: NotificationMessage & { link: string | null }, timeoutMs = 30_000): Promise<string> {
  const tls = target.tls ?? 'starttls';
  const transport = createTransport({
    host: target.host,
    port: target.port ?? (tls === 'implicit' ? 465 : 587),
    secure: tls === 'implicit',
    requireTLS: tls === 'starttls',
    ignoreTLS: tls === 'none',
    tls: { rejectUnauthorized: target.tlsVerify ?? true },
    ...(target.username ? { auth: { user: target.username, pass: secrets.password ?? '' } } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    logger: false,
    debug: false,
  });
  const { subject, text } = mailText(target, m);
  try {
    const info = await transport.sendMail({
      from: target.from,
      to: target.to,
      subject,
      text,
      headers: { [DELIVERY_HEADER]: m.id, [EVENT_HEADER]: m.event },
      // the same Message-ID on every retry: mail systems drop the duplicate of an at-least-once resend
      messageId: `<${createHmac('sha256', 'acictl-message-id').update(m.id).digest('hex').slice(0, 32)}@acictl.notify>`,
    });
    return String(info.messageId ?? '');
  } catch (e) {
    const err = e as { responseCode?: number; code?: string; message?: string };
    const code = err.responseCode;
    // a summary without the server's echo of anything we sent (it could quote credentials)
    const what = code ? `SMTP ${code}` : (err.code ?? 'SMTP error');
    throw new SendError(`${what}${err.code && code ? ` (${err.code})` : ''}`, code !== undefined && code >= 500 && code !== 535 && err.code !== 'EAUTH');
  } finally {
    transport.close();
  }
}
