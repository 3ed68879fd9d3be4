/**
 * Problems found after validation (the operator's admission rules: secret sources, per-source
 * policy) as diagnostics at the line of the field they name. Validation results keep no positions,
 * so the file is parsed again — only when something was refused, which is rare.
 */
import type { Diagnostic } from './diagnostic';
import { formatOf, loadText } from './load';

export interface RefusedJob {
  /** Where the job's document starts (as validation reported it). */
  line: number;
  column: number;
  problems: { pointer: string; message: string }[];
}

export function locateProblems(text: string, file: string, refused: RefusedJob[]): Diagnostic[] {
  const docs = loadText(text, file, { format: formatOf(file) }).documents;
  const out: Diagnostic[] = [];
  for (const r of refused) {
    const doc = docs.find((d) => d.start.line === r.line && d.start.column === r.column);
    for (const p of r.problems) {
      const pos = doc ? doc.locate(p.pointer) : { line: r.line, column: r.column };
      out.push({ file, line: pos.line, column: pos.column, pointer: p.pointer, message: p.message, severity: 'error', document: doc?.index });
    }
  }
  return out;
}
