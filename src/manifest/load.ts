/**
 * Reads manifest text into documents with source positions (pure: the caller reads the bytes).
 *
 * YAML (multi-document) and JSON (one document; parsed by the same YAML 1.2 parser so that it too
 * keeps positions and rejects duplicate keys). Hostile input is bounded before it can hurt:
 * - file size: checked on the byte count before decoding or parsing (the caller checks the size of
 *   a file before reading it, see read-files.ts);
 * - binary junk: NUL bytes or invalid UTF-8 are reported, not parsed;
 * - document count: estimated from the `---` markers before parsing, then checked exactly;
 * - alias expansion ("billion laughs"): yaml's `maxAliasCount` stops the expansion early;
 * - duplicate keys: errors (`uniqueKeys`), pointing at the second occurrence;
 * - nesting: a document nested deeper than MAX_NESTING_DEPTH (api/depth.ts) is refused, pointing at
 *   the first node past the limit, before anything recursive walks it (the parser's own stack
 *   overflow on deeper input is reported as the same limit).
 * An empty file (or one with only comments / empty documents) is an error: a manifest file that
 * defines nothing is almost always a truncated write, and treating it as "no jobs" would let the
 * controller prune every job it defined (DESIGN §7.3). Empty documents between others are skipped.
 */
import { Document, LineCounter, Node, Pair, isAlias, isMap, isPair, isScalar, isSeq, parseAllDocuments, visit } from 'yaml';
import { MAX_NESTING_DEPTH, exceedsNesting, nestingMessage } from '../api/depth';
import { Diagnostic, fromPointer } from './diagnostic';

export interface LoadLimits {
  /** Largest accepted file, in bytes. */
  maxFileBytes: number;
  /** Most documents in one file. */
  maxDocuments: number;
  /** yaml's alias-expansion budget per document. */
  maxAliasCount: number;
}

export const DEFAULT_LIMITS: Readonly<LoadLimits> = {
  maxFileBytes: 4 * 1024 * 1024,
  maxDocuments: 1000,
  maxAliasCount: 100,
};

export interface Position {
  line: number;
  column: number;
}

/** What a diagnostic points at: the key of a mapping entry, or the value. */
export type Target = 'key' | 'value';

export interface LoadedDocument {
  /** 0-based index in the file. */
  index: number;
  /** Plain data of the document. */
  value: unknown;
  /** Where the document's content starts. */
  start: Position;
  /** Position of the node at a JSON pointer (the nearest existing ancestor when it is absent). */
  locate(pointer: string, target?: Target): Position;
}

export interface LoadedFile {
  /** Documents that parsed; documents with syntax errors are left out (their errors are diagnostics). */
  documents: LoadedDocument[];
  /** Number of non-empty documents in the file, parsed or not. */
  documentCount: number;
  diagnostics: Diagnostic[];
}

export type SourceFormat = 'yaml' | 'json';

export function formatOf(file: string): SourceFormat {
  return /\.json$/i.test(file) ? 'json' : 'yaml';
}

const MiB = 1024 * 1024;
function size(bytes: number): string {
  return bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : `${bytes} bytes`;
}

export function tooLarge(file: string, bytes: number, limit: number): Diagnostic {
  return fileError(file, `file is too large (${size(bytes)}; the limit is ${size(limit)})`);
}

function fileError(file: string, message: string, line = 1, column = 1): Diagnostic {
  return { file, line, column, pointer: '', message, severity: 'error' };
}

function positionOfOffset(bytes: Uint8Array, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  // Column in characters: count UTF-8 lead bytes between the line start and the offset.
  let column = 1;
  for (let i = lineStart; i < offset; i++) if ((bytes[i] & 0xc0) !== 0x80) column++;
  return { line, column };
}

/** Offset of the first byte that is not part of a well-formed UTF-8 sequence, or -1. */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) (n = 1), (min = 0x80);
    else if (c >= 0xe0 && c <= 0xef) (n = 2), (min = 0x800);
    else if (c >= 0xf0 && c <= 0xf4) (n = 3), (min = 0x10000);
    else return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const cc = b[i + k];
      if (cc === undefined || (cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Checks raw bytes (size, NUL bytes, UTF-8) and decodes them. A leading BOM is dropped.
 */
export function decodeBytes(
  bytes: Uint8Array,
  file: string,
  limits: LoadLimits = DEFAULT_LIMITS,
): { ok: true; text: string } | { ok: false; diagnostic: Diagnostic } {
  if (bytes.length > limits.maxFileBytes) return { ok: false, diagnostic: tooLarge(file, bytes.length, limits.maxFileBytes) };
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    const p = positionOfOffset(bytes, nul);
    return { ok: false, diagnostic: fileError(file, 'binary content (NUL byte): not a YAML or JSON manifest', p.line, p.column) };
  }
  try {
    return { ok: true, text: utf8.decode(bytes) };
  } catch {
    const bad = firstInvalidUtf8(bytes);
    const p = positionOfOffset(bytes, bad < 0 ? 0 : bad);
    return { ok: false, diagnostic: fileError(file, 'invalid UTF-8: manifests must be UTF-8 text', p.line, p.column) };
  }
}

const DOC_MARKER = /^---(?=[ \t\r\n]|$)/gm;

function yamlError(code: string, message: string, doc: Document.Parsed, offset: number, text: string): { offset: number; message: string } {
  if (code === 'DUPLICATE_KEY') {
    let key: string | undefined;
    visit(doc, {
      Pair(_, pair: Pair) {
        const k = pair.key as Node | null;
        if (k && k.range && k.range[0] === offset) {
          key = isScalar(k) ? String(k.value) : text.slice(k.range[0], k.range[1]).trim();
          return visit.BREAK;
        }
        return undefined;
      },
    });
    return { offset, message: key === undefined ? 'duplicate key' : `duplicate key "${key}"` };
  }
  if (code === 'MISSING_CHAR' && /quote/i.test(message)) {
    // The parser notices at the end of the input; the user needs the opening quote.
    let start: number | undefined;
    visit(doc, {
      Scalar(_, node) {
        if ((node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') && node.range && node.range[0] < offset && node.range[1] >= offset) {
          start = node.range[0];
        }
      },
    });
    if (start !== undefined) return { offset: start, message: `YAML syntax error: unterminated quoted string (no closing ${text[start]})` };
  }
  // yaml's messages are sentences; keep the first line.
  return { offset, message: `YAML syntax error: ${message.split('\n')[0]}` };
}

function makeLocator(doc: Document.Parsed, lc: LineCounter): LoadedDocument['locate'] {
  const pos = (offset: number): Position => {
    const p = lc.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const rootStart = (): Position => pos(doc.contents?.range?.[0] ?? doc.range[0]);
  return (pointer: string, target: Target = 'value'): Position => {
    let node: unknown = doc.contents;
    let best: Position = rootStart();
    const segs = fromPointer(pointer);
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i];
      if (isAlias(node)) node = node.resolve(doc);
      if (isMap(node)) {
        const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === seg);
        if (!pair) return best;
        const key = pair.key as Node;
        const keyPos = key.range ? pos(key.range[0]) : best;
        const last = i === segs.length - 1;
        if (last && target === 'key') return keyPos;
        const value = pair.value as Node | null;
        // `key:` with no value has no value node of its own: point at the key.
        best = value && value.range && !(isScalar(value) && value.value === null && value.range[0] === value.range[1]) ? pos(value.range[0]) : keyPos;
        node = value;
      } else if (isSeq(node)) {
        const item = node.items[Number(seg)] as Node | undefined;
        if (!item || !item.range) return best;
        best = pos(item.range[0]);
        node = item;
      } else {
        return best;
      }
    }
    return best;
  };
}

/** Position of the first alias node of a document (where an expansion bomb is). */
function firstAlias(doc: Document.Parsed, lc: LineCounter): Position | undefined {
  let at: Position | undefined;
  visit(doc, {
    Alias(_, node) {
      if (node.range) {
        const p = lc.linePos(node.range[0]);
        at = { line: p.line, column: p.col };
      }
      return visit.BREAK;
    },
  });
  return at;
}

/** The first collection node nested deeper than `limit` (walked iteratively), if any. */
function tooDeep(doc: Document.Parsed, limit: number): Node | undefined {
  const stack: [unknown, number][] = [[doc.contents, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (isMap(node) || isSeq(node)) {
      if (depth > limit) return node;
      for (const it of node.items) {
        if (isPair(it)) {
          stack.push([it.key, depth + 1], [it.value, depth + 1]);
        } else stack.push([it, depth + 1]);
      }
    }
  }
  return undefined;
}

export interface LoadOptions {
  limits?: Partial<LoadLimits>;
  format?: SourceFormat;
}

/** Parses manifest text into documents (see the module comment for the limits). */
export function loadText(text: string, file: string, opts: LoadOptions = {}): LoadedFile {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const format = opts.format ?? formatOf(file);
  const fail = (d: Diagnostic): LoadedFile => ({ documents: [], documentCount: 0, diagnostics: [d] });

  if (text.length * 3 > limits.maxFileBytes) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > limits.maxFileBytes) return fail(tooLarge(file, bytes, limits.maxFileBytes));
  }
  if (text.includes('\u0000')) return fail(fileError(file, 'binary content (NUL byte): not a YAML or JSON manifest'));
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  const markers = text.match(DOC_MARKER)?.length ?? 0;
  if (markers > limits.maxDocuments) {
    return fail(fileError(file, `too many documents (more than ${limits.maxDocuments} in one file)`));
  }

  const lc = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false, merge: true });
  const docs: Document.Parsed[] = Array.isArray(parsed) ? parsed : [];
  const diagnostics: Diagnostic[] = [];
  const documents: LoadedDocument[] = [];
  if (docs.length > limits.maxDocuments) {
    return fail(fileError(file, `too many documents (${docs.length}; the limit is ${limits.maxDocuments} per file)`));
  }
  if (format === 'json' && docs.length > 1) {
    const p = lc.linePos(docs[1].range[0]);
    return fail(fileError(file, 'a .json file must hold exactly one document', p.line, p.col));
  }

  let documentCount = 0;
  docs.forEach((doc, index) => {
    const empty = doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null && doc.errors.length === 0);
    if (!empty) documentCount++;
    for (const w of doc.warnings) {
      const p = lc.linePos(w.pos[0]);
      diagnostics.push({ file, line: p.line, column: p.col, pointer: '', message: w.message.split('\n')[0], severity: 'warning', document: index });
    }
    if (doc.errors.length > 0) {
      if (empty) documentCount++;
      // After the first syntax error the parser's further errors are mostly consequences of it.
      const first = doc.errors.reduce((a, b) => (b.pos[0] < a.pos[0] ? b : a));
      // the parser recurses per level: input deep enough to overflow it is past our limit anyway
      const overflow = doc.errors.find((e) => /call stack/i.test(e.message));
      if (overflow) {
        const p = lc.linePos(overflow.pos[0]);
        diagnostics.push({ file, line: p.line, column: p.col, pointer: '', message: `document is ${nestingMessage()}`, severity: 'error', document: index });
        return;
      }
      const described = yamlError(first.code, first.message, doc, first.pos[0], text);
      const p = lc.linePos(described.offset);
      diagnostics.push({ file, line: p.line, column: p.col, pointer: '', message: described.message, severity: 'error', document: index });
      return;
    }
    if (empty) return;
    const locate = makeLocator(doc, lc);
    const start = locate('');
    const deep = tooDeep(doc, MAX_NESTING_DEPTH);
    if (deep) {
      const p = deep.range ? lc.linePos(deep.range[0]) : { line: start.line, col: start.column };
      diagnostics.push({ file, line: p.line, column: p.col, pointer: '', message: `document is ${nestingMessage()}`, severity: 'error', document: index });
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: limits.maxAliasCount });
    } catch (err) {
      const at = firstAlias(doc, lc) ?? start;
      const why = err instanceof ReferenceError && /alias/i.test(err.message) ? `too many alias expansions (more than ${limits.maxAliasCount}): refusing a possible "billion laughs" document` : `cannot read document: ${(err as Error).message}`;
      diagnostics.push({ file, line: at.line, column: at.column, pointer: '', message: why, severity: 'error', document: index });
      return;
    }
    if (exceedsNesting(value)) {
      // deep through aliases: each part was shallow enough, the expansion is not
      diagnostics.push({ file, line: start.line, column: start.column, pointer: '', message: `document is ${nestingMessage()}`, severity: 'error', document: index });
      return;
    }
    documents.push({ index, value, start, locate });
  });

  if (documentCount === 0 && !diagnostics.some((d) => d.severity === 'error')) {
    diagnostics.push(fileError(file, 'empty file: no ContainerJob documents (delete the file to remove its jobs)'));
  }
  return { documents, documentCount, diagnostics };
}
