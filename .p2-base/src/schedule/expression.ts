/**
 * Cron expressions of the manifest API (DESIGN §2): 5 fields (minute hour day-of-month month
 * day-of-week), an optional seconds field first (6 fields), or a macro. The accepted language is
 * classic Vixie cron — numbers, `*`, ranges `a-b`, steps `*\/n` and `a-b/n`, lists, and three-letter
 * month and day names — and nothing else (no `?`, `L`, `W`, `#`, years): what is accepted today has to
 * stay accepted for years, so extensions are left out until someone needs them.
 *
 * The parsed expression is handed to croner as a numeric 6-field pattern; croner finds the matching
 * wall-clock times, and `schedule.ts` maps them to real instants with the DST rules of DESIGN §2.
 */

export class ScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleError';
  }
}

export const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  /** Largest step croner accepts (the size of its table for the field). */
  maxStep: number;
  names?: readonly string[];
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const SECOND: FieldSpec = { name: 'second', min: 0, max: 59, maxStep: 60 };
const MINUTE: FieldSpec = { name: 'minute', min: 0, max: 59, maxStep: 60 };
const HOUR: FieldSpec = { name: 'hour', min: 0, max: 23, maxStep: 24 };
const DOM: FieldSpec = { name: 'day-of-month', min: 1, max: 31, maxStep: 31 };
const MONTH: FieldSpec = { name: 'month', min: 1, max: 12, maxStep: 12, names: MONTH_NAMES };
const DOW: FieldSpec = { name: 'day-of-week', min: 0, max: 7, maxStep: 7, names: DAY_NAMES };
const FIELDS_6 = [SECOND, MINUTE, HOUR, DOM, MONTH, DOW];

export interface ParsedExpression {
  /** The expression as written. */
  source: string;
  /** Numeric 6-field croner pattern (seconds first), macros expanded, names replaced. */
  pattern: string;
  /**
   * Vixie's "wildcard job": the seconds, minute or hour field starts with `*`. Wildcard jobs run on
   * every real occurrence of a matching wall-clock time (both passes of a repeated hour, none in a
   * skipped hour); all others are fixed-time jobs (once at the first pass; a skipped time runs at the
   * end of the gap).
   */
  wild: boolean;
  /** Whether the expression has a seconds field. */
  hasSeconds: boolean;
}

const ITEM = /^(\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:\/([0-9]+))?$/;

function fail(expression: string, message: string): never {
  throw new ScheduleError(`invalid schedule "${expression}": ${message}`);
}

function value(expression: string, spec: FieldSpec, text: string, rangeEnd: boolean): number {
  let n: number;
  if (/^[0-9]+$/.test(text)) {
    n = Number(text);
  } else {
    const idx = spec.names?.indexOf(text.toUpperCase()) ?? -1;
    if (idx < 0) {
      fail(expression, spec.names
        ? `${spec.name} field: "${text}" is neither a number nor one of ${spec.names.join(', ')}`
        : `${spec.name} field: "${text}" is not a number`);
    }
    n = spec === MONTH ? idx + 1 : idx;
    // SUN at the end of a range means 7 (FRI-SUN = 5-7), as in Vixie cron.
    if (spec === DOW && rangeEnd && n === 0) n = 7;
  }
  if (n < spec.min || n > spec.max) fail(expression, `${spec.name} field: ${text} is out of range ${spec.min}-${spec.max}`);
  return n;
}

/** Validates one field and returns its numeric form and the set of values it matches. */
function parseField(expression: string, spec: FieldSpec, text: string): { text: string; values: Set<number> } {
  const out: string[] = [];
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const m = ITEM.exec(item);
    if (!m) {
      fail(expression, item === ''
        ? `${spec.name} field "${text}" has an empty list element`
        : `${spec.name} field: "${item}" is not a number, a name, *, a range a-b, or a step */n or a-b/n`);
    }
    const [, base, stepText] = m;
    let lo: number;
    let hi: number;
    let baseOut: string;
    if (base === '*') {
      lo = spec.min;
      hi = spec === DOW ? 6 : spec.max;
      baseOut = '*';
    } else if (base.includes('-')) {
      const [a, b] = base.split('-');
      lo = value(expression, spec, a, false);
      hi = value(expression, spec, b, true);
      if (lo > hi) fail(expression, `${spec.name} field: range ${base} runs backwards`);
      baseOut = `${lo}-${hi}`;
    } else {
      lo = value(expression, spec, base, false);
      hi = lo;
      baseOut = String(lo);
      if (stepText !== undefined) {
        fail(expression, `${spec.name} field: a step needs a range or *, as in */${stepText} or ${lo}-${spec.max}/${stepText} (not ${item})`);
      }
    }
    let step = 1;
    if (stepText !== undefined) {
      step = Number(stepText);
      if (step < 1 || step > spec.maxStep) fail(expression, `${spec.name} field: step ${stepText} must be between 1 and ${spec.maxStep}`);
    }
    for (let v = lo; v <= hi; v += step) values.add(spec === DOW && v === 7 ? 0 : v);
    out.push(stepText !== undefined ? `${baseOut}/${step}` : baseOut);
  }
  return { text: out.join(','), values };
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Parses and validates an expression. Throws ScheduleError with a message that names the problem. */
export function parseExpression(expression: string): ParsedExpression {
  if (typeof expression !== 'string') throw new ScheduleError('a schedule must be a string');
  const trimmed = expression.trim();
  if (trimmed === '') fail(expression, 'empty schedule');
  let body = trimmed;
  if (trimmed.startsWith('@')) {
    const macro = MACROS[trimmed.toLowerCase()];
    if (!macro) fail(expression, `unknown macro ${trimmed}; use one of ${Object.keys(MACROS).join(', ')}`);
    body = macro;
  }
  const parts = body.split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) {
    fail(expression, `expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, found ${parts.length}`);
  }
  const hasSeconds = parts.length === 6;
  const fields = hasSeconds ? parts : ['0', ...parts];
  const parsed = fields.map((f, i) => parseField(expression, FIELDS_6[i], f));
  const [, , , dom, month, dow] = parsed;

  // Vixie day matching: when either day field starts with '*' both must match (AND), otherwise
  // either may (OR). croner uses OR unless a field is exactly '*', so make the AND explicit with
  // its '+' modifier when a field is a stepped wildcard such as */2.
  const domRaw = fields[3];
  const dowRaw = fields[5];
  const domStar = domRaw.startsWith('*');
  const dowStar = dowRaw.startsWith('*');
  let dowText = dow.text;
  if ((domStar || dowStar) && domRaw !== '*' && dowRaw !== '*') dowText = `+${dowText}`;

  // A day-of-month that no listed month has (30 2 or 31 4,6) never fires; say so instead of
  // searching for it forever. In OR mode any weekday matches, so only AND/dom-only can be empty.
  const domOnly = dowRaw === '*' || ((domStar || dowStar) && domRaw !== '*');
  if (domOnly && domRaw !== '*') {
    const possible = [...month.values].some((m) => [...dom.values].some((d) => d <= DAYS_IN_MONTH[m - 1]));
    if (!possible) fail(expression, 'never fires: no listed month has the listed day(s) of the month');
  }

  const wild = (hasSeconds && fields[0].startsWith('*')) || fields[1].startsWith('*') || fields[2].startsWith('*');
  const pattern = [parsed[0].text, parsed[1].text, parsed[2].text, dom.text, month.text, dowText].join(' ');
  return { source: expression, pattern, wild, hasSeconds };
}
