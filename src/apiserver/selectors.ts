/**
 * Kubernetes label selectors (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`, `a`, `!a`)
 * and the field selectors the API supports.
 */
import { errors } from './status';

export type Requirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'notexists' };

const KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Split at commas that are not inside parentheses. */
function splitTop(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function checkKey(key: string, selector: string): string {
  if (!KEY.test(key) || key.length > 316) throw errors.badRequest(`unable to parse requirement: invalid label key ${JSON.stringify(key)} in selector ${JSON.stringify(selector)}`);
  return key;
}

function checkValue(value: string, selector: string): string {
  if (!VALUE.test(value) || value.length > 63) throw errors.badRequest(`unable to parse requirement: invalid label value ${JSON.stringify(value)} in selector ${JSON.stringify(selector)}`);
  return value;
}

/** Parse a label selector; an empty selector matches everything. Throws a 400 ApiError. */
export function parseLabelSelector(selector: string | null | undefined): Requirement[] {
  if (!selector || selector.trim() === '') return [];
  const reqs: Requirement[] = [];
  for (const raw of splitTop(selector)) {
    const part = raw.trim();
    if (part === '') throw errors.badRequest(`invalid label selector ${JSON.stringify(selector)}: empty requirement`);
    let m: RegExpExecArray | null;
    if ((m = /^(\S+?)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part))) {
      const values = m[3]!.split(',').map((v) => checkValue(v.trim(), selector));
      reqs.push({ key: checkKey(m[1]!, selector), op: m[2] as 'in' | 'notin', values });
    } else if ((m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part))) {
      const key = checkKey(m[1]!, selector);
      const value = checkValue(m[3]!, selector);
      reqs.push({ key, op: m[2] === '!=' ? 'notin' : 'in', values: [value] });
    } else if ((m = /^!\s*(\S+)$/.exec(part))) {
      reqs.push({ key: checkKey(m[1]!, selector), op: 'notexists' });
    } else if (/^\S+$/.test(part)) {
      reqs.push({ key: checkKey(part, selector), op: 'exists' });
    } else {
      throw errors.badRequest(`unable to parse requirement ${JSON.stringify(part)} of label selector ${JSON.stringify(selector)}`);
    }
  }
  return reqs;
}

export function matchLabels(reqs: Requirement[], labels: Record<string, string>): boolean {
  for (const r of reqs) {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    switch (r.op) {
      case 'exists':
        if (!has) return false;
        break;
      case 'notexists':
        if (has) return false;
        break;
      case 'in':
        if (!has || !r.values.includes(labels[r.key]!)) return false;
        break;
      case 'notin':
        if (has && r.values.includes(labels[r.key]!)) return false;
        break;
    }
  }
  return true;
}

export interface FieldRequirement {
  field: string;
  equal: boolean;
  value: string;
}

/**
 * Parse a field selector. Only `supported` fields are accepted (Kubernetes answers 400 for the
 * rest): `metadata.name` everywhere, `spec.job` for runs.
 */
export function parseFieldSelector(selector: string | null | undefined, supported: string[]): FieldRequirement[] {
  if (!selector || selector.trim() === '') return [];
  return selector.split(',').map((raw) => {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(\S*)\s*$/.exec(raw);
    if (!m) throw errors.badRequest(`invalid field selector ${JSON.stringify(selector)}`);
    if (!supported.includes(m[1]!)) throw errors.badRequest(`field label not supported: ${m[1]}`);
    return { field: m[1]!, equal: m[2] !== '!=', value: m[3]! };
  });
}

export function matchFields(reqs: FieldRequirement[], fields: Record<string, string>): boolean {
  return reqs.every((r) => (fields[r.field] === r.value) === r.equal);
}
