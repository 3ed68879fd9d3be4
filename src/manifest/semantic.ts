/**
 * Checks the JSON Schema cannot express: cron expressions, time zones, durations, name uniqueness,
 * references between fields, ACI resource limits, and warnings for legal but suspicious settings.
 * Pure. Robust to data that failed the schema (every access is type-guarded), so that one run
 * reports schema and semantic problems together.
 */
import { checkSchedule, compileSchedule } from '../schedule';
import { parseDuration } from '../api/duration';
import { toPointer } from './diagnostic';
import type { Issue } from './schema';

/** Macros accepted in `schedule` (croner's set). */
export const CRON_MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

/** Schedules firing more often than this get a warning. */
export const FREQUENT_SCHEDULE_MS = 30_000;
/** catchup with a cap above this gets a warning. */
export const LARGE_CATCHUP = 100;

/** ACI group limits without GPU (Linux and Windows). */
export const GROUP_LIMITS = { cpu: 4, memoryInGB: 16 };
/** ACI group limits with GPU, by SKU and GPU count (Linux only). */
const GPU_LIMITS: Record<string, Record<number, { cpu: number; memoryInGB: number }>> = {
  K80: { 1: { cpu: 6, memoryInGB: 56 }, 2: { cpu: 12, memoryInGB: 112 }, 4: { cpu: 24, memoryInGB: 224 } },
  P100: { 1: { cpu: 6, memoryInGB: 112 }, 2: { cpu: 12, memoryInGB: 224 }, 4: { cpu: 24, memoryInGB: 448 } },
  V100: { 1: { cpu: 6, memoryInGB: 112 }, 2: { cpu: 12, memoryInGB: 224 }, 4: { cpu: 24, memoryInGB: 448 } },
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export interface CronCheck {
  ok: boolean;
  message?: string;
  /** Smallest gap between consecutive slots seen in a sample (ms), when ok. */
  minIntervalMs?: number;
}

const cronCache = new Map<string, CronCheck>();
const CACHE_MAX = 10_000;
/** A fixed reference instant keeps the check pure and its result cacheable. */
const SAMPLE_FROM = new Date(Date.UTC(2025, 0, 6, 0, 0, 0));

/** Whether a schedule expression parses (5 or 6 fields, or a macro), with croner. */
export function checkCron(expression: string): CronCheck {
  const hit = cronCache.get(expression);
  if (hit) return hit;
  let result: CronCheck;
  const text = expression.trim();
  if (text.startsWith('@')) {
    result = CRON_MACROS.includes(text.toLowerCase())
      ? { ok: true, minIntervalMs: 3_600_000 }
      : { ok: false, message: `unknown schedule macro "${text}" (use ${CRON_MACROS.filter((m) => m !== '@annually' && m !== '@midnight').join(', ')})` };
  } else {
    const fields = text.split(/\s+/).filter(Boolean);
    if (fields.length !== 5 && fields.length !== 6) {
      result = {
        ok: false,
        message: `invalid cron expression "${text}": ${fields.length} field${fields.length === 1 ? '' : 's'}; expected 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)`,
      };
    } else {
      // The controller's own schedule library decides: what validates is exactly what runs.
      const problem = checkSchedule(text, 'UTC');
      if (problem) {
        result = { ok: false, message: problem.startsWith('invalid cron') || problem.includes(text) ? problem : `invalid cron expression "${text}": ${problem}` };
      } else {
        const sched = compileSchedule(text, { timeZone: 'UTC' });
        const runs: number[] = [];
        for (let t = SAMPLE_FROM.getTime(), i = 0; i < 4; i++) {
          const n = sched.next(t);
          if (n === null) break;
          runs.push(n);
          t = n;
        }
        let min = Infinity;
        for (let i = 1; i < runs.length; i++) min = Math.min(min, runs[i] - runs[i - 1]);
        result = runs.length === 0 ? { ok: false, message: `cron expression "${text}" never fires` } : { ok: true, minIntervalMs: min };
      }
    }
  }
  if (cronCache.size >= CACHE_MAX) cronCache.clear();
  cronCache.set(expression, result);
  return result;
}

const zoneCache = new Map<string, boolean>();

/** Whether a name is an IANA time zone Intl knows ("UTC" included; offsets such as "+01:00" are not zones). */
export function isValidTimeZone(zone: string): boolean {
  const hit = zoneCache.get(zone);
  if (hit !== undefined) return hit;
  let ok = false;
  if (/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(zone)) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      ok = true;
    } catch {
      ok = false;
    }
  }
  if (zoneCache.size >= CACHE_MAX) zoneCache.clear();
  zoneCache.set(zone, ok);
  return ok;
}

/** Semantic checks of one document's data (which may have failed the schema). */
export function checkSemantics(doc: unknown): Issue[] {
  const issues: Issue[] = [];
  const err = (path: Array<string | number>, message: string, target: Issue['target'] = 'value') =>
    issues.push({ pointer: toPointer(path), message, severity: 'error', target });
  const warn = (path: Array<string | number>, message: string, target: Issue['target'] = 'value') =>
    issues.push({ pointer: toPointer(path), message, severity: 'warning', target });
  if (!isObj(doc)) return issues;
  const spec = doc.spec;
  if (!isObj(spec)) return issues;

  // Schedule, time zone, window.
  const schedule = spec.schedule;
  if (typeof schedule === 'string') {
    const c = checkCron(schedule);
    if (!c.ok) err(['spec', 'schedule'], c.message!);
    else if (c.minIntervalMs !== undefined && c.minIntervalMs < FREQUENT_SCHEDULE_MS) {
      warn(['spec', 'schedule'], `schedule fires every ${c.minIntervalMs / 1000}s: each run creates an ACI container group; consider a longer interval`);
    }
  } else if (schedule === undefined || schedule === null) {
    warn(['spec'], 'no schedule: the job runs only when triggered manually (acictl run)', 'key');
  }
  const tz = str(spec.timeZone);
  if (tz !== undefined && !isValidTimeZone(tz)) err(['spec', 'timeZone'], `unknown time zone "${tz}": use an IANA name such as UTC or Europe/Berlin`);
  const start = str(spec.startTime) !== undefined ? Date.parse(spec.startTime as string) : NaN;
  const end = str(spec.endTime) !== undefined ? Date.parse(spec.endTime as string) : NaN;
  if (Number.isFinite(start) && Number.isFinite(end) && end <= start) {
    err(['spec', 'endTime'], `endTime (${String(spec.endTime)}) must be after startTime (${String(spec.startTime)})`);
  }

  // Durations: the schema pattern checks the syntax; this catches absurd magnitudes.
  const durations: Array<[Array<string | number>, unknown]> = [
    [['spec', 'retryDelay'], spec.retryDelay],
    [['spec', 'timeout'], spec.timeout],
    [['spec', 'retryBackoff', 'maxDelay'], isObj(spec.retryBackoff) ? spec.retryBackoff.maxDelay : undefined],
    [['spec', 'cleanup', 'ttlAfterFinished'], isObj(spec.cleanup) ? spec.cleanup.ttlAfterFinished : undefined],
  ];
  const ms: Record<string, number> = {};
  for (const [path, value] of durations) {
    if (typeof value !== 'string') continue;
    try {
      ms[path.join('.')] = parseDuration(value);
    } catch (e) {
      err(path, (e as Error).message);
    }
  }
  if (ms['spec.timeout'] === 0) err(['spec', 'timeout'], 'timeout must be longer than 0 (use null for no timeout)');
  const delay = ms['spec.retryDelay'] ?? 60_000;
  const maxDelay = ms['spec.retryBackoff.maxDelay'] ?? 600_000;
  if (delay > maxDelay && (spec.retryDelay !== undefined || isObj(spec.retryBackoff))) {
    warn(['spec', 'retryDelay'], `retryDelay (${String(spec.retryDelay ?? '1m')}) is longer than retryBackoff.maxDelay (${String((spec.retryBackoff as Obj | undefined)?.maxDelay ?? '10m')}); every retry waits maxDelay`);
  }

  // Suspicious policies.
  if (spec.catchup === true && (num(spec.maxCatchupRuns) ?? 10) > LARGE_CATCHUP) {
    warn(['spec', 'maxCatchupRuns'], `catchup may start up to ${String(spec.maxCatchupRuns)} runs after downtime; is that intended?`);
  }
  if (spec.groupPolicy === 'Reuse' && spec.concurrencyPolicy === 'Allow') {
    warn(['spec', 'concurrencyPolicy'], 'concurrencyPolicy Allow has no effect with groupPolicy Reuse: one group runs one run at a time (behaves like Forbid)');
  }
  if (spec.groupPolicy === 'Reuse' && spec.cleanup !== undefined) {
    warn(['spec', 'cleanup'], 'cleanup applies to PerRun groups only; a Reuse group is kept between runs', 'key');
  }

  checkNotify(spec, err);
  const template = spec.template;
  if (isObj(template)) checkTemplate(template, spec, err, warn);
  return issues;
}

type Report = (path: Array<string | number>, message: string, target?: Issue['target']) => void;

/** spec.notify: exactly one kind per target, unique names, SMTP credentials in pairs, timeouts that parse. */
function checkNotify(spec: Obj, err: Report): void {
  const names = new Map<string, number>();
  const counts: Record<string, number> = { webhook: 0, email: 0 };
  arr(spec.notify).forEach((t, i) => {
    if (!isObj(t)) return;
    const base = ['spec', 'notify', i];
    const kinds = ['webhook', 'email'].filter((k) => t[k] !== undefined);
    if (kinds.length !== 1) err(base, `a notify target sets exactly one of webhook, email (found ${kinds.length ? kinds.join(', ') : 'none'})`);
    const kind = kinds[0];
    if (kind) counts[kind]++;
    const name = str(t.name) ?? (kind ? `${kind}-${counts[kind]}` : undefined);
    if (name !== undefined) {
      const first = names.get(name);
      if (first !== undefined) err(t.name !== undefined ? [...base, 'name'] : base, `duplicate notify target name "${name}" (first at ${toPointer(['spec', 'notify', first])})`);
      else names.set(name, i);
    }
    const hook = t.webhook;
    if (isObj(hook) && str(hook.timeout) !== undefined) {
      try {
        if (parseDuration(hook.timeout as string) <= 0) err([...base, 'webhook', 'timeout'], 'timeout must be longer than 0');
      } catch (e) {
        err([...base, 'webhook', 'timeout'], (e as Error).message);
      }
    }
    const mail = t.email;
    if (isObj(mail)) {
      if (mail.username !== undefined && mail.passwordFrom === undefined) err([...base, 'email'], 'an SMTP username needs passwordFrom: {env: VARIABLE} or {file: PATH}');
      if (mail.username === undefined && mail.passwordFrom !== undefined) err([...base, 'email', 'passwordFrom'], 'passwordFrom needs a username', 'key');
    }
  });
}

function checkTemplate(t: Obj, spec: Obj, err: Report, warn: Report): void {
  const T = ['spec', 'template'];
  const containers = arr(t.containers);
  const inits = arr(t.initContainers);
  const volumes = arr(t.volumes);

  if ((num(spec.retries) ?? 0) > 0 && t.restartPolicy === 'OnFailure') {
    warn([...T, 'restartPolicy'], 'restartPolicy OnFailure makes ACI restart failed containers inside the attempt, in addition to the job\'s retries');
  }

  // Volumes: unique names, exactly one kind.
  const volumeNames = new Map<string, number>();
  volumes.forEach((v, i) => {
    if (!isObj(v)) return;
    const name = str(v.name);
    if (name !== undefined) {
      const first = volumeNames.get(name);
      if (first !== undefined) err([...T, 'volumes', i, 'name'], `duplicate volume name "${name}" (first at ${toPointer([...T, 'volumes', first, 'name'])})`);
      else volumeNames.set(name, i);
    }
    const kinds = ['azureFile', 'emptyDir', 'secret', 'gitRepo'].filter((k) => v[k] !== undefined);
    if (kinds.length !== 1) {
      err([...T, 'volumes', i], `volume${name ? ` "${name}"` : ''} must set exactly one of azureFile, emptyDir, secret, gitRepo (found ${kinds.length ? kinds.join(', ') : 'none'})`);
    }
    if (isObj(v.gitRepo) && typeof v.gitRepo.directory === 'string' && v.gitRepo.directory.split('/').includes('..')) {
      err([...T, 'volumes', i, 'gitRepo', 'directory'], 'gitRepo directory must not contain ".."');
    }
  });

  // Containers and init containers: unique names, env vars, mounts.
  const containerNames = new Map<string, string>();
  const used = new Set<string>();
  const eachContainer = (list: unknown[], field: 'containers' | 'initContainers') =>
    list.forEach((c, i) => {
      if (!isObj(c)) return;
      const base = [...T, field, i];
      const name = str(c.name);
      if (name !== undefined) {
        const first = containerNames.get(name);
        if (first !== undefined) err([...base, 'name'], `duplicate container name "${name}" (first at ${first})`);
        else containerNames.set(name, toPointer([...base, 'name']));
      }
      const envNames = new Map<string, number>();
      arr(c.environmentVariables).forEach((e, j) => {
        if (!isObj(e)) return;
        const envName = str(e.name);
        if (envName !== undefined) {
          if (envNames.has(envName)) err([...base, 'environmentVariables', j, 'name'], `duplicate environment variable "${envName}"`);
          else envNames.set(envName, j);
          if (/^ACICTL_/.test(envName)) err([...base, 'environmentVariables', j, 'name'], `environment variables named ACICTL_* are set by the controller`);
        }
        if (e.value !== undefined && e.secureValueFrom !== undefined) {
          err([...base, 'environmentVariables', j, 'secureValueFrom'], 'set either value or secureValueFrom, not both', 'key');
        }
      });
      const mountPaths = new Set<string>();
      arr(c.volumeMounts).forEach((m, j) => {
        if (!isObj(m)) return;
        const vol = str(m.name);
        if (vol !== undefined) {
          used.add(vol);
          if (!volumeNames.has(vol)) {
            const declared = [...volumeNames.keys()];
            err(
              [...base, 'volumeMounts', j, 'name'],
              `volume "${vol}" is not declared in spec.template.volumes${declared.length ? ` (declared: ${declared.join(', ')})` : ''}`,
            );
          }
        }
        const path = str(m.mountPath);
        if (path !== undefined) {
          if (!path.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(path)) err([...base, 'volumeMounts', j, 'mountPath'], `mountPath "${path}" must be absolute`);
          if (mountPaths.has(path)) err([...base, 'volumeMounts', j, 'mountPath'], `mountPath "${path}" is used twice in this container`);
          mountPaths.add(path);
        }
      });
    });
  eachContainer(containers, 'containers');
  eachContainer(inits, 'initContainers');
  for (const [name, i] of volumeNames) {
    if (!used.has(name)) warn([...T, 'volumes', i, 'name'], `volume "${name}" is not mounted by any container`);
  }

  // Resources: per container limits ≥ requests; group totals within ACI limits.
  const windows = t.osType === 'Windows';
  let cpu = 0;
  let mem = 0;
  let gpuSku: string | undefined;
  let gpuCount = 0;
  let badGpuCount = false;
  containers.forEach((c, i) => {
    if (!isObj(c) || !isObj(c.resources)) return;
    const base = [...T, 'containers', i, 'resources'];
    const req = isObj(c.resources.requests) ? c.resources.requests : {};
    const lim = isObj(c.resources.limits) ? c.resources.limits : undefined;
    const rc = num(req.cpu);
    const rm = num(req.memoryInGB);
    cpu += rc ?? 0;
    mem += rm ?? 0;
    for (const [field, value] of [['cpu', rc], ['memoryInGB', rm]] as const) {
      const l = lim ? num(lim[field]) : undefined;
      if (l !== undefined && value !== undefined && l < value) err([...base, 'limits', field], `limits.${field} (${l}) must be at least requests.${field} (${value})`);
    }
    if (isObj(req.gpu)) {
      const count = num(req.gpu.count);
      const sku = str(req.gpu.sku);
      if (count !== undefined && ![1, 2, 4].includes(count)) badGpuCount = true;
      if (count !== undefined && ![1, 2, 4].includes(count)) err([...base, 'requests', 'gpu', 'count'], `GPU count must be 1, 2 or 4, found ${count}`);
      if (windows) err([...base, 'requests', 'gpu'], 'GPUs are available only for Linux container groups', 'key');
      if (sku !== undefined) {
        if (gpuSku !== undefined && gpuSku !== sku) err([...base, 'requests', 'gpu', 'sku'], `all containers of a group must use the same GPU SKU (${gpuSku} and ${sku})`);
        gpuSku = gpuSku ?? sku;
      }
      if (count !== undefined) gpuCount += count;
    }
  });
  const gpuLimits = gpuSku !== undefined ? GPU_LIMITS[gpuSku]?.[gpuCount] : undefined;
  if (!badGpuCount && gpuSku !== undefined && gpuLimits === undefined && gpuCount > 0) {
    err([...T, 'containers'], `the group requests ${gpuCount} GPUs in total; ACI offers 1, 2 or 4 per group`, 'key');
  }
  const limits = gpuLimits ?? GROUP_LIMITS;
  const os = windows ? 'Windows' : 'Linux';
  const kind = gpuLimits ? `a ${os} group with ${gpuCount} ${gpuSku} GPU${gpuCount > 1 ? 's' : ''}` : `a ${os} container group`;
  // Point at the request that takes the running total over the limit.
  if (cpu > limits.cpu + 1e-9) {
    err(firstOver(containers, 'cpu', limits.cpu) ?? [...T, 'containers'], `CPU requests total ${round(cpu)} cores; ${kind} may request at most ${limits.cpu}`);
  }
  if (mem > limits.memoryInGB + 1e-9) {
    err(firstOver(containers, 'memoryInGB', limits.memoryInGB) ?? [...T, 'containers'], `memory requests total ${round(mem)} GB; ${kind} may request at most ${limits.memoryInGB} GB`);
  }

  // Registry credentials.
  arr(t.imageRegistryCredentials).forEach((r, i) => {
    if (!isObj(r)) return;
    const base = [...T, 'imageRegistryCredentials', i];
    // A literal `password` is reported as such by the schema check.
    if (r.password !== undefined) return;
    if (r.username !== undefined && r.passwordFrom === undefined && r.identity === undefined) {
      err(base, 'registry credential with a username needs passwordFrom: {env: VARIABLE} or {file: PATH}');
    }
    if (r.username === undefined && r.passwordFrom !== undefined) err([...base, 'passwordFrom'], 'passwordFrom needs a username', 'key');
    if (r.username === undefined && r.passwordFrom === undefined && r.identity === undefined) {
      err(base, 'registry credential needs username + passwordFrom, or identity');
    }
  });

  // Networking.
  if (isObj(t.ipAddress)) {
    const exposed = new Set<number>();
    containers.forEach((c) => isObj(c) && arr(c.ports).forEach((p) => isObj(p) && num(p.port) !== undefined && exposed.add(p.port as number)));
    arr(t.ipAddress.ports).forEach((p, i) => {
      const port = isObj(p) ? num(p.port) : undefined;
      if (port !== undefined && !exposed.has(port)) err([...T, 'ipAddress', 'ports', i, 'port'], `port ${port} is not a port of any container`);
    });
    if (t.ipAddress.type === 'Private' && arr(t.subnetIds).length === 0) err([...T, 'ipAddress', 'type'], 'a Private IP address needs subnetIds');
    if (t.ipAddress.type === 'Private' && t.ipAddress.dnsNameLabel !== undefined) err([...T, 'ipAddress', 'dnsNameLabel'], 'dnsNameLabel is only allowed with a Public IP address', 'key');
  }
  if (isObj(t.identity)) {
    const type = str(t.identity.type);
    const ids = arr(t.identity.userAssignedIdentities);
    if (type !== undefined && type.includes('UserAssigned') && ids.length === 0) err([...T, 'identity', 'type'], `identity type ${type} needs userAssignedIdentities`);
    if (type !== undefined && !type.includes('UserAssigned') && ids.length > 0) err([...T, 'identity', 'userAssignedIdentities'], `userAssignedIdentities requires identity type UserAssigned`, 'key');
  }
  if (isObj(t.tags)) {
    for (const key of Object.keys(t.tags)) {
      if (key.startsWith('acictl.dev/')) err([...T, 'tags', key], `tag "${key}" is reserved for the controller`, 'key');
    }
  }
  if (t.priority === 'Spot' && isObj(t.ipAddress)) warn([...T, 'priority'], 'Spot container groups do not support IP addresses');
}

function round(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}

function firstOver(containers: unknown[], field: 'cpu' | 'memoryInGB', limit: number): Array<string | number> | undefined {
  let total = 0;
  for (let i = 0; i < containers.length; i++) {
    const c = containers[i];
    const v = isObj(c) && isObj(c.resources) && isObj(c.resources.requests) ? num(c.resources.requests[field]) : undefined;
    if (v === undefined) continue;
    total += v;
    if (total > limit + 1e-9) return ['spec', 'template', 'containers', i, 'resources', 'requests', field];
  }
  return undefined;
}
