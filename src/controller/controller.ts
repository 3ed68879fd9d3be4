/**
 * The controller process: wires the store, the manifest watcher, the ACI adapter (or the embedded
 * emulator), the observed-state cache, the work queue, the reconciler and the HTTP API together.
 * Nothing here decides anything: decisions are the planner's, effects the reconciler's.
 */
import { operatorVerbs } from './operator';
import { excludeCycles } from './dependencies';
import { mkdirSync, readFileSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createSecretKey, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';

import { systemClock, type Clock } from '../api/clock';
import { manualRunId, TAG_ATTEMPT, TAG_JOB, TAG_RUN, TAG_SPEC_HASH } from '../api/names';
import type { ResolvedJob } from '../api/types';
import type { ObservedGroup } from '../api/observed';
import { newSchedulerState, type SchedulerState } from '../api/runs';
import { validateObject } from '../manifest/validate';
import { SqliteStore } from '../store/sqlite';
import { PostgresStore, isPostgresUrl, withFence } from '../store/postgres';
import { LeaderElector, leaseTimings } from './leader';
import { SQLITE_LEASES, leaseList } from './lease-view';
import type { Store, StoredJob } from '../store/types';
import type { ContainerGroups, Scope } from '../aci/types';
import { AciContainerGroups } from '../aci/adapter';
import { createCredential } from '../aci/credentials';
import type { RateLimits } from '../aci/rate-limit';
import { collectSecretRefs, envFileSecretSource, prefetchSecrets, type SecretSource } from '../aci/secrets';
import { SecretAccess } from '../aci/secret-access';
import { keyVaultReader } from '../aci/keyvault';
import { admission, SourcePolicies } from './admission';
import { specHash, secretDigest } from '../aci/hash';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../emulator';
import { WorkQueue } from './workqueue';
import { ManifestWatcher } from './watcher';
import { PersistentValidationCache } from '../manifest/persistent-cache';
import { SourceSync } from './source-sync';
import { GitSources, type GitSourceSpec } from './git-source';
import { gitWebhookHandler } from './git-webhook';
import { buildStartupSummary, type StartupSummary, type SummaryFileError } from './startup-summary';
import { ObservedCache } from './observed-cache';
import { Reconciler } from './reconciler';
import { ControllerMetrics } from './metrics';
import { LogHub } from './log-hub';
import { startApiServer } from '../apiserver/server';
import { writeKubeconfig } from '../apiserver/kubeconfig';
import { localClientUrl } from '../apiserver/listen-policy';
import { loadOrCreateToken } from '../apiserver/token';
import { loadOrCreateTls } from '../apiserver/tls';
import { WebUi } from '../ui/server';
import { setUpNotifications } from '../notify';

export interface ControllerOptions {
  /** A shared store URL (postgres://…); default: SQLite `<stateDir>/acictl.db`. */
  store?: string;
  manifests: string[];
  stateDir: string;
  listen: { host: string; port: number };
  /** Reconcile every job once, then stop. */
  once: boolean;
  /** Let an empty manifests snapshot prune every directory job. */
  allowEmpty: boolean;
  /** Start the local ARM emulator in-process (with these options) instead of talking to Azure. */
  emulator: EmulatorOptions | null;
  arm: {
    subscriptionId?: string;
    endpoint?: string;
    /** PEM of the CA to trust for the ARM endpoint (a standalone emulator). */
    ca?: string;
    credential?: 'default' | 'emulator' | 'clientSecret' | 'managedIdentity';
    /** Client-side ARM budget (default: the documented Azure limits). */
    limits?: RateLimits;
  };
  /** How often owned groups are listed again (observed-state resync). */
  resyncIntervalMs: number;
  concurrency: number;
  /**
   * Which secret sources manifests may name (src/aci/secret-access.ts): allowed variable prefixes
   * (default ACICTL_SECRET_) and names, and the secret directories. The state dir is never one.
   */
  secrets?: { envPrefixes?: string[]; envNames?: string[]; dirs?: string[] };
  /** Allowed Key Vaults (`--key-vault NAME[=URL]`); URL default https://NAME.vault.azure.net (the embedded emulator's with --emulator). */
  keyVaults?: { name: string; url?: string }[];
  /** Per-source policy file (src/controller/admission.ts): allowed resource groups, locations, … */
  policyFile?: string;
  /** The controller's environment: secret references and Azure credentials are read from it. */
  env: Record<string, string | undefined>;
  logger: Logger;
  clock?: Clock;
  /** `--git` sources (src/controller/git-source.ts): each is a manifests root the controller fetches itself. */
  git?: GitSourceSpec[];
  /** Apply a ref that moved to a non-descendant commit (force-push) instead of holding it. */
  gitAllowForcePush?: boolean;
  /** The `POST /hooks/git` HMAC secret, read per request; undefined = the hook is off. */
  gitWebhookSecret?: () => string | undefined;
  /** Serve the web UI at / on the API port (default true; `--ui=false`). */
  ui?: boolean;
}

export interface RunningController {
  url: string;
  instanceId: string;
  stateDir: string;
  store: Store;
  emulator: RunningEmulator | null;
  /** Resolves when every queued key has been processed once (used by --once and tests). */
  whenIdle(): Promise<void>;
  /** Whether every job is Ready (exit status of --once). */
  allReady(): Promise<boolean>;
  /** The start-up summary (startup-summary.ts) of the jobs as they are now. */
  summary(): Promise<StartupSummary>;
  stop(): Promise<void>;
}

/** How long SIGTERM waits for in-flight reconciles before aborting their ARM calls. */
const SHUTDOWN_GRACE_MS = 5_000;

function loadOrCreateInstanceId(stateDir: string): string {
  const file = join(stateDir, 'instance-id');
  if (existsSync(file)) {
    const id = readFileSync(file, 'utf8').trim();
    if (id) return id;
  }
  const id = `acictl-${randomBytes(4).toString('hex')}`;
  writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}

function scopeKey(s: Scope): string {
  return `${s.subscriptionId}/${s.resourceGroup}`;
}

export async function startController(opts: ControllerOptions): Promise<RunningController> {
  const log = opts.logger;
  const clock = opts.clock ?? systemClock;
  const stateDir = resolve(opts.stateDir);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  try {
    chmodSync(stateDir, 0o700);
  } catch {
    /* not ours to change; the token file itself is 0600 */
  }

  const metrics = new ControllerMetrics();
  // The store: embedded SQLite in the state dir (default), or PostgreSQL shared by replicas.
  const pgStore = opts.store && isPostgresUrl(opts.store)
    ? await PostgresStore.open(opts.store, {
        onFeedError: (err) => log.warn({ err: err.message }, 'store: reading other replicas\' changes failed; retrying'),
        onFencingRefusal: (what, token) => {
          metrics.fencingRefusals.inc({ what });
          log.warn({ what, token }, what === 'arm' ? 'fencing: the database refused the check before an ARM call (stale token): the call is not made' : 'fencing: the database refused a write (stale token)');
        },
        onResync: (rv) => {
          metrics.feedResyncs.inc();
          log.warn({ resourceVersion: rv }, 'store: changes were pruned before this replica read them; watches and caches relist');
        },
      })
    : null;
  if (opts.store && !pgStore) throw new Error(`--store: unsupported store URL (expected postgres://USER@HOST:PORT/DB)`);
  const store: Store =
    pgStore ??
    SqliteStore.open(join(stateDir, 'acictl.db'), {
      // The reconciler's last stretches commit with the next write (see Reconciler.drive); one that
      // fails on its own turn is lost like a crash there, and redone by the next reconcile.
      onDeferredCommitError: (err) => log.error({ err: err.message }, 'store: a deferred commit failed; those writes are redone by the next reconcile'),
    });
  // What has been started so far, undone in reverse if start-up fails half-way (a port in use, an
  // unreachable ARM endpoint): a failed start must not leave an emulator or a watcher running.
  const undo: (() => unknown)[] = [() => store.close()];
  try {
  // Replicas on one database are one logical controller: they share the instance id that tags groups.
  const instanceId = pgStore ? await pgStore.getOrCreateSetting('instance-id', () => loadOrCreateInstanceId(stateDir)) : loadOrCreateInstanceId(stateDir);
  const hub = new LogHub();

  // ---- ARM target -------------------------------------------------------------------------------
  let emulator: RunningEmulator | null = null;
  let armEnv: Record<string, string | undefined> = opts.env;
  let endpoint = opts.arm.endpoint;
  let ca = opts.arm.ca;
  let subscriptionId = opts.arm.subscriptionId;
  let credentialKind = opts.arm.credential ?? 'default';
  if (opts.emulator) {
    emulator = await startEmulator({
      // only the tokens its identity endpoint gave this controller start commands (issue 20)
      auth: 'issued',
      ...opts.emulator,
      stateDir: opts.emulator.stateDir ?? join(stateDir, 'emulator'),
      // The embedded emulator's own chatter is debug level: the controller reports what matters.
      logger: opts.emulator.logger ?? quiet(log.child({ component: 'emulator' })),
    });
    const started = emulator;
    undo.push(() => started.close());
    endpoint = emulator.endpoint;
    ca = emulator.ca;
    subscriptionId = subscriptionId ?? emulator.subscriptionId;
    armEnv = { ...opts.env, ...emulator.env };
    credentialKind = 'emulator';
  }
  if (!subscriptionId) {
    throw new Error('no subscription: pass --subscription or set AZURE_SUBSCRIPTION_ID (or use --emulator)');
  }
  const defaultSubscriptionId = subscriptionId;
  // The state dir holds the API token, the TLS key, the store (with the spec-hash HMAC key) and the
  // emulator's state: never a secret source, whatever the flags.
  const secretAccess = new SecretAccess({ ...opts.secrets, secretsDirs: opts.secrets?.dirs, forbiddenPaths: [stateDir], env: opts.env, keyVaults: (opts.keyVaults ?? []).map((v) => v.name) });
  const admit = admission(secretAccess, opts.policyFile ? SourcePolicies.load(opts.policyFile) : null);
  const credential = createCredential({ kind: credentialKind, env: armEnv });
  const keyVaultUrls = new Map((opts.keyVaults ?? []).map((v) => [v.name, v.url ?? (emulator ? emulator.keyVault.vaultUrl(v.name) : `https://${v.name}.vault.azure.net`)] as const));
  const secrets: SecretSource = envFileSecretSource(opts.env, {
    access: secretAccess,
    keyVault: keyVaultUrls.size > 0 ? keyVaultReader({ vaults: keyVaultUrls, credential, ca }) : undefined,
  });
  const groups: ContainerGroups = new AciContainerGroups({
    subscriptionId: defaultSubscriptionId,
    instanceId,
    credential,
    endpoint,
    ca,
    secrets,
    limits: opts.arm.limits,
    logger: log.child({ component: 'aci' }),
    onCall: (op: string, outcome: string, ms: number) => {
      metrics.armCalls.inc({ operation: op, outcome });
      metrics.armCallDuration.observe({ operation: op }, ms / 1000);
    },
  });

  // ---- spec hash: keyed digest of secret values, so a rotated secret is a change ------------------
  const hashKey = createSecretKey(await store.getOrCreateSecret('spec-hash-key')); // a KeyObject made once: HMACs under it are cheap
  const digestOf = (job: ResolvedJob, values: Parameters<typeof secretDigest>[1]): string => {
    let digest: string;
    try {
      digest = secretDigest(job.template, values, hashKey);
    } catch {
      digest = 'unresolved'; // the create will fail with a clear SecretMissing error
    }
    return specHash(job.template, { secretDigest: digest });
  };
  // Synchronous for a job without secrets; otherwise its secrets are read asynchronously (bounded,
  // never blocking the event loop: src/aci/secret-file.ts).
  const specHashOf = (job: ResolvedJob): string | Promise<string> => {
    if (collectSecretRefs(job.template).length === 0) return digestOf(job, { resolve: () => '' });
    return prefetchSecrets(job.template, secrets).then((values) => digestOf(job, values));
  };

  // ---- observed state ---------------------------------------------------------------------------
  const observed = new ObservedCache();
  const scopeOf = (job: StoredJob): Scope | null => {
    const t = job.spec?.template;
    if (!t?.resourceGroup) return null;
    return { subscriptionId: t.subscriptionId ?? defaultSubscriptionId, resourceGroup: t.resourceGroup };
  };
  const knownScopes = new Map<string, Scope>();
  const listedScopes = new Set<string>();
  const collectScopes = async (): Promise<Scope[]> => {
    await store.forEachJob((j) => {
      const s = scopeOf(j);
      if (s) knownScopes.set(scopeKey(s), s);
    });
    return [...knownScopes.values()];
  };

  const queue = new WorkQueue({
    concurrency: opts.concurrency,
    onError: (key, err, requeues) => log.warn({ job: key, requeues, err: errorSummary(err) }, 'reconcile failed; retrying with backoff'),
  });

  /** Last listing per scope: group name → job and a signature of what the planner reads from a list item. */
  const lastListing = new Map<string, Map<string, { job: string; sig: string }>>();

  /** List a scope; returns the jobs whose groups appeared, vanished or changed since the last listing. */
  async function resyncScope(scope: Scope): Promise<Set<string>> {
    const owned: ObservedGroup[] = await groups.listOwned(scope);
    observed.replaceScope(scope, owned);
    const key = scopeKey(scope);
    listedScopes.add(key);
    const before = lastListing.get(key) ?? new Map<string, { job: string; sig: string }>();
    const after = new Map<string, { job: string; sig: string }>();
    const changed = new Set<string>();
    for (const g of owned) {
      const job = g.tags[TAG_JOB] ?? '';
      const sig = [g.provisioningState, g.tags[TAG_RUN], g.tags[TAG_ATTEMPT], g.tags[TAG_SPEC_HASH], g.state ?? ''].join('|');
      after.set(g.name, { job, sig });
      if (before.get(g.name)?.sig !== sig) changed.add(job);
    }
    for (const [name, b] of before) if (!after.has(name)) changed.add(b.job);
    lastListing.set(key, after);
    changed.delete('');
    return changed;
  }

  /**
   * List every scope. Only jobs whose observed groups changed are reconciled again (each job's
   * own timers cover its schedule and polling), so a resync of 10,000 idle jobs costs the list
   * pages and nothing else. `all` re-queues every job (start-up).
   */
  async function resyncAll(all: boolean): Promise<void> {
    const scopes = [...knownScopes.values()];
    const changed = new Set<string>();
    await Promise.all(
      scopes.map((s) =>
        resyncScope(s).then(
          (names) => names.forEach((n) => changed.add(n)),
          (err) => log.warn({ scope: scopeKey(s), err: errorSummary(err) }, 'listing owned container groups failed'),
        ),
      ),
    );
    const names = await store.listJobNames();
    if (all) for (const name of names) queue.add(name);
    for (const name of changed) queue.add(name);
    const known = new Set(names); // one read, not one per observed job
    for (const name of observed.jobNames()) if (!known.has(name)) queue.add(name); // orphans
  }

  const noteScopeOf = async (name: string): Promise<void> => {
    const job = await store.getJob(name);
    const s = job ? scopeOf(job) : null;
    if (s) knownScopes.set(scopeKey(s), s);
  };

  // ---- notifications (spec.notify): outbox rows from the reconciler, a dispatcher of their own ---
  const notifications = setUpNotifications({
    store,
    secrets,
    now: () => clock.now(),
    logger: log.child({ component: 'notify' }),
    registry: metrics.registry,
    env: opts.env,
    gate: () => {
      if (!elector) return { run: (fn) => fn() };
      const t = elector.current();
      return t ? { run: (fn) => withFence(t.token, fn) } : null;
    },
  });

  // ---- reconciler -------------------------------------------------------------------------------
  const reconciler = new Reconciler({
    notify: notifications.hooks,
    store,
    groups,
    observed,
    clock,
    instanceId,
    defaultSubscriptionId,
    specHashOf,
    logger: log.child({ component: 'reconciler' }),
    onLogLine: (f: { job: string; run: string; attempt: number; container: string; multiContainer?: boolean }, line: string) => {
      log.info({ job: f.job, run: f.run, attempt: f.attempt, container: f.container, stream: 'container' }, line);
      hub.publish(f.run, f.attempt, f.container, line, Boolean(f.multiContainer));
    },
    isFollowed: (run: string, attempt: number) => hub.hasFollowers(run, attempt),
    wake: (name: string) => queue.add(name),
    metrics: {
      runFinished: (_job: string, outcome: string) => metrics.runs.inc({ outcome }),
      missedSlots: (_job: string, count: number) => metrics.missedSlots.inc(count),
      operatorAction: (_job: string, verb: string) => metrics.operatorActions.inc({ verb }),
      scheduleLag: (_job: string, seconds: number) => metrics.scheduleLag.observe(seconds),
    },
  });

  // With a shared store only the lease holder reconciles, and its store writes and ARM calls carry
  // its fencing token (src/controller/leader.ts, src/store/postgres.ts); followers drop queued keys
  // (a new leader queues every job again) and serve the API.
  const elector = pgStore ? new LeaderElector(pgStore.db, `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`, leaseTimings(opts.env.ACICTL_LEASE), {
    onStart: async () => {
      metrics.leader.set(1);
      metrics.leaseTransitions.inc();
      await collectScopes(); // the new leader lists its groups and adopts in-flight attempts, as a restart does
      await resyncAll(true);
    },
    onStop: () => {
      metrics.leader.set(0);
      metrics.leaseTransitions.inc();
    },
    log: log.child({ component: 'leader' }),
  }) : null;
  // A replica queues the jobs it writes itself. What other replicas write reaches the leader
  // through the change feed (a follower's API write, a manifest pass a follower applied first),
  // and a follower's trigger or suspend (scheduler state: no change row) through a wake-up.
  if (pgStore && elector) {
    const offChange = store.onChange((c) => {
      if (c.remote && c.resource === 'containerjobs' && elector.isLeader()) queue.add(c.name);
    });
    const offWake = pgStore.onWake((name) => {
      if (!elector.isLeader()) return;
      if (name) queue.add(name);
      // the LISTEN connection was re-opened: wake-ups sent meanwhile are lost, so every job is looked at
      else void store.listJobNames().then((names) => names.forEach((n) => queue.add(n)), () => undefined);
    });
    undo.push(offChange, offWake);
  }
  const enqueue = (name: string): void => {
    queue.add(name);
    if (pgStore && elector && !elector.isLeader()) void pgStore.wake(name).catch((err) => log.warn({ job: name, err: errorSummary(err) }, 'waking the leader failed'));
  };

  const handler = async (key: string, signal: AbortSignal) => {
    const term = elector?.current() ?? null;
    if (elector && !term) return { requeueAfterMs: null };
    const end = metrics.reconcileDuration.startTimer();
    try {
      const job = await store.getJob(key);
      let current: { stored: StoredJob | undefined } | undefined = { stored: job };
      if (job) {
        const s = scopeOf(job);
        if (s && !listedScopes.has(scopeKey(s))) {
          knownScopes.set(scopeKey(s), s);
          await resyncScope(s); // never plan against a scope we have not listed (crash safety)
          current = undefined; // other work ran meanwhile: the reconciler reads the job again
        }
      }
      const result = term
        ? await withFence(term.token, () => reconciler.reconcile(key, AbortSignal.any([signal, term.signal]), current))
        : await reconciler.reconcile(key, signal, current);
      end({ result: 'ok' });
      return result;
    } catch (err) {
      end({ result: 'error' });
      throw err;
    } finally {
      metrics.queueDepth.set(queue.len());
    }
  };

  // ---- manifests --------------------------------------------------------------------------------
  let watcher: ManifestWatcher | null = null;
  let validationCache: PersistentValidationCache | null = null;
  // Git sources are fetched (once, awaited) before the watcher starts, and read by it like directories.
  const git = opts.git && opts.git.length > 0
    ? new GitSources({
        stateDir,
        specs: opts.git,
        env: opts.env,
        allowForcePush: opts.gitAllowForcePush,
        logger: log.child({ component: 'git' }),
        onCheckout: () => watcher?.trigger('git checkout'),
      })
    : null;
  if (git) {
    for (const s of git.sources) admit.policies?.bindGitRoot(s.spec.url, s.root);
    undo.push(() => git.close());
    git.registerMetrics(metrics.registry);
    await git.start();
  }
  const roots = [...opts.manifests.map((m) => resolve(m)), ...(git?.roots() ?? [])];
  let firstSnapshotDone = roots.length === 0;
  let sourceErrors: SummaryFileError[] = [];
  if (roots.length > 0) {
    // Kept across passes: a pass then reads and compares only the jobs whose file or stored object
    // changed, not all of them (see SourceSync).
    const sourceSync = new SourceSync(store);
    undo.push(() => sourceSync.close());
    // Validation results by content, kept in the state dir across restarts: a restart over
    // unchanged files parses none of them. A file of its own, not the store: it can be deleted at
    // any time, and a cache that cannot be used only logs a warning (the watcher then validates
    // everything, as without it).
    const cache = PersistentValidationCache.open({ file: join(stateDir, 'validation-cache.db'), logger: log.child({ component: 'validation-cache' }) });
    validationCache = cache;
    undo.push(() => cache.close());
    watcher = new ManifestWatcher({
      roots,
      logger: log.child({ component: 'watcher' }),
      admit: (job, file) => admit.check(job, { file }),
      cache: validationCache,
      onSnapshot: async (read) => {
        const snapshot = excludeCycles(read); // a dependency cycle across files: Invalid at every job on it
        const result = await sourceSync.apply(snapshot, { allowEmpty: opts.allowEmpty, now: clock.now() });
        for (const d of snapshot.roots.flatMap((r) => r.diagnostics)) {
          const where = `${d.file}:${d.line}:${d.column}`;
          if (d.severity === 'warning') log.warn({ file: d.file, line: d.line, column: d.column, pointer: d.pointer }, `${where}: warning: ${d.message}`);
          else log.error({ file: d.file, line: d.line, column: d.column, pointer: d.pointer }, `${where}: error: ${d.message}`);
        }
        for (const c of result.conflicts) log.error({ file: c.file, line: c.line, job: c.name }, c.message);
        sourceErrors = snapshot.roots.flatMap((r) => r.diagnostics).filter((d) => d.severity !== 'warning').map((d) => ({ file: d.file, line: d.line, column: d.column, message: d.message }));
        const names = new Set([...result.changed, ...result.pruned, ...result.invalid]);
        // the scopes of changed jobs: one scan when many changed (a first pass), else a read each
        if (result.changed.length > 64) await collectScopes();
        else for (const n of result.changed) await noteScopeOf(n);
        if (firstSnapshotDone) for (const n of names) queue.add(n);
        firstSnapshotDone = true;
        // Every pass reports each job whose source is invalid, so the count needs no store scan.
        metrics.invalidJobs.set(new Set(result.invalid).size);
        if (git) void git.noteApplied(snapshot).catch((err) => log.warn({ err: errorSummary(err) }, 'git: recording the applied revision failed'));
      },
    });
    const w = watcher;
    undo.push(() => w.close());
    await watcher.start();
  }

  // First listing of every scope before the first reconcile: a crash-restarted controller must see
  // the groups it created before it plans anything.
  await collectScopes();
  await resyncAll(true);
  metrics.jobs.set((await store.listJobNames()).length);
  queue.start(handler);
  undo.push(() => queue.shutdown({ drain: false }));
  if (elector) {
    elector.start();
    undo.push(() => elector.stop());
  }
  if (!opts.once) {
    notifications.dispatcher.start();
    undo.push(() => notifications.dispatcher.stop());
  }

  const resyncTimer = opts.once
    ? null
    : setInterval(() => {
        if (elector && !elector.isLeader()) return;
        void resyncAll(false).catch((err) => log.warn({ err: errorSummary(err) }, 'resync failed'));
      }, opts.resyncIntervalMs);
  resyncTimer?.unref();
  undo.push(() => resyncTimer && clearInterval(resyncTimer));

  // ---- API --------------------------------------------------------------------------------------
  const token = loadOrCreateToken(stateDir);
  // kubectl sends a bearer token only over TLS, so the API port speaks both HTTPS and HTTP.
  const tls = await loadOrCreateTls(stateDir, clock.now());
  let ready = false;
  const ui = opts.ui === false || opts.once ? undefined : new WebUi({ store, token, now: () => clock.now() });
  const api = await startApiServer(
    {
      store,
      token,
      clock,
      logger: log.child({ component: 'api' }),
      validate: (obj: unknown, o: { strict: boolean }) => {
        const v = validateObject(obj, o);
        if (!v.ok) return v;
        const problems = admit.check(v.job, { api: true });
        return problems.length > 0 ? { ok: false as const, errors: problems } : v;
      },
      enqueue: (name: string) => {
        // the reconcile lists an unlisted scope itself; noting it here keeps it in the periodic resync
        void noteScopeOf(name).catch(() => undefined);
        enqueue(name);
      },
      trigger: async (name: string) => {
        const now = clock.now();
        const id = manualRunId(name, now);
        await store.transaction(async () => {
          const st: SchedulerState = (await store.getSchedulerState(name)) ?? newSchedulerState(now, '');
          if (!st.pendingManual.some((p) => p.id === id)) st.pendingManual.push({ id, requestedAt: now });
          await store.putSchedulerState(name, st);
        });
        enqueue(name);
        return { run: id };
      },
      setSuspended: async (name: string, suspended: boolean | null) => {
        const now = clock.now();
        await store.transaction(async () => {
          const st: SchedulerState = (await store.getSchedulerState(name)) ?? newSchedulerState(now, '');
          st.suspendOverride = suspended;
          await store.putSchedulerState(name, st);
        });
        enqueue(name);
      },
      operator: operatorVerbs({ store, clock, enqueue }),
      logs: (run: string, attempt: number | undefined, follow: boolean, signal: AbortSignal) =>
        streamLogs({ store, hub, groups, defaultSubscriptionId, run, attempt, follow, signal }),
      metrics: async () => {
        // at scrape time, not on every pass; a store out of reach or stalled keeps the last count
        // (the scrape still answers, within a second)
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          store.listJobNames().then((names) => metrics.jobs.set(names.length), () => undefined),
          new Promise<void>((r) => (timer = setTimeout(r, 1000))),
        ]).finally(() => clearTimeout(timer));
        return metrics.render();
      },
      ready: () => ready && (!elector || elector.reachable()),
      ...(elector
        ? {
            role: () => ({
              role: elector.isLeader() ? ('leader' as const) : ('follower' as const),
              ...(elector.reachable() ? {} : { reason: `database unreachable for ${Math.round(elector.sinceContactMs() / 1000)} s` }),
            }),
            leases: () => leaseList(pgStore!.db, elector),
          }
        : { leases: async () => SQLITE_LEASES }),
      sources: () => [...opts.manifests.map((m) => ({ name: resolve(m), kind: 'directory', root: resolve(m) })), ...(git?.status() ?? [])],
      hooks: gitWebhookHandler({
        secret: () => opts.gitWebhookSecret?.(),
        trigger: () => void git?.triggerAll(),
      }),
      tls,
      ...(ui ? { ui } : {}),
    },
    opts.listen,
  );
  writeKubeconfig(join(stateDir, 'kubeconfig'), localClientUrl(api.httpsUrl ?? api.url), token, api.ca);
  notifications.setBaseUrl(localClientUrl(api.url));
  ready = true;
  const jobCount = (await store.listJobNames()).length;
  log.info(
    { url: api.url, httpsUrl: api.httpsUrl, instanceId, stateDir, kubeconfig: join(stateDir, 'kubeconfig'), emulator: emulator?.endpoint, jobs: jobCount },
    `controller listening on ${api.url} (KUBECONFIG=${join(stateDir, 'kubeconfig')}); try: npx acictl get jobs`,
  );
  // a single-use login code, not the API token, so the log never holds the token itself
  if (ui && api.httpsUrl) {
    const loginUrl = ui.loginLink(api.httpsUrl);
    log.info({ loginUrl }, `web UI: open ${loginUrl}`);
  }

  let stopped = false;
  return {
    url: api.url,
    instanceId,
    stateDir,
    store,
    emulator,
    whenIdle: () => queue.whenIdle(),
    summary: async () => {
      const jobs: StoredJob[] = [];
      await store.forEachJob((j) => void jobs.push(j));
      return buildStartupSummary({ jobs, sourceErrors, now: clock.now(), apiUrl: api.url, httpsUrl: api.httpsUrl, kubeconfig: join(stateDir, 'kubeconfig'), ...(ui && api.httpsUrl ? { uiLoginUrl: ui.loginLink(localClientUrl(api.httpsUrl)) } : {}) });
    },
    allReady: async () => {
      let all = true;
      await store.forEachJob((j) => {
        if (!j.deletionTimestamp && !j.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) all = false;
      });
      return all;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      ready = false;
      await elector?.stop();
      await notifications.dispatcher.stop();
      if (resyncTimer) clearInterval(resyncTimer);
      await git?.close();
      await watcher?.close();
      validationCache?.close();
      // Drain in-flight reconciles, but do not wait out a long rate-limit wait: after the grace
      // period their calls are aborted (a run is never touched by stopping; state is level-based).
      const grace = setTimeout(() => void queue.shutdown({ drain: false }), SHUTDOWN_GRACE_MS);
      await queue.shutdown({ drain: true });
      clearTimeout(grace);
      await api.close();
      await emulator?.close();
      await store.close();
    },
  };
  } catch (err) {
    for (const u of undo.reverse()) {
      try {
        await u();
      } catch {
        /* best effort: the start-up error is the one to report */
      }
    }
    throw err;
  }
}

function quiet(l: Logger): { info(o: object, msg?: string): void; warn(o: object, msg?: string): void } {
  return { info: (o, msg) => l.debug(o, msg), warn: (o, msg) => l.warn(o, msg) };
}

function errorSummary(err: unknown): { message: string; kind?: string; code?: string } {
  if (err && typeof err === 'object') {
    const e = err as { message?: string; kind?: string; code?: string };
    return { message: e.message ?? String(err), kind: e.kind, code: e.code };
  }
  return { message: String(err) };
}

/** Archived logs of a finished attempt, or the live lines of a running one (followed until it ends). */
async function* streamLogs(a: {
  store: Store;
  hub: LogHub;
  groups: ContainerGroups;
  defaultSubscriptionId: string;
  run: string;
  attempt: number | undefined;
  follow: boolean;
  signal: AbortSignal;
}): AsyncIterable<string> {
  const run = await a.store.getRun(a.run);
  if (!run) throw Object.assign(new Error(`run ${a.run} not found`), { code: 404 });
  const attemptNo = a.attempt ?? run.attempts[run.attempts.length - 1]?.attempt;
  if (attemptNo === undefined) return; // not started yet
  const rec = run.attempts.find((x) => x.attempt === attemptNo);
  if (!rec) throw Object.assign(new Error(`run ${a.run} has no attempt ${attemptNo}`), { code: 404 });
  const finished = async (): Promise<boolean> => {
    const r = await a.store.getRun(a.run);
    const at = r?.attempts.find((x) => x.attempt === attemptNo);
    return !at || at.phase === 'Succeeded' || at.phase === 'Failed';
  };
  const archived = async (): Promise<string> => {
    const parts = await a.store.getLog(a.run, attemptNo);
    if (parts.length <= 1) return parts[0]?.content ?? '';
    return parts.map((p) => p.content.split('\n').filter((l, i, arr) => l !== '' || i < arr.length - 1).map((l) => `[${p.container}] ${l}`).join('\n') + '\n').join('');
  };

  if ((await finished()) || !a.follow) {
    const text = await archived();
    if (text || (await finished())) {
      if (text) yield text;
      return;
    }
    // Running and not followed: what the controller has seen so far.
    const { buffered, unsubscribe } = a.hub.follow(a.run, attemptNo, () => undefined);
    unsubscribe();
    if (buffered.length) yield buffered.join('\n') + '\n';
    return;
  }

  // Follow: lines seen so far, then new ones until the attempt ends.
  const pending: string[] = [];
  let ended = false;
  let wake: (() => void) | null = null;
  const { buffered, unsubscribe } = a.hub.follow(a.run, attemptNo, (ev) => {
    if (ev.line !== undefined) pending.push(ev.line);
    if (ev.end) ended = true;
    wake?.();
  });
  let sent = buffered.length;
  try {
    if (buffered.length) yield buffered.join('\n') + '\n';
    while (!a.signal.aborted) {
      if (pending.length) {
        const lines = pending.splice(0);
        sent += lines.length;
        yield lines.join('\n') + '\n';
        continue;
      }
      if (ended || (await finished())) break;
      await new Promise<void>((r) => {
        wake = r;
        const t = setTimeout(r, 500);
        t.unref();
      });
      wake = null;
    }
    if (!a.signal.aborted) {
      // Lines the hub never carried (an attempt that ended between polls) come from the archive.
      const rest = (await archived()).split('\n');
      if (rest.length && rest[rest.length - 1] === '') rest.pop();
      if (rest.length > sent) yield rest.slice(sent).join('\n') + '\n';
    }
  } finally {
    unsubscribe();
  }
}

