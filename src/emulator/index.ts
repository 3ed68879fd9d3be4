/**
 * A local ARM emulator for ACI container groups (DESIGN §6, ARM-FACTS.md): the real
 * `@azure/arm-containerinstance` client talks to it unchanged through `endpoint` + `tlsOptions.ca`.
 */
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createHttpServer, Server } from 'node:http';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Clock, systemClock } from '../api/clock';
import { loadOrCreateCert } from './cert';
import { Engine } from './engine';
import { FaultInjector, parseFaultSpec } from './faults';
import { TokenIssuer } from './identity';
import { ProcessRuntime, SimulateRuntime } from './runtime';
import { ArmServer, EmulatorStats } from './server';
import { KeyVaultData } from './keyvault';
import { AZURE_THROTTLING, ThrottlingConfig, Throttler } from './throttling';
import { resolveBehaviour, type EmulatorBehaviour } from './behaviour';

export type { EmulatorStats } from './server';
export { KeyVaultData } from './keyvault';
export type { ThrottlingConfig, BucketConfig, WindowLimit } from './throttling';
export { AZURE_THROTTLING } from './throttling';
export { parseFaultSpec } from './faults';
export { DEFAULT_BEHAVIOUR, PESSIMISTIC_BEHAVIOUR, parseIfNoneMatchMode, type EmulatorBehaviour, type IfNoneMatchMode } from './behaviour';

export const DEFAULT_SUBSCRIPTION_ID = '00000000-0000-4000-a000-0000000ac1c7';

export interface EmulatorOptions {
  host?: string;               // default 127.0.0.1 (loopback only)
  port?: number;               // default 0 = free port
  runtime?: 'process' | 'simulate';     // default process
  simulate?: { durationMs?: number; exitCode?: number };  // defaults 1000 ms, 0
  faults?: string;             // e.g. "429=0.2,500=0.05,503=0.05,reset=0.02,latency=0-200ms,seed=42"; per operation "put:429=0.5"
  throttling?: 'off' | 'azure' | ThrottlingConfig;   // default off
  pageSize?: number;           // list page size, default 100
  stateDir?: string;           // persist groups (and CA/cert) here so the emulator can outlive a controller
  subscriptionId?: string;     // default DEFAULT_SUBSCRIPTION_ID
  quotas?: { groupsPerRegion?: number; coresPerRegion?: number };   // default unlimited
  lroDelayMs?: number;         // how long a PUT/start/restart/delete stays in flight (default 200 ms)
  logger?: { info(o: object, msg?: string): void; warn(o: object, msg?: string): void };
  // ---- extensions (additive) ----
  /** Time for throttling windows and timestamps (timers stay real). Default: the system clock. */
  clock?: Clock;
  /** When given, only these resource groups exist (others → ResourceGroupNotFound); default: all but `missing-*`. */
  resourceGroups?: string[];
  /** Image substrings rejected at PUT with InaccessibleImage (default ['does-not-exist']). */
  inaccessibleImages?: string[];
  /** Image substrings whose deployment fails (LRO ends Failed, group Failed) (default ['fails-to-deploy']). */
  failingImages?: string[];
  /** First restart-policy back-off (doubles per restart, capped at 10 s). Default 100 ms. */
  restartBackoffMs?: number;
  /** Unverified ACI behaviours (behaviour.ts): If-None-Match honour|ignore|reject, list instance views, list delay. */
  behaviour?: Partial<EmulatorBehaviour>;
  /**
   * Which bearer tokens the ARM API accepts: 'issued' — only tokens this emulator's identity
   * endpoint issued (the controller's embedded emulator), and the client-credentials grant is
   * refused; 'any' (default) — any bearer token, for test clients with a fixed token.
   */
  auth?: 'issued' | 'any';
}

export interface RunningEmulator {
  endpoint: string;            // https://127.0.0.1:PORT
  ca: string;                  // PEM of the self-signed CA/cert (pass as tlsOptions.ca)
  caFile?: string;             // written to stateDir when given (else a temp file)
  subscriptionId: string;
  identity: { endpoint: string; header: string };   // managed-identity endpoint (IDENTITY_ENDPOINT/IDENTITY_HEADER)
  env: Record<string, string>; // ACICTL_ARM_ENDPOINT, ACICTL_ARM_CA, AZURE_SUBSCRIPTION_ID, IDENTITY_ENDPOINT, IDENTITY_HEADER
  stats(): EmulatorStats;      // same as GET /_emulator/stats
  keyVault: KeyVaultData;      // Key Vault secrets data plane at {endpoint}/_keyvault/{vault} (keyvault.ts)
  close(): Promise<void>;      // stops the server and kills every child process
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopback(host)) throw new Error(`the emulator binds loopback only; '${host}' is not a loopback address`);
  const clock = opts.clock ?? systemClock;
  const subscriptionId = opts.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID;
  const pageSize = opts.pageSize ?? 100;
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new Error(`invalid page size ${pageSize}`);
  const faults = new FaultInjector(parseFaultSpec(opts.faults));
  const behaviour = resolveBehaviour(opts.behaviour);
  const throttlingCfg = opts.throttling === 'azure' ? AZURE_THROTTLING : opts.throttling === 'off' || opts.throttling === undefined ? undefined : opts.throttling;

  const cert = await loadOrCreateCert(opts.stateDir, clock.now());
  let tmp: string | undefined;
  const scratch = () => (tmp ??= mkdtempSync(join(tmpdir(), 'acictl-emulator-')));
  let caFile = cert.certFile;
  if (!caFile) {
    caFile = join(scratch(), 'emulator-ca.pem');
    writeFileSync(caFile, cert.cert);
  }
  const workDir = opts.stateDir ? join(opts.stateDir, 'emulator-work') : join(scratch(), 'work');
  mkdirSync(workDir, { recursive: true });

  const processRuntime = opts.runtime === 'simulate' ? undefined : new ProcessRuntime();
  const runtime = processRuntime ?? new SimulateRuntime(opts.simulate);
  const engine = new Engine({
    subscriptionId,
    runtime,
    clock,
    lroDelayMs: opts.lroDelayMs ?? 200,
    restartBackoffMs: opts.restartBackoffMs ?? 100,
    maxRestartBackoffMs: 10_000,
    quotas: opts.quotas ?? {},
    resourceGroups: opts.resourceGroups,
    inaccessibleImages: opts.inaccessibleImages ?? ['does-not-exist'],
    failingImages: opts.failingImages ?? ['fails-to-deploy'],
    stateDir: opts.stateDir,
    workDir,
    logger: opts.logger,
    behaviour,
  });

  let endpoint = '';
  const identityHeader = randomBytes(24).toString('hex');
  const tokens = new TokenIssuer('https://sts.emulator.acictl.dev/', () => clock.now());
  const arm = new ArmServer({
    engine,
    faults,
    throttler: new Throttler(throttlingCfg, clock.now()),
    clock,
    subscriptionId,
    pageSize,
    tokens,
    auth: opts.auth ?? 'any',
    identityHeader,
    endpoint: () => endpoint,
    logger: opts.logger,
  });
  const keyVault = new KeyVaultData(() => endpoint, () => clock.now(), { mode: opts.auth ?? 'any', tokens });
  const https = createHttpsServer({ cert: cert.cert, key: cert.key }, (req, res) => (keyVault.handles(req) ? keyVault.handle(req, res) : arm.handle(req, res)));
  const identityServer = createHttpServer(arm.identityHandle);
  let port: number;
  let idPort: number;
  try {
    port = await listen(https, opts.port ?? 0, host);
    idPort = await listen(identityServer, 0, host);
  } catch (err) {
    engine.close();
    https.close();
    identityServer.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  endpoint = `https://${urlHost(host)}:${port}`;
  const identity = { endpoint: `http://${urlHost(host)}:${idPort}/msi/token`, header: identityHeader };
  opts.logger?.info({ endpoint, identityEndpoint: identity.endpoint, runtime: opts.runtime ?? 'process', groups: engine.groupCount() }, 'ARM emulator listening');

  let closing: Promise<void> | undefined;
  return {
    endpoint,
    ca: cert.cert,
    caFile,
    subscriptionId,
    identity,
    env: {
      ACICTL_ARM_ENDPOINT: endpoint,
      ACICTL_ARM_CA: caFile,
      AZURE_SUBSCRIPTION_ID: subscriptionId,
      IDENTITY_ENDPOINT: identity.endpoint,
      IDENTITY_HEADER: identityHeader,
    },
    stats: () => arm.stats(),
    keyVault,
    close: () =>
      (closing ??= (async () => {
        engine.close();
        processRuntime?.killAll();
        await Promise.all([closeServer(https as unknown as Server), closeServer(identityServer)]);
        if (tmp) rmSync(tmp, { recursive: true, force: true });
      })()),
  };
}
