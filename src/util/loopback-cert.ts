/**
 * A self-signed certificate for loopback servers (127.0.0.1, ::1, localhost): the emulator's ARM
 * endpoint and the controller's API. Self-signed and marked as a CA, so a client trusts exactly
 * this certificate (`tlsOptions.ca`, a kubeconfig's certificate-authority-data).
 */
import { generate } from 'selfsigned';

export interface CertPem {
  cert: string;
  /** PEM private key. Never log it. */
  key: string;
}

const DAY = 86_400_000;

export async function generateLoopbackCert(subject: { commonName: string; organizationName?: string }, now: number, days: number): Promise<CertPem> {
  const attrs = [{ name: 'commonName', value: subject.commonName }];
  if (subject.organizationName) attrs.push({ name: 'organizationName', value: subject.organizationName });
  const pems = await generate(attrs, {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - DAY),
    notAfterDate: new Date(now + days * DAY),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }, { type: 2, value: 'localhost' }] },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
