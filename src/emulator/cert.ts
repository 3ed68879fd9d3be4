/** The emulator's self-signed certificate (CN/SAN 127.0.0.1, localhost, ::1), reused from the state dir when valid. */
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateLoopbackCert } from '../util/loopback-cert';

export interface ServerCert {
  cert: string;
  key: string;
}

const CERT_FILE = 'emulator-ca.pem';
const KEY_FILE = 'emulator-key.pem';
const DAY = 86_400_000;

function create(now: number): Promise<ServerCert> {
  return generateLoopbackCert({ commonName: '127.0.0.1', organizationName: 'acictl emulator' }, now, 365);
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
