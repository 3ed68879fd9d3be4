/**
 * The ContainerJob JSON Schema (`schemas/containerjob.v1.schema.json`) as a *structural* OpenAPI
 * schema, the form Kubernetes publishes for custom resources: `$ref`s inlined, combinators
 * merged, `type: [T, "null"]` turned into `nullable`. The same structural schema finds and prunes
 * unknown fields (`fieldValidation=Warn|Ignore`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const SCHEMA_FILE = 'schemas/containerjob.v1.schema.json';

export interface Structural {
  type?: string;
  description?: string;
  properties?: Record<string, Structural>;
  required?: string[];
  items?: Structural;
  additionalProperties?: Structural;
  enum?: unknown[];
  nullable?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  [keyword: string]: unknown;
}

/** Keywords copied as they are (OpenAPI v3.0 and v2 agree on them). */
const COPY = ['description', 'format', 'default', 'minimum', 'maximum', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'uniqueItems', 'minProperties', 'maxProperties', 'multipleOf'];

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function resolvePointer(root: Json, ref: string): Json | undefined {
  if (!ref.startsWith('#')) return undefined;
  let cur: unknown = root;
  for (const raw of ref.slice(1).split('/').filter((p) => p !== '')) {
    let key: string;
    try {
      key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    } catch {
      return undefined; // a malformed $ref resolves to nothing, like a missing one
    }
    if (!isObj(cur)) return undefined;
    cur = cur[key];
  }
  return isObj(cur) ? cur : undefined;
}

/** Merge `b` into `a` (objects: union of properties; otherwise the first type/keyword wins). */
function merge(a: Structural, b: Structural): Structural {
  const out: Structural = { ...b, ...a };
  if (a.properties || b.properties) {
    const props: Record<string, Structural> = { ...(b.properties ?? {}) };
    for (const [k, v] of Object.entries(a.properties ?? {})) props[k] = props[k] ? merge(v, props[k]!) : v;
    out.properties = props;
    out.type = 'object';
  }
  if (a.items && b.items) out.items = merge(a.items, b.items);
  if (a.required || b.required) {
    const req = [...new Set([...(a.required ?? []), ...(b.required ?? [])])];
    if (req.length > 0) out.required = req;
  }
  if (a.nullable || b.nullable) out.nullable = true;
  return out;
}

class Converter {
  private stack: string[] = [];
  constructor(private readonly root: Json) {}

  convert(input: unknown): Structural {
    if (input === true || input === undefined) return { 'x-kubernetes-preserve-unknown-fields': true };
    if (!isObj(input)) return {};
    let node = input;
    let out: Structural = {};
    if (typeof node.$ref === 'string') {
      const ref = node.$ref;
      const target = resolvePointer(this.root, ref);
      if (!target || this.stack.includes(ref)) {
        out = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
      } else {
        this.stack.push(ref);
        out = this.convert(target);
        this.stack.pop();
      }
      node = { ...node };
      delete node.$ref;
    }
    // type, possibly with "null"
    const types = Array.isArray(node.type) ? (node.type as string[]) : typeof node.type === 'string' ? [node.type] : [];
    const nonNull = types.filter((t) => t !== 'null');
    if (types.includes('null')) out.nullable = true;
    if (nonNull.length === 1) out.type = nonNull[0];
    else if (nonNull.length === 2 && nonNull.includes('integer') && nonNull.includes('string')) out['x-kubernetes-int-or-string'] = true;
    else if (nonNull.length === 2 && nonNull.includes('integer') && nonNull.includes('number')) out.type = 'number';
    for (const k of COPY) if (node[k] !== undefined) out[k] = node[k];
    if (typeof node.exclusiveMinimum === 'number') {
      out.minimum = node.exclusiveMinimum;
      out.exclusiveMinimum = true;
    }
    if (typeof node.exclusiveMaximum === 'number') {
      out.maximum = node.exclusiveMaximum;
      out.exclusiveMaximum = true;
    }
    if (node.const !== undefined) out.enum = [node.const];
    if (Array.isArray(node.enum)) out.enum = node.enum.filter((e) => e !== null);
    if (Array.isArray(node.enum) && node.enum.includes(null)) out.nullable = true;
    if (out.enum && out.enum.length === 0) delete out.enum;
    if (out.enum && !out.type) {
      const kinds = new Set(out.enum.map((e) => (typeof e === 'number' ? 'number' : typeof e)));
      if (kinds.size === 1) out.type = [...kinds][0] === 'number' && out.enum.every(Number.isInteger) ? 'integer' : [...kinds][0];
    }
    if (Array.isArray(node.required)) out.required = node.required.filter((r): r is string => typeof r === 'string');
    if (isObj(node.properties)) {
      out.type = out.type ?? 'object';
      const props: Record<string, Structural> = { ...(out.properties ?? {}) };
      for (const [k, v] of Object.entries(node.properties)) props[k] = props[k] ? merge(this.convert(v), props[k]!) : this.convert(v);
      out.properties = props;
    }
    if (node.items !== undefined) out.items = Array.isArray(node.items) ? this.convert(node.items[0]) : this.convert(node.items);
    const pattern = isObj(node.patternProperties) ? Object.values(node.patternProperties) : [];
    if (isObj(node.additionalProperties)) out.additionalProperties = this.convert(node.additionalProperties);
    else if (pattern.length > 0) out.additionalProperties = pattern.map((p) => this.convert(p)).reduce(merge);
    else if (node.additionalProperties === true && !out.properties) out['x-kubernetes-preserve-unknown-fields'] = true;
    else if (out.type === 'object' && !out.properties && node.additionalProperties === undefined && !node.oneOf && !node.anyOf && !node.allOf) {
      out['x-kubernetes-preserve-unknown-fields'] = true;
    }
    for (const sub of (Array.isArray(node.allOf) ? node.allOf : []) as unknown[]) out = merge(out, this.convert(sub));
    const alternatives = [...(Array.isArray(node.oneOf) ? node.oneOf : []), ...(Array.isArray(node.anyOf) ? node.anyOf : [])] as unknown[];
    if (alternatives.length > 0) out = this.mergeAlternatives(out, alternatives.map((a) => this.convert(a)));
    if (out.properties && out['x-kubernetes-preserve-unknown-fields']) delete out['x-kubernetes-preserve-unknown-fields'];
    return out;
  }

  /** oneOf/anyOf become one structural schema: object branches are merged, `null` makes it nullable. */
  private mergeAlternatives(base: Structural, alts: Structural[]): Structural {
    let out = base;
    const typed = alts.filter((a) => a.type !== undefined || a.properties || a.items);
    const kinds = new Set(typed.map((a) => a.type ?? (a.properties ? 'object' : 'array')));
    if (alts.some((a) => a.nullable && !a.type)) out.nullable = true;
    if (kinds.size <= 1) {
      for (const a of typed) {
        const { required: _r, ...rest } = a; // a field required by one branch is not required by the union
        out = merge(out, rest);
      }
      if (out.properties && typed.length > 1) {
        // required fields only when every branch requires them
        const req = typed.map((a) => new Set(a.required ?? [])).reduce((x, y) => new Set([...x].filter((k) => y.has(k))));
        const baseReq = base.required ?? [];
        const all = [...new Set([...baseReq, ...req])];
        if (all.length > 0) out.required = all;
        else delete out.required;
      }
    } else if (kinds.size === 2 && kinds.has('integer') && kinds.has('string')) {
      delete out.type;
      out['x-kubernetes-int-or-string'] = true;
    } else {
      // mixed kinds: describe loosely and let the server-side validator decide
      delete out.type;
      out['x-kubernetes-preserve-unknown-fields'] = true;
    }
    for (const a of alts) if (a.description && !out.description) out.description = a.description;
    return out;
  }
}

export interface JobSchema {
  /** Structural schema of `spec`. */
  spec: Structural;
  /** Description of the ContainerJob kind. */
  description: string;
  /** Where it was loaded from (undefined: the permissive fallback). */
  file?: string;
}

/** The permissive schema used when the schema file is missing (validation is then the validator's alone). */
export const PERMISSIVE_SPEC: Structural = { type: 'object', description: 'ContainerJob spec.', 'x-kubernetes-preserve-unknown-fields': true };

/** Convert a parsed ContainerJob JSON Schema. */
export function jobSchemaFrom(root: Json, file?: string): JobSchema {
  const conv = new Converter(root);
  const whole = conv.convert(root);
  const spec = whole.properties?.spec ?? PERMISSIVE_SPEC;
  return {
    spec,
    description:
      typeof root.description === 'string' ? root.description : 'A ContainerJob runs containers on Azure Container Instances on a schedule.',
    file,
  };
}

/** Walk up from this module to the package root and find the schema file. */
export function findSchemaFile(start = __dirname): string | undefined {
  let dir = start;
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, SCHEMA_FILE);
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

/** Load and convert the schema file; the permissive fallback when it is missing. */
export function loadJobSchema(file = findSchemaFile()): JobSchema {
  if (!file || !existsSync(file)) return { spec: PERMISSIVE_SPEC, description: 'ContainerJob (schema file not found).' };
  return jobSchemaFrom(JSON.parse(readFileSync(file, 'utf8')) as Json, file);
}

/**
 * Fields of `value` that `schema` does not declare, as Kubernetes field paths under `path`, and a
 * copy of `value` without them (the pruning Kubernetes does for custom resources).
 */
export function pruneUnknown(value: unknown, schema: Structural, path: string): { pruned: unknown; unknown: string[] } {
  const unknown: string[] = [];
  const walk = (v: unknown, s: Structural | undefined, p: string): unknown => {
    if (!s || s['x-kubernetes-preserve-unknown-fields']) return v;
    if (Array.isArray(v)) return s.items ? v.map((item, i) => walk(item, s.items, `${p}[${i}]`)) : v;
    if (!isObj(v)) return v;
    if (s.properties) {
      const out: Json = {};
      for (const [k, child] of Object.entries(v)) {
        const cs = s.properties[k];
        if (cs) out[k] = walk(child, cs, p === '' ? k : `${p}.${k}`);
        else if (s.additionalProperties) out[k] = walk(child, s.additionalProperties, `${p}[${JSON.stringify(k)}]`);
        else unknown.push(p === '' ? k : `${p}.${k}`);
      }
      return out;
    }
    if (s.additionalProperties) {
      const out: Json = {};
      for (const [k, child] of Object.entries(v)) out[k] = walk(child, s.additionalProperties, `${p}[${JSON.stringify(k)}]`);
      return out;
    }
    return v;
  };
  const pruned = walk(value, schema, path);
  return { pruned, unknown };
}
