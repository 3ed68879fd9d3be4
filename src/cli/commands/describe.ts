/** `acictl describe job NAME`: spec summary, status and conditions, next slots, recent runs, recent events. */
import { Command } from 'commander';
import type { EnvironmentVariable, SecretRef } from '../../api/types';
import type * as Schedule from '../../schedule';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../context';
import type { GlobalOptions } from '../client/discovery';
import type { EventItem, JobObject, NotificationItem, RunObject } from '../client/resources';
import { directorySource, toMs } from '../client/resources';
import { SOURCE_KINDS, describeSourceCommand } from './sources';
import { LEASE_KINDS, describeLeaseCommand } from './leases';
import { JOB_KINDS, action, addGlobalOptions, connect, examples } from '../common';
import { RUN_HEADERS, isSuspended, runRow, sortRuns } from '../output/printers';
import { formatTable } from '../output/table';
import { readableDuration, readableTime } from '../output/time';

const RECENT_RUNS = 5;
const RECENT_EVENTS = 10;
const NEXT_SLOTS = 5;

/** The next slots of a job (the schedule library, like the controller); the server's nextScheduleTime as a fallback. */
export function upcomingSlots(job: JobObject, now: number, count: number): string[] {
  const spec = job.spec;
  if (!spec.schedule) return [];
  const tz = spec.timeZone ?? 'UTC';
  try {
    // the schedule library (croner) is loaded here: the other commands start without it
    const { formatSlot, nextSlots } = require('../../schedule') as typeof Schedule;
    const slots = nextSlots(spec.schedule, { timeZone: tz, startTime: toMs(spec.startTime ?? undefined) ?? null, endTime: toMs(spec.endTime ?? undefined) ?? null }, now, count);
    // the readable UTC form; a job in another zone also shows the slot's local time
    return slots.map((s) => `${readableTime(s, now)}${tz === 'UTC' ? '' : `  ${formatSlot(s, tz)}`}`);
  } catch {
    /* an expression this client cannot compile: fall back to the server's answer */
  }
  const next = toMs(job.status?.nextScheduleTime);
  return next === undefined ? [] : [readableTime(next, now)!];
}

function secretRef(ref: SecretRef | undefined): string {
  if (!ref) return '<secret>';
  if ('keyVault' in ref) return `<secret from key vault ${ref.keyVault.vault}/${ref.keyVault.secret}${ref.keyVault.version ? `/${ref.keyVault.version}` : ''}>`;
  return 'env' in ref ? `<secret from env ${ref.env}>` : `<secret from file ${ref.file}>`;
}

function envText(e: EnvironmentVariable): string {
  return e.secureValueFrom ? `${e.name}=${secretRef(e.secureValueFrom)}` : `${e.name}=${e.value ?? ''}`;
}

function kv(r: Record<string, string> | undefined): string {
  const entries = Object.entries(r ?? {});
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(', ') : '<none>';
}

class Doc {
  private out = '';
  field(label: string, value: unknown, indent = 0): void {
    this.out += `${' '.repeat(indent)}${`${label}:`.padEnd(Math.max(22 - indent, label.length + 2))}${value === undefined || value === null || value === '' ? '<none>' : String(value)}\n`;
  }
  line(text: string): void {
    this.out += `${text}\n`;
  }
  block(text: string, indent: number): void {
    for (const l of text.replace(/\n$/, '').split('\n')) this.out += `${' '.repeat(indent)}${l}\n`;
  }
  toString(): string {
    return this.out;
  }
}

export function describeJob(job: JobObject, runs: RunObject[], events: EventItem[] | undefined, now: number, notifications?: NotificationItem[]): string {
  const d = new Doc();
  const spec = job.spec;
  const st = job.status ?? {};
  const tpl = spec.template;
  d.field('Name', job.metadata.name);
  d.field('Labels', kv(job.metadata.labels));
  const annotations = Object.fromEntries(Object.entries(job.metadata.annotations ?? {}).filter(([k]) => k !== 'acictl.dev/last-applied-configuration'));
  d.field('Annotations', kv(annotations));
  d.field('Created', readableTime(job.metadata.creationTimestamp, now));
  d.field('Generation', `${job.metadata.generation ?? '?'} (observed ${st.observedGeneration ?? '<none>'})`);
  const dirFile = directorySource(job);
  d.field('Source', dirFile ? `manifests directory: ${dirFile} (read-only through the API)` : 'API (acictl apply / kubectl)');
  if (st.sourceRevision) d.field('Source revision', st.sourceRevision);
  if (job.metadata.deletionTimestamp) d.field('Deleting since', readableTime(job.metadata.deletionTimestamp, now));
  d.line('Spec:');
  d.field('Schedule', spec.schedule ? `${spec.schedule} (${spec.timeZone ?? 'UTC'})` : '<manual runs only>', 2);
  if (spec.startTime || spec.endTime) d.field('Window', `${spec.startTime ? readableTime(spec.startTime, now) : '-∞'} … ${spec.endTime ? readableTime(spec.endTime, now) : '∞'}`, 2);
  const override = st.suspended !== undefined && st.suspended !== (spec.suspend ?? false);
  d.field('Suspend', `${isSuspended(job)}${override ? ` (runtime override; spec says ${spec.suspend ?? false})` : ''}`, 2);
  d.field('Concurrency', spec.concurrencyPolicy ?? 'Forbid', 2);
  d.field('Catchup', spec.catchup ? `true (at most ${spec.maxCatchupRuns ?? 10} runs)` : 'false', 2);
  d.field('Starting deadline', spec.startingDeadlineSeconds === null ? 'none' : `${spec.startingDeadlineSeconds ?? 300}s`, 2);
  const backoff = spec.retryBackoff ? `, backoff x${spec.retryBackoff.factor ?? 2} up to ${spec.retryBackoff.maxDelay ?? '10m'}` : '';
  d.field('Retries', `${spec.retries ?? 0} (delay ${spec.retryDelay ?? '1m'}${backoff})`, 2);
  d.field('Timeout', spec.timeout ?? 'none', 2);
  d.field('Group policy', spec.groupPolicy ?? 'PerRun', 2);
  const c = spec.cleanup ?? {};
  d.field('Cleanup', `onSuccess ${c.onSuccess ?? 'Delete'}, onFailure ${c.onFailure ?? 'Keep'}, ttl ${c.ttlAfterFinished ?? '1h'}`, 2);
  d.field('History limits', `succeeded ${spec.successfulRunsHistoryLimit ?? 3}, failed ${spec.failedRunsHistoryLimit ?? 1}`, 2);
  if (tpl) {
    d.line('  Template:');
    d.field('Resource group', `${tpl.subscriptionId ? `${tpl.subscriptionId}/` : ''}${tpl.resourceGroup}`, 4);
    d.field('Location', tpl.location, 4);
    d.field('OS / restart', `${tpl.osType ?? 'Linux'} / ${tpl.restartPolicy ?? 'Never'}${tpl.priority === 'Spot' ? ' / Spot' : ''}`, 4);
    d.line('    Containers:');
    for (const ctr of tpl.containers ?? []) {
      const r = ctr.resources?.requests;
      const gpu = r?.gpu ? `, ${r.gpu.count}x ${r.gpu.sku} GPU` : '';
      d.line(`      ${ctr.name}: ${ctr.image}  (${r ? `${r.cpu} CPU, ${r.memoryInGB} GB${gpu}` : 'no requests'})`);
      if (ctr.command?.length) d.field('Command', ctr.command.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' '), 8);
      if (ctr.environmentVariables?.length) d.field('Env', ctr.environmentVariables.map(envText).join(', '), 8);
      if (ctr.ports?.length) d.field('Ports', ctr.ports.map((p) => `${p.port}/${p.protocol ?? 'TCP'}`).join(', '), 8);
      if (ctr.volumeMounts?.length) d.field('Mounts', ctr.volumeMounts.map((m) => `${m.name}:${m.mountPath}${m.readOnly ? ':ro' : ''}`).join(', '), 8);
    }
    if (tpl.imageRegistryCredentials?.length) {
      d.field('Registries', tpl.imageRegistryCredentials.map((r) => `${r.server}${r.username ? ` as ${r.username}` : ''}${r.passwordFrom ? ` (password ${secretRef(r.passwordFrom)})` : ''}`).join(', '), 4);
    }
    if (tpl.volumes?.length) d.field('Volumes', tpl.volumes.map((v) => `${v.name} (${Object.keys(v).filter((k) => k !== 'name').join(', ') || 'empty'})`).join(', '), 4);
  }
  d.line('Status:');
  d.field('Last schedule', readableTime(st.lastScheduleTime, now), 2);
  d.field('Last successful', readableTime(st.lastSuccessfulTime, now), 2);
  d.field('Last result', st.lastRunResult, 2);
  d.field('Next schedule', readableTime(st.nextScheduleTime, now), 2);
  const bf = st.backfill;
  if (bf) d.field('Backfill', `${bf.id}: ${bf.from} … ${bf.to}, ${bf.handled}/${bf.slots} slot(s) started or skipped, ${bf.active} active`, 2);
  d.field('Active', st.active?.length ? st.active.map((a) => `${a.run} (attempt ${a.attempt}, group ${a.group})`).join(', ') : undefined, 2);
  d.line('Conditions:');
  if (st.conditions?.length) {
    d.block(
      formatTable(
        ['TYPE', 'STATUS', 'REASON', 'LAST TRANSITION', 'MESSAGE'],
        st.conditions.map((cd) => [cd.type, cd.status, cd.reason || '<none>', cd.lastTransitionTime ? `${readableDuration(now - (toMs(cd.lastTransitionTime) ?? now))} ago` : '<none>', cd.message || '']),
      ),
      2,
    );
  } else d.line('  <none>');
  d.line(`Next ${NEXT_SLOTS} slots:`);
  const slots = isSuspended(job) ? [] : upcomingSlots(job, now, NEXT_SLOTS);
  if (slots.length) for (const s of slots) d.line(`  ${s}`);
  else d.line(isSuspended(job) ? '  <suspended>' : spec.schedule ? '  <none>' : '  <manual runs only>');
  d.line('Recent runs:');
  const recent = sortRuns(runs).slice(-RECENT_RUNS);
  if (recent.length) d.block(formatTable(RUN_HEADERS.filter((h) => h !== 'JOB'), recent.map((r) => runRow(r, now, false).filter((_, i) => i !== 1))), 2);
  else d.line('  <none>');
  if (spec.notify?.length) {
    d.line('Notifications:');
    spec.notify.forEach((t, i) => {
      const kind = t.webhook ? 'webhook' : 'email';
      const name = t.name ?? `${kind}-${spec.notify!.slice(0, i + 1).filter((x) => (x.webhook ? 'webhook' : 'email') === kind).length}`;
      const where = t.webhook ? `${t.webhook.url} (key ${secretRef(t.webhook.secretFrom)})` : `${t.email?.to.join(', ')} via ${t.email?.host}`;
      d.field(name, `${(t.on ?? ['failure', 'missed', 'recovery', 'invalid']).join(', ')} → ${where}`, 2);
    });
    const pending = (notifications ?? []).filter((n) => n.state === 'Pending');
    const failed = (notifications ?? []).filter((n) => n.state === 'Failed');
    if (notifications !== undefined) d.field('Undelivered', `${pending.length} pending, ${failed.length} given up`, 2);
    for (const n of [...pending, ...failed].slice(0, 5)) d.line(`    ${n.state} ${n.id} (${n.attempts} attempt(s)${n.lastError ? `, last: ${n.lastError}` : ''})`);
  }
  if (events !== undefined) {
    d.line('Events:');
    const last = [...events].sort((a, b) => (toMs(a.time) ?? 0) - (toMs(b.time) ?? 0)).slice(-RECENT_EVENTS);
    if (last.length) d.block(formatTable(['TYPE', 'REASON', 'AGE', 'RUN', 'MESSAGE'], last.map((e) => [e.type, e.reason, `${readableDuration(now - (toMs(e.time) ?? now))} ago`, e.run ?? '', e.message])), 2);
    else d.line('  <none>');
  }
  return d.toString();
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('describe')
    .description('show a job in detail: spec summary, status, conditions, next slots, recent runs and events')
    .argument('<resource>', 'job (job, cj), source (src) or lease')
    .argument('<name>', 'job name')
    .addHelpText('after', examples(['acictl describe job nightly-report', 'acictl describe cj azure-tutorial-container', 'acictl describe source jobs-3f2a1c     # a --git source: revisions, last fetch, conditions', 'acictl describe lease controller       # replicas on PostgreSQL: holder, fencing token, renew time']))
    .action(
      action(async (resource: string, name: string, opts: GlobalOptions) => {
        if (SOURCE_KINDS.includes(resource.toLowerCase())) return describeSourceCommand(connect(opts, ctx), ctx, name);
        if (LEASE_KINDS.includes(resource.toLowerCase())) return describeLeaseCommand(connect(opts, ctx), ctx, name);
        if (!JOB_KINDS.includes(resource.toLowerCase())) throw new CliError(`cannot describe "${resource}": use "describe job NAME", "describe source NAME" or "describe lease NAME"`, EXIT.USAGE);
        const api = connect(opts, ctx);
        const job = await api.getJob(name);
        if (!job) throw new CliError(`containerjob "${name}" not found`, EXIT.NEGATIVE);
        const [runs, events, notifications] = await Promise.all([api.listRuns(name), api.events(name), job.spec.notify?.length ? api.notifications(name) : Promise.resolve(undefined)]);
        ctx.stdout(describeJob(job, runs.items.filter((r) => r.spec.job === name), events, Date.now(), notifications));
      }),
    );
  addGlobalOptions(cmd);
}
