/**
 * Where the controller is and how to authenticate (DESIGN §4). Precedence: flags, then the
 * environment (ACICTL_SERVER / ACICTL_TOKEN), then the local controller's kubeconfig in the state
 * dir. A token is taken from the kubeconfig only for the server named in that same kubeconfig, so
 * a local token is never sent to some other server.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type * as Yaml from 'yaml';
import { CliError, EXIT } from '../context';

/** The global options every client command accepts. */
export interface GlobalOptions {
  server?: string;
  token?: string;
  stateDir?: string;
}

export interface ServerTarget {
  /** Base URL, without a trailing slash. */
  server: string;
  token?: string;
  /** PEM CA bundle for an https server with a private certificate (from the kubeconfig). */
  ca?: string;
  insecureSkipTlsVerify?: boolean;
  /** Where the address came from, for error messages. */
  source: 'flag' | 'env' | 'kubeconfig';
  /** The kubeconfig consulted (when one was). */
  kubeconfig?: string;
}

export const DEFAULT_STATE_DIR = '.acictl';

export function stateDirOf(opts: GlobalOptions, env: Record<string, string | undefined>, cwd: string): string {
  return path.resolve(cwd, opts.stateDir ?? env.ACICTL_STATE_DIR ?? DEFAULT_STATE_DIR);
}

interface KubeconfigValues {
  server?: string;
  token?: string;
  ca?: string;
  insecure?: boolean;
}

/** Reads `clusters[0].cluster.server` and `users[0].user.token` from a kubeconfig; undefined when absent. */
export function readKubeconfig(file: string): KubeconfigValues | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`, EXIT.UNREACHABLE);
  }
  let doc: unknown;
  try {
    // The controller writes its kubeconfig as JSON (valid YAML, read by kubectl alike); only a
    // kubeconfig in YAML form loads the `yaml` parser (≈ 60 ms of every CLI call otherwise).
    doc = parseKubeconfigText(text);
  } catch (err) {
    throw new CliError(`${file} is not valid YAML: ${(err as Error).message}`, EXIT.UNREACHABLE);
  }
  const d = (doc ?? {}) as {
    clusters?: { cluster?: { server?: unknown; 'certificate-authority-data'?: unknown; 'insecure-skip-tls-verify'?: unknown } }[];
    users?: { user?: { token?: unknown } }[];
  };
  const cluster = d.clusters?.[0]?.cluster;
  const user = d.users?.[0]?.user;
  const caData = cluster?.['certificate-authority-data'];
  return {
    server: typeof cluster?.server === 'string' ? cluster.server : undefined,
    token: typeof user?.token === 'string' ? user.token : undefined,
    ca: typeof caData === 'string' ? Buffer.from(caData, 'base64').toString('utf8') : undefined,
    insecure: cluster?.['insecure-skip-tls-verify'] === true,
  };
}

function parseKubeconfigText(text: string): unknown {
  if (/^\s*\{/.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      /* not JSON after all: the YAML parser decides */
    }
  }
  return (require('yaml') as typeof Yaml).parse(text) as unknown;
}

function normaliseServer(raw: string, origin: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError(`invalid server address "${raw}" (from ${origin}); expected e.g. http://127.0.0.1:8443`, EXIT.USAGE);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`invalid server address "${raw}" (from ${origin}): only http and https are supported`, EXIT.USAGE);
  }
  return url.toString().replace(/\/+$/, '');
}

/** Resolves the controller address and token; throws a CliError (exit 3) when none is found. */
export function resolveTarget(opts: GlobalOptions, env: Record<string, string | undefined>, cwd: string): ServerTarget {
  const flagServer = opts.server;
  const envServer = env.ACICTL_SERVER || undefined;
  const explicitToken = opts.token ?? (env.ACICTL_TOKEN || undefined);
  if (flagServer) return { server: normaliseServer(flagServer, '--server'), token: explicitToken, source: 'flag' };
  if (envServer) return { server: normaliseServer(envServer, 'ACICTL_SERVER'), token: explicitToken, source: 'env' };

  const stateDir = stateDirOf(opts, env, cwd);
  const kubeconfig = path.join(stateDir, 'kubeconfig');
  const kc = readKubeconfig(kubeconfig);
  if (!kc?.server) {
    throw new CliError(
      `no controller found: ${kubeconfig} does not exist; start one with "acictl controller" in this directory, ` +
        `or pass --server URL --token TOKEN (or set ACICTL_SERVER / ACICTL_TOKEN)`,
      EXIT.UNREACHABLE,
    );
  }
  return {
    server: normaliseServer(kc.server, kubeconfig),
    token: explicitToken ?? kc.token,
    ca: kc.ca,
    insecureSkipTlsVerify: kc.insecure,
    source: 'kubeconfig',
    kubeconfig,
  };
}
