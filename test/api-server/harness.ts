/**
 * An in-process API server on 127.0.0.1:0 with a MemoryStore and the real validator, the real
 * kubectl pointed at it through a temporary kubeconfig/HOME/cache, and a raw HTTP client.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer, type ApiServer, type ApiServerDeps } from '../../src/apiserver/server';
import { writeKubeconfig } from '../../src/apiserver/kubeconfig';
import { createTlsMaterial, type TlsMaterial } from '../../src/apiserver/tls';
import { MemoryStore } from '../../src/store/memory';
import { validateObject } from '../../src/manifest/validate';

export const TOKEN = 'test-token-0123456789abcdef';
export const KUBECTL = '/usr/bin/kubectl';

let tlsOnce: Promise<TlsMaterial> | undefined;
/** One certificate per test file (generation is the slow part). */
export function testTls(): Promise<TlsMaterial> {
  tlsOnce ??= createTlsMaterial(Date.now());
  return tlsOnce;
}

export interface Harness {
  store: MemoryStore;
  server: ApiServer;
  dir: string;
  kubeconfig: string;
  enqueued: string[];
  triggered: string[];
  suspended: [string, boolean | null][];
  /** Run kubectl; never rejects (the exit code is in the result). */
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number; kubeconfig?: string }): Promise<{ code: number; stdout: string; stderr: string }>;
  /** A raw HTTP request (plain HTTP, same port). */
  http(method: string, path: string, opts?: { body?: unknown; raw?: string | Buffer; headers?: Record<string, string>; token?: string | null }): Promise<{ status: number; headers: IncomingHttpHeaders; text: string; json: any }>;
  write(name: string, text: string): string;
  close(): Promise<void>;
}

export async function startHarness(extra: Partial<ApiServerDeps> = {}, listen: { exposed?: boolean } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'acictl-api-'));
  const store = new MemoryStore();
  const enqueued: string[] = [];
  const triggered: string[] = [];
  const suspended: [string, boolean | null][] = [];
  const server = await startApiServer(
    {
      store,
      validate: (obj, opts) => validateObject(obj, opts),
      enqueue: (n) => enqueued.push(n),
      trigger: async (n) => {
        triggered.push(n);
        return { run: `${n}-m20260101000000` };
      },
      setSuspended: async (n, s) => {
        suspended.push([n, s]);
      },
      logs: async function* () {
        yield 'no logs\n';
      },
      metrics: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'acictl_up 1\n' }),
      ready: () => true,
      token: TOKEN,
      tls: await testTls(),
      ...extra,
    },
    { host: '127.0.0.1', port: 0, ...listen },
  );
  const kubeconfig = join(dir, 'kubeconfig');
  writeKubeconfig(kubeconfig, server.httpsUrl!, TOKEN, server.ca);
  const url = new URL(server.url);

  return {
    store,
    server,
    dir,
    kubeconfig,
    enqueued,
    triggered,
    suspended,
    kubectl(args, opts = {}) {
      return new Promise((resolve) => {
        const child = execFile(
          KUBECTL,
          ['--kubeconfig', opts.kubeconfig ?? kubeconfig, '--cache-dir', join(dir, 'cache'), '--request-timeout=10s', ...args],
          { env: { HOME: dir, PATH: process.env.PATH ?? '/usr/bin:/bin', KUBECTL_INTERACTIVE_DELETE: 'false' }, timeout: opts.timeoutMs ?? 20_000 },
          (err, stdout, stderr) => {
            const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 124) : 0;
            resolve({ code, stdout, stderr });
          },
        );
        if (opts.input !== undefined) child.stdin?.end(opts.input);
        else child.stdin?.end();
      });
    },
    http(method, path, opts = {}) {
      return new Promise((resolve, reject) => {
        const headers: Record<string, string> = { ...(opts.headers ?? {}) };
        if (opts.token !== null) headers.Authorization = `Bearer ${opts.token ?? TOKEN}`;
        let payload: string | Buffer | undefined = opts.raw;
        if (opts.body !== undefined) {
          payload = JSON.stringify(opts.body);
          headers['Content-Type'] ??= 'application/json';
        }
        if (payload !== undefined) headers['Content-Length'] = String(Buffer.byteLength(payload));
        const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
          });
        });
        req.on('error', reject);
        req.end(payload);
      });
    },
    write(name, text) {
      const file = join(dir, name);
      writeFileSync(file, text);
      return file;
    },
    async close() {
      await server.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A valid ContainerJob manifest in YAML. */
export function jobYaml(name: string, opts: { image?: string; schedule?: string; labels?: Record<string, string>; extraSpec?: string; extraContainer?: string } = {}): string {
  const labels = opts.labels ? `\n  labels:\n${Object.entries(opts.labels).map(([k, v]) => `    ${k}: ${v}`).join('\n')}` : '';
  return `apiVersion: acictl.dev/v1
kind: ContainerJob
metadata:
  name: ${name}${labels}
spec:
  schedule: "${opts.schedule ?? '*/5 * * * *'}"${opts.extraSpec ? `\n  ${opts.extraSpec}` : ''}
  template:
    resourceGroup: rg
    location: eastus
    containers:
      - name: main
        image: ${opts.image ?? 'busybox:1.36'}${opts.extraContainer ? `\n        ${opts.extraContainer}` : ''}
        command: ["/bin/sh", "-c", "echo hello"]
        resources: {requests: {cpu: 1, memoryInGB: 1}}
`;
}

/** A valid job as a JSON object (for raw HTTP tests). */
export function jobObject(name: string, labels: Record<string, string> = {}): Record<string, any> {
  return {
    apiVersion: 'acictl.dev/v1',
    kind: 'ContainerJob',
    metadata: { name, labels },
    spec: {
      schedule: '@daily',
      template: { resourceGroup: 'rg', location: 'eastus', containers: [{ name: 'main', image: 'busybox', resources: { requests: { cpu: 1, memoryInGB: 1 } } }] },
    },
  };
}
