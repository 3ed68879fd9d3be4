/**
 * The API's TLS certificate. kubectl (client-go) never sends a bearer token over plain HTTP, so the
 * API also speaks HTTPS on the same port; the kubeconfig trusts this self-signed certificate.
 */
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateLoopbackCert } from '../util/loopback-cert';

export interface TlsMaterial {
  /** PEM certificate (self-signed: it is also the CA a client trusts). */
  cert: string;
  /** PEM private key. Never log it. */
  key: string;
}

const CERT = 'api-tls.crt';
const KEY = 'api-tls.key';
const DAY = 86_400_000;

/** A fresh self-signed certificate for 127.0.0.1, ::1 and localhost (EC P-256, valid `days`). */
export async function createTlsMaterial(now: number, days = 825): Promise<TlsMaterial> {
  return generateLoopbackCert({ commonName: 'acictl-controller' }, now, days);
}

/**
 * `<stateDir>/api-tls.crt` and `api-tls.key` (0600), reused while valid for more than a week, so a
 * kubeconfig written earlier keeps working across restarts.
 */
export async function loadOrCreateTls(stateDir: string, now: number): Promise<TlsMaterial> {
  try {
    const cert = readFileSync(join(stateDir, CERT), 'utf8');
    const key = readFileSync(join(stateDir, KEY), 'utf8');
    if (Date.parse(new X509Certificate(cert).validTo) - now > 7 * DAY) return { cert, key };
  } catch {
    // missing or unreadable: make a new one
  }
  const fresh = await createTlsMaterial(now);
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, KEY), fresh.key, { mode: 0o600 });
  writeFileSync(join(stateDir, CERT), fresh.cert, { mode: 0o644 });
  return fresh;
}
