/**
 * Diagnostics of the loader and the validator: where (file, line, column, JSON pointer) and what.
 * Lines and columns are 1-based; line 0 means "the file as a whole" (it could not be read at all).
 */

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  /** JSON pointer into the document ("" for the whole document or file). */
  pointer: string;
  message: string;
  severity: Severity;
  /** 0-based index of the document in a multi-document file; absent for file-level problems. */
  document?: number;
}

/** `FILE:LINE:COL: error: MESSAGE (at /json/pointer)`; file-level problems omit LINE:COL. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
  const at = d.pointer ? ` (at ${d.pointer})` : '';
  return `${where}: ${d.severity}: ${d.message}${at}`;
}

/** Stable order: file, line, column, then errors before warnings. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  if (a.line !== b.line) return a.line - b.line;
  if (a.column !== b.column) return a.column - b.column;
  if (a.severity !== b.severity) return a.severity === 'error' ? -1 : 1;
  return a.message < b.message ? -1 : a.message > b.message ? 1 : 0;
}

/** JSON pointer of a path of segments (RFC 6901 escaping). */
export function toPointer(segments: ReadonlyArray<string | number>): string {
  return segments.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/** Segments of a JSON pointer. */
export function fromPointer(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}
