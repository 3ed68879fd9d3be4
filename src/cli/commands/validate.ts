/**
 * `acictl validate [PATH...]`: offline parse + schema + semantic checks of manifest files,
 * directories (recursive) and `-` (standard input). Prints `FILE:LINE:COL: error: MESSAGE (at
 * /pointer)` per problem (or JSON with `-o json`); exit 0 when everything is valid (warnings
 * allowed), 1 when anything is invalid (a missing path included), 2 on a usage error.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { Command } from 'commander';
import { CliContext, CliError, EXIT } from '../context';
import type { Diagnostic } from '../../manifest/diagnostic';

interface ValidateFlags {
  output: string;
  quiet?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('validate')
    .description('check manifests offline: YAML/JSON syntax, schema and semantic rules (default: ./manifests)')
    .argument('[paths...]', 'manifest files, directories (searched recursively for *.yaml, *.yml, *.json), or - for stdin')
    .option('-o, --output <format>', 'output format: text or json', 'text')
    .option('-q, --quiet', 'print errors only, not warnings')
    .action(async (paths: string[], flags: ValidateFlags) => {
      if (flags.output !== 'text' && flags.output !== 'json') {
        throw new CliError(`unknown output format "${flags.output}" (use text or json)`, EXIT.USAGE);
      }
      if (paths.length === 0) {
        if (!existsSync(join(ctx.cwd, 'manifests'))) throw new CliError('no paths given and no ./manifests directory (usage: acictl validate PATH...)', EXIT.USAGE);
        paths = ['manifests'];
      }
      if (paths.filter((p) => p === '-').length > 1) throw new CliError('- (stdin) may be given only once', EXIT.USAGE);

      // Paths are resolved against the context's working directory but shown as the user typed them.
      const absolute = paths.map((p) => (p === '-' || isAbsolute(p) ? p : join(ctx.cwd, p)));
      const { formatDiagnostic, stdinReader, validatePaths } = await import('../../manifest/validate');
      const report = await validatePaths(absolute, { stdin: stdinReader(ctx.stdin), stdinName: '<stdin>' });
      const show = (file: string) => {
        if (file === '<stdin>' || !isAbsolute(file)) return file;
        const rel = relative(ctx.cwd, file);
        return rel && !rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel) ? rel : file;
      };
      const diagnostics: Diagnostic[] = report.diagnostics
        .filter((d) => !flags.quiet || d.severity === 'error')
        .map((d) => ({ ...d, file: show(d.file) }));
      const errors = report.diagnostics.filter((d) => d.severity === 'error').length;
      const warnings = report.diagnostics.length - errors;

      if (flags.output === 'json') {
        const out = {
          valid: errors === 0,
          files: report.files,
          errors,
          warnings,
          jobs: report.jobs.map((j) => ({ name: j.job.metadata.name, file: show(j.file), line: j.line, column: j.column, document: j.document })),
          invalidFiles: report.invalidFiles.map(show),
          diagnostics,
        };
        ctx.stdout(JSON.stringify(out, null, 2) + '\n');
      } else {
        for (const d of diagnostics) ctx.stdout(formatDiagnostic(d) + '\n');
        const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
        ctx.stderr(
          `${plural(report.files, 'file')}, ${plural(report.jobs.length, 'valid job')}: ${plural(errors, 'error')}, ${plural(warnings, 'warning')}\n`,
        );
      }
      ctx.exitCode = errors > 0 ? EXIT.NEGATIVE : EXIT.OK;
    });
}
