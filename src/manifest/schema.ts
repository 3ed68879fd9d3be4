/**
 * The JSON Schema validator (ajv, compiled once) and the translation of ajv's errors into short,
 * precise messages that point at the right node: the key for an unknown field, the value for a bad
 * value, the enclosing object for a missing field.
 */
import Ajv2020, { ErrorObject } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import schema from '../../schemas/containerjob.v1.schema.json';
import { MAX_JOB_NAME } from '../api/names';
import { parseDuration } from '../api/duration';
import type { Target } from './load';

export const CONTAINERJOB_SCHEMA = schema;
export const CONTAINERJOB_SCHEMA_ID = schema.$id;

/** A position-less finding: the validator adds file, line and column. */
export interface Issue {
  pointer: string;
  message: string;
  severity: 'error' | 'warning';
  target: Target;
}

let compiled: ReturnType<Ajv2020['compile']> | undefined;

/** The compiled schema (compiled on first use, then shared). */
export function schemaValidator(): ReturnType<Ajv2020['compile']> {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
    addFormats(ajv, ['date-time']);
    compiled = ajv.compile(schema);
  }
  return compiled;
}

/** Literal secret fields and the reference field to use instead. */
export const LITERAL_SECRET_FIELDS: Record<string, string> = {
  secureValue: 'secureValueFrom',
  password: 'passwordFrom',
  storageAccountKey: 'storageAccountKeyFrom',
  workspaceKey: 'workspaceKeyFrom',
  secret: 'secretFrom',
};

function distance(a: string, b: string): number {
  const al = a.toLowerCase();
  const bl = b.toLowerCase();
  const row = Array.from({ length: bl.length + 1 }, (_, i) => i);
  for (let i = 1; i <= al.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= bl.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (al[i - 1] === bl[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[bl.length];
}

/** The closest allowed field name, if it is close enough to be a likely typo. */
export function suggest(name: string, allowed: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const a of allowed) {
    const d = distance(name, a);
    if (d < bestD) (best = a), (bestD = d);
  }
  return best !== undefined && bestD <= Math.max(2, Math.min(3, Math.floor(best.length / 3))) ? best : undefined;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  return `${typeof value} ${String(value)}`;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  null: 'null',
};

function typeList(t: unknown): string {
  const list = (Array.isArray(t) ? t : String(t).split(',')).map((x) => TYPE_NAMES[x] ?? x);
  return list.length > 1 ? list.slice(0, -1).join(', ') + ' or ' + list[list.length - 1] : list[0];
}

const NAME_RULE = 'lower-case letters, digits and single hyphens, starting and ending with a letter or digit';

const DURATION_PATTERN = schema.$defs.Duration.pattern;

function patternMessage(e: ErrorObject): string {
  const data = e.data;
  const p = e.instancePath;
  const last = p.split('/').pop() ?? '';
  const q = JSON.stringify(data);
  // ajv's schemaPath depends on how it inlined $refs, so the field is recognised by its place.
  if (e.schema === DURATION_PATTERN) {
    try {
      parseDuration(String(data));
    } catch (err) {
      return (err as Error).message;
    }
  }
  if (p === '/metadata/name') return `invalid job name ${q}: must be a DNS label (${NAME_RULE})`;
  if (/\/(containers|initContainers)\/\d+\/name$/.test(p)) return `invalid container name ${q}: must be ${NAME_RULE}, at most 63 characters`;
  if (/\/volumes\/\d+\/name$/.test(p)) return `invalid volume name ${q}: must be ${NAME_RULE}, at most 63 characters`;
  if (/\/environmentVariables\/\d+\/name$/.test(p)) return `invalid environment variable name ${q}: must start with a letter or _ and contain only letters, digits and _`;
  if (/\/zones\/\d+$/.test(p)) return `invalid zone ${q}: must be "1", "2" or "3"`;
  if (last === 'subscriptionId') return `invalid subscriptionId ${q}: must be a GUID`;
  if (last === 'resourceGroup') return `invalid resource group name ${q}: letters, digits, _ - . ( ), not ending with a period`;
  if (last === 'location') return `invalid location ${q}: an Azure region such as eastus or "East US"`;
  if (last === 'image') return `invalid image ${q}: must not contain whitespace`;
  if (last === 'server') return `invalid registry server ${q}: a host name without scheme or path`;
  return `${describe(data)} does not match the pattern ${String(e.schema)}`;
}

/** One ajv error → an issue (null when another issue covers it). */
function translate(e: ErrorObject): Issue {
  const p = e.instancePath;
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const pointer = `${p}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      const instead = LITERAL_SECRET_FIELDS[key];
      if (instead) {
        return {
          pointer,
          target: 'key',
          severity: 'error',
          message: `literal secrets are not allowed; use ${instead}: {env: VARIABLE} or {file: PATH} instead of ${key}`,
        };
      }
      const props = Object.keys(((e.parentSchema as { properties?: object } | undefined)?.properties ?? {}) as object);
      const hint = suggest(key, props);
      const tail = hint ? ` (did you mean "${hint}"?)` : props.length ? ` (allowed: ${props.join(', ')})` : ' (this mapping takes no fields)';
      return { pointer, target: 'key', severity: 'error', message: `unknown field "${key}"${tail}` };
    }
    case 'required':
      return { pointer: p, target: 'value', severity: 'error', message: `missing required field "${String(params.missingProperty)}"` };
    case 'type':
      return { pointer: p, target: 'value', severity: 'error', message: `must be ${typeList(params.type)}, found ${describe(e.data)}` };
    case 'enum':
      return {
        pointer: p,
        target: 'value',
        severity: 'error',
        message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}; found ${describe(e.data)}`,
      };
    case 'const':
      return { pointer: p, target: 'value', severity: 'error', message: `must be ${JSON.stringify(params.allowedValue)}, found ${describe(e.data)}` };
    case 'pattern':
      return { pointer: p, target: 'value', severity: 'error', message: patternMessage(e) };
    case 'format':
      return {
        pointer: p,
        target: 'value',
        severity: 'error',
        message: `must be an RFC 3339 time such as 2020-12-01T00:00:00Z, found ${describe(e.data)}`,
      };
    case 'maxLength':
      if (p === '/metadata/name') {
        return {
          pointer: p,
          target: 'value',
          severity: 'error',
          message: `job name is too long (${String(e.data).length} characters; at most ${MAX_JOB_NAME}, so that run names NAME-yyyyMMddHHmmss-aNN fit ACI's 63)`,
        };
      }
      return { pointer: p, target: 'value', severity: 'error', message: `must be at most ${String(params.limit)} characters long` };
    case 'minLength':
      return { pointer: p, target: 'value', severity: 'error', message: params.limit === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters long` };
    case 'minItems':
      return { pointer: p, target: 'value', severity: 'error', message: `must have at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}` };
    case 'maxItems':
      return { pointer: p, target: 'value', severity: 'error', message: `must have at most ${String(params.limit)} items (found ${(e.data as unknown[]).length})` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { pointer: p, target: 'value', severity: 'error', message: `must be ${String(params.comparison)} ${String(params.limit)}, found ${String(e.data)}` };
    default:
      return { pointer: p, target: 'value', severity: 'error', message: e.message ?? `fails ${e.keyword}` };
  }
}

const SECRET_REF_HINT = 'a secret reference: {env: VARIABLE} or {file: PATH}';

function oneOfMessage(e: ErrorObject, data: unknown): string {
  const branches = (e.parentSchema as { oneOf?: Array<{ title?: string }> } | undefined)?.oneOf ?? [];
  if (branches.some((b) => b.title === 'EnvSecretRef')) {
    if (typeof data === 'string' || typeof data === 'number' || typeof data === 'boolean') {
      return `literal secrets are not allowed; write ${SECRET_REF_HINT}`;
    }
    return `must be ${SECRET_REF_HINT}, with exactly one of env or file`;
  }
  return `${e.message ?? 'must match exactly one alternative'}; found ${describe(data)}`;
}

function errorRank(errors: ErrorObject[], at: string): number {
  // A branch that failed on the type of the value itself is the least likely intent.
  return errors.length + (errors.some((x) => x.keyword === 'type' && x.instancePath === at) ? 1000 : 0);
}

/**
 * Translates ajv's errors. For a `oneOf`, the branch with the fewest (and least fundamental)
 * errors is taken as the intended one and its errors are reported; on a tie the oneOf itself is
 * reported with a message naming the alternatives.
 */
export function translateErrors(errors: ErrorObject[]): Issue[] {
  const oneOfs = errors.filter((e) => e.keyword === 'oneOf');
  // Process innermost first so that nested oneOfs resolve before their parents.
  oneOfs.sort((a, b) => b.schemaPath.length - a.schemaPath.length);
  let rest = errors.filter((e) => e.keyword !== 'oneOf');
  const out: Issue[] = [];
  for (const o of oneOfs) {
    const prefix = o.schemaPath + '/';
    const inside = rest.filter((e) => e.schemaPath.startsWith(prefix) && (e.instancePath === o.instancePath || e.instancePath.startsWith(o.instancePath + '/')));
    rest = rest.filter((e) => !inside.includes(e));
    const branches = new Map<string, ErrorObject[]>();
    for (const e of inside) {
      const branch = e.schemaPath.slice(prefix.length).split('/')[0];
      branches.set(branch, [...(branches.get(branch) ?? []), e]);
    }
    const ranked = [...branches.values()].map((errs) => ({ errs, rank: errorRank(errs, o.instancePath) })).sort((a, b) => a.rank - b.rank);
    if (ranked.length === 0 || (ranked.length > 1 && ranked[0].rank === ranked[1].rank)) {
      out.push({ pointer: o.instancePath, target: 'value', severity: 'error', message: oneOfMessage(o, o.data) });
    } else {
      out.push(...translateErrors(ranked[0].errs));
    }
  }
  for (const e of rest) out.push(translate(e));
  // ajv can report the same thing twice (e.g. via two $ref paths): keep one.
  const seen = new Set<string>();
  return out.filter((i) => {
    const k = `${i.pointer}\u0000${i.target}\u0000${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Validates plain data against the ContainerJob schema. */
export function checkSchema(value: unknown): Issue[] {
  const validate = schemaValidator();
  if (validate(value)) return [];
  return translateErrors(validate.errors ?? []);
}
