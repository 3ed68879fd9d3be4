/** The emulator's self-signed certificate (CN/SAN 127.0.0.1, localhost, ::1), reused from the state dir when valid. */
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface ServerCert {
  cert: string;
  key: string;
}

const CERT_FILE = 'emulator-ca.pem';
const KEY_FILE = 'emulator-key.pem';
const DAY = 86_400_000;

async function create(now: number): Promise<ServerCert> {
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }, { name: 'organizationName', value: 'acictl emulator' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - DAY),
    notAfterDate: new Date(now + 365 * DAY),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }, { type: 2, value: 'localhost' }] },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** Loads the certificate from `stateDir` if present and valid for at least a day, else creates (and stores) one. */
export async function loadOrCreateCert(stateDir: string | undefined, now: number): Promise<ServerCert & { certFile?: string }> {
  if (stateDir) {
    const certFile = join(stateDir, CERT_FILE);
    try {
      const cert = readFileSync(certFile, 'utf8');
      const key = readFileSync(join(stateDir, KEY_FILE), 'utf8');
      const x = new X509Certificate(cert);
      if (Date.parse(x.validTo) - now > DAY) return { cert, key, certFile };
    } catch {
      /* create a new one */
    }
    const fresh = await create(now);
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(join(stateDir, KEY_FILE), fresh.key, { mode: 0o600 });
    writeFileSync(certFile, fresh.cert);
    return { ...fresh, certFile };
  }
  return create(now);
}
