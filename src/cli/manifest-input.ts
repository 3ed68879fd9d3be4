/**
 * Reads the manifests named by `-f` (files, directories, `-` for stdin) and validates them locally
 * with the manifest validator, so errors name FILE:LINE:COL before anything reaches the server.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { ContainerJob } from '../api/types';
import type { CliContext } from './context';
import { CliError, EXIT } from './context';

export interface InputJob {
  job: ContainerJob;
  file: string;
  line: number;
  column: number;
}

export interface InputResult {
  jobs: InputJob[];
  /** Formatted `FILE:LINE:COL: error: …` lines. */
  errors: string[];
  /** Formatted warnings. */
  warnings: string[];
}

const MANIFEST_EXT = new Set(['.yaml', '.yml', '.json']);

/**
 * Expands a directory to its manifest files: the top level only, or every level with `recursive`
 * (kubectl's -R). Hidden entries (and git-sync's `..data` links) are skipped.
 */
async function expand(p: string, recursive: boolean, out: string[]): Promise<void> {
  const st = await fsp.stat(p).catch((err: NodeJS.ErrnoException) => {
    throw new CliError(`${p}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`, EXIT.NEGATIVE);
  });
  if (!st.isDirectory()) {
    out.push(p);
    return;
  }
  for (const name of (await fsp.readdir(p)).sort()) {
    if (name.startsWith('.')) continue;
    const child = path.join(p, name);
    const cst = await fsp.stat(child).catch(() => undefined);
    if (cst?.isDirectory()) {
      if (recursive) await expand(child, recursive, out);
    } else if (cst && MANIFEST_EXT.has(path.extname(name).toLowerCase())) {
      out.push(child);
    }
  }
}

/** Paths relative to the working directory, as the user typed them. */
function display(cwd: string, file: string): string {
  if (!path.isAbsolute(file)) return file;
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') ? rel : file;
}

/** Reads and validates every manifest under `paths`; invalid content is reported in `errors`, never thrown. */
export async function readManifests(paths: string[], opts: { recursive: boolean }, ctx: CliContext): Promise<InputResult> {
  const files: string[] = [];
  for (const p of paths) {
    if (p === '-') files.push('-');
    else await expand(path.resolve(ctx.cwd, p), opts.recursive, files);
  }
  // loaded on use: the client commands that read no manifest start without ajv and the schema
  const { formatDiagnostic, stdinReader, validatePaths } = await import('../manifest/validate');
  const report = await validatePaths(files, { stdin: stdinReader(ctx.stdin), stdinName: '<stdin>' });
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const d of report.diagnostics) (d.severity === 'warning' ? warnings : errors).push(formatDiagnostic({ ...d, file: display(ctx.cwd, d.file) }));
  return {
    jobs: report.jobs.map((j) => ({ job: j.job, file: display(ctx.cwd, j.file), line: j.line, column: j.column })),
    errors,
    warnings,
  };
}
