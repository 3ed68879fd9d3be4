/**
 * Figures of the reliability suite: each part writes one JSON file (its one-line summary and the raw
 * numbers) into FIGURES_DIR; the globalTeardown of jest.reliability.config.js prints them as a table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const FIGURES_DIR = process.env.ACICTL_RELIABILITY_FIGURES ?? path.join(os.tmpdir(), 'acictl-reliability-figures');

export interface PartFigures {
  /** Short part name, e.g. "crash" or "crash (reduced)". */
  part: string;
  /** One human line: "50 kills, 412 slots due, 412 run, 0 duplicates, 0 lost". */
  summary: string;
  figures: Record<string, unknown>;
  /** Whether the invariants checked by this part held (the test asserts them too). */
  ok: boolean;
}

export function writeFigures(file: string, f: PartFigures): void {
  mkdirSync(FIGURES_DIR, { recursive: true });
  writeFileSync(path.join(FIGURES_DIR, `${file}.json`), JSON.stringify({ ...f, at: new Date().toISOString() }, null, 2));
}

export function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
