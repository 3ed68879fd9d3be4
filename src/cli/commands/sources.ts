/** `acictl get sources` and `acictl describe source NAME`: the controller's manifest sources (directories and `--git`). */
import type { CliContext } from '../context';
import { CliError, EXIT } from '../context';
import type { AcictlApi } from '../client/resources';
import type { GitSourceStatus } from '../../controller/git-source';
import { formatTable } from '../output/table';
import { age } from '../output/time';
import { toJson, toYaml } from '../output/printers';

export const SOURCE_KINDS = ['source', 'sources', 'src'];

export interface SourceCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** One item of `GET /acictl/v1/sources` (src/controller/git-source.ts GitSourceStatus, or a directory). */
/** A source as the API lists it: a --git source's status (GitSourceStatus), or a directory (name, kind, root, conditions). */
export type SourceItem = Omit<Partial<GitSourceStatus>, 'name' | 'kind' | 'root' | 'conditions'> & {
  name: string;
  kind: 'git' | 'directory' | string;
  root: string;
  conditions?: SourceCondition[];
};

export async function listSources(api: AcictlApi): Promise<SourceItem[]> {
  const body = await api.http.request<{ items?: SourceItem[] }>('GET', '/acictl/v1/sources');
  return body.items ?? [];
}

const short = (sha: string | undefined): string => (sha ? sha.slice(0, 12) : '<none>');
const when = (iso: string | undefined, now: number): string => (iso ? `${age(Date.parse(iso), now)} ago` : '<never>');

function readyOf(s: SourceItem): string {
  if (s.kind !== 'git') return '';
  return s.conditions?.find((c) => c.type === 'Ready')?.status ?? 'Unknown';
}

export function sourcesTable(items: SourceItem[], now: number): string {
  return formatTable(
    ['NAME', 'KIND', 'URL', 'REF', 'APPLIED', 'ATTEMPTED', 'LAST FETCH', 'READY', 'WARNING'],
    items.map((s) => [
      s.name,
      s.kind,
      s.kind === 'git' ? (s.url ?? '') : s.root,
      s.ref ?? '',
      s.kind === 'git' ? short(s.lastAppliedRevision) : '',
      s.kind === 'git' ? short(s.lastAttemptedRevision) : '',
      s.kind === 'git' ? when(s.lastFetchTime, now) : '',
      readyOf(s),
      s.conditions?.find((c) => c.type === 'Warning' && c.status === 'True')?.reason ?? '',
    ]),
  );
}

export function describeSource(s: SourceItem, now: number): string {
  const out: string[] = [];
  const field = (k: string, v: string | number | undefined) => {
    if (v !== undefined && v !== '') out.push(`${`${k}:`.padEnd(26)}${v}`);
  };
  field('Name', s.name);
  field('Kind', s.kind);
  field('URL', s.url);
  field('Ref', s.ref);
  field('Path', s.path || (s.kind === 'git' ? '/' : undefined));
  field('Interval', s.intervalSeconds !== undefined ? `${s.intervalSeconds}s` : undefined);
  field('Root', s.root);
  field('Last applied revision', s.lastAppliedRevision);
  field('Last attempted revision', s.lastAttemptedRevision);
  field('Last fetched revision', s.lastFetchedRevision);
  field('Last fetch', s.lastFetchTime ? `${s.lastFetchTime} (${when(s.lastFetchTime, now)})` : undefined);
  field('Last successful fetch', s.lastSuccessfulFetchTime ? `${s.lastSuccessfulFetchTime} (${when(s.lastSuccessfulFetchTime, now)})` : undefined);
  field('Last fetch error', s.lastFetchError);
  field('Verify', s.verify?.join(', '));
  field('Last verified revision', s.lastVerifiedRevision ? `${s.lastVerifiedRevision} (${s.lastVerifiedSigner ?? ''})` : undefined);
  if (s.conditions?.length) {
    out.push('Conditions:');
    out.push(
      formatTable(['TYPE', 'STATUS', 'REASON', 'MESSAGE'], s.conditions.map((c) => [c.type, c.status, c.reason ?? '', c.message ?? '']))
        .split('\n')
        .map((l) => (l ? `  ${l}` : l))
        .join('\n'),
    );
  }
  return out.join('\n').replace(/\n*$/, '\n');
}

export async function getSources(api: AcictlApi, ctx: CliContext, name: string | undefined, format: string): Promise<void> {
  let items = await listSources(api);
  if (name) {
    items = items.filter((s) => s.name === name);
    if (items.length === 0) throw new CliError(`source "${name}" not found`, EXIT.NEGATIVE);
  }
  if (format === 'json') return ctx.stdout(toJson(name ? items[0] : { kind: 'SourceList', items }));
  if (format === 'yaml') return ctx.stdout(toYaml(name ? items[0] : { kind: 'SourceList', items }));
  if (format === 'name') return ctx.stdout(items.map((s) => `source/${s.name}\n`).join(''));
  if (items.length === 0) return ctx.stderr('No resources found.\n');
  ctx.stdout(sourcesTable(items, Date.now()));
}

export async function describeSourceCommand(api: AcictlApi, ctx: CliContext, name: string): Promise<void> {
  const s = (await listSources(api)).find((x) => x.name === name);
  if (!s) throw new CliError(`source "${name}" not found`, EXIT.NEGATIVE);
  ctx.stdout(describeSource(s, Date.now()));
}
