/** A kubeconfig that points kubectl at this controller (`KUBECONFIG=<state dir>/kubeconfig kubectl get cj`). */
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const KUBECONFIG_CONTEXT = 'acictl';

/** The kubeconfig document (exported for tests and for printing a redacted form). */
export function kubeconfigDocument(server: string, token: string, ca?: string): Record<string, unknown> {
  const cluster: Record<string, string> = { server };
  if (ca) cluster['certificate-authority-data'] = Buffer.from(ca).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: KUBECONFIG_CONTEXT, cluster }],
    users: [{ name: KUBECONFIG_CONTEXT, user: { token } }],
    contexts: [{ name: KUBECONFIG_CONTEXT, context: { cluster: KUBECONFIG_CONTEXT, user: KUBECONFIG_CONTEXT } }],
    'current-context': KUBECONFIG_CONTEXT,
    preferences: {},
  };
}

/**
 * Write the kubeconfig atomically (temp file + rename) with mode 0600: it holds the token.
 * kubectl sends the token only over HTTPS: pass the https URL and the certificate (`ca`, PEM)
 * of startApiServer's result. Written as JSON, which is YAML to kubectl: the acictl CLI reads it
 * on every call and JSON needs no YAML parser loaded (src/cli/client/discovery.ts).
 */
export function writeKubeconfig(file: string, server: string, token: string, ca?: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(kubeconfigDocument(server, token, ca), null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}
