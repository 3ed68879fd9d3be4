/** `acictl get leases` and `acictl describe lease NAME`: the replicas' leader-election lease (GET /acictl/v1/leases). */
import type { CliContext } from '../context';
import { CliError, EXIT } from '../context';
import type { AcictlApi } from '../client/resources';
import { formatTable } from '../output/table';
import { humanDuration } from '../output/time';
import { toJson, toYaml } from '../output/printers';

export const LEASE_KINDS = ['lease', 'leases', 'leases.coordination.k8s.io'];

/** One item of the list (src/controller/lease-view.ts LeaseObject). */
export interface LeaseItem {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: { holderIdentity: string; leaseDurationSeconds: number; renewTime: string; leaseTransitions: number };
  status?: { fencingToken?: number; renewAgeMs?: number; servedBy?: { identity: string; role: string } };
}

export interface LeaseListBody {
  kind: string;
  store?: string;
  message?: string;
  items: LeaseItem[];
}

export async function listLeases(api: AcictlApi): Promise<LeaseListBody> {
  const body = await api.http.request<LeaseListBody>('GET', '/acictl/v1/leases');
  return { ...body, items: body.items ?? [] };
}

const renewed = (l: LeaseItem): string => (l.status?.renewAgeMs !== undefined ? `${humanDuration(l.status.renewAgeMs)} ago` : l.spec.renewTime);
const holder = (l: LeaseItem): string => l.spec.holderIdentity || '<none>';

export function leasesTable(items: LeaseItem[]): string {
  return formatTable(
    ['NAME', 'HOLDER', 'TOKEN', 'RENEWED', 'DURATION', 'TRANSITIONS'],
    items.map((l) => [l.metadata.name, holder(l), String(l.status?.fencingToken ?? ''), renewed(l), `${l.spec.leaseDurationSeconds}s`, String(l.spec.leaseTransitions)]),
  );
}

export function describeLease(l: LeaseItem): string {
  const out: string[] = [];
  const field = (k: string, v: string | number | undefined) => {
    if (v !== undefined && v !== '') out.push(`${`${k}:`.padEnd(22)}${v}`);
  };
  field('Name', l.metadata.name);
  field('Holder', holder(l));
  field('Fencing token', l.status?.fencingToken);
  field('Renew time', `${l.spec.renewTime}${l.status?.renewAgeMs !== undefined ? ` (${renewed(l)}, database clock)` : ''}`);
  field('Lease duration', `${l.spec.leaseDurationSeconds}s`);
  field('Transitions', l.spec.leaseTransitions);
  if (l.status?.servedBy) field('Answered by', `${l.status.servedBy.identity} (${l.status.servedBy.role})`);
  return out.join('\n') + '\n';
}

function none(ctx: CliContext, body: LeaseListBody): void {
  ctx.stderr(body.message ? `No leases: ${body.message.replace(/^no lease: /, '')}.\n` : 'No resources found.\n');
}

export async function getLeases(api: AcictlApi, ctx: CliContext, name: string | undefined, format: string): Promise<void> {
  const body = await listLeases(api);
  let items = body.items;
  if (name) {
    items = items.filter((l) => l.metadata.name === name);
    if (items.length === 0) throw new CliError(`lease "${name}" not found${body.message ? ` (${body.message})` : ''}`, EXIT.NEGATIVE);
  }
  const list = { apiVersion: 'acictl.dev/v1', kind: 'LeaseList', store: body.store, ...(body.message ? { message: body.message } : {}), items };
  if (format === 'json') return ctx.stdout(toJson(name ? items[0] : list));
  if (format === 'yaml') return ctx.stdout(toYaml(name ? items[0] : list));
  if (format === 'name') return ctx.stdout(items.map((l) => `lease/${l.metadata.name}\n`).join(''));
  if (items.length === 0) return none(ctx, body);
  ctx.stdout(leasesTable(items));
}

export async function describeLeaseCommand(api: AcictlApi, ctx: CliContext, name: string): Promise<void> {
  const body = await listLeases(api);
  const l = body.items.find((x) => x.metadata.name === name);
  if (!l) throw new CliError(`lease "${name}" not found${body.message ? ` (${body.message})` : ''}`, EXIT.NEGATIVE);
  ctx.stdout(describeLease(l));
}
