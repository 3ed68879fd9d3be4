/**
 * `acictl validate [PATH...]`: offline parse + schema + semantic checks of manifest files,
 * directories (recursive) and `-` (standard input). Prints `FILE:LINE:COL: error: MESSAGE (at
 * /pointer)` per problem (or JSON with `-o json`); exit 0 when everything is valid (warnings
 * allowed), 1 when anything is invalid (a missing path included), 2 on a usage error. With the
 * controller's operator flags (--policy, --secrets-dir, …) its admission rules are checked too.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import { CliContext, CliError, EXIT } from '../context';
import type { Diagnostic } from '../../manifest/diagnostic';
import type { ContainerJob } from '../../api/types';

interface ValidateFlags {
  output: string;
  quiet?: boolean;
  policy?: string;
  secretsDir: string[];
  secretEnvPrefix: string[];
  secretEnv: string[];
  keyVault: string[];
  stateDir: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** With any operator flag, the controller's admission rules as `acictl controller` with the same flags applies them. */
async function operatorRules(flags: ValidateFlags, ctx: CliContext): Promise<((job: ContainerJob, file: string) => { pointer: string; message: string }[]) | undefined> {
  const given = flags.policy !== undefined || flags.secretsDir.length + flags.secretEnvPrefix.length + flags.secretEnv.length + flags.keyVault.length > 0;
  if (!given) return undefined;
  const [{ SecretAccess }, { admission, SourcePolicies }] = await Promise.all([import('../../aci/secret-access'), import('../../controller/admission')]);
  let policies: InstanceType<typeof SourcePolicies> | null = null;
  if (flags.policy !== undefined) {
    try {
      policies = SourcePolicies.load(resolve(ctx.cwd, flags.policy));
    } catch (err) {
      throw new CliError(`--policy: ${(err as Error).message}`, EXIT.USAGE);
    }
  }
  const access = new SecretAccess({
    envPrefixes: flags.secretEnvPrefix,
    envNames: flags.secretEnv,
    secretsDirs: flags.secretsDir.map((d) => resolve(ctx.cwd, d)),
    forbiddenPaths: [resolve(ctx.cwd, flags.stateDir)],
    keyVaults: flags.keyVault.map((v) => (v.includes('=') ? v.slice(0, v.indexOf('=')) : v)),
    env: ctx.env,
  });
  const admit = admission(access, policies);
  return (job, file) => admit.check(job, { file });
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('validate')
    .description('check manifests offline: YAML/JSON syntax, schema and semantic rules (default: ./manifests)')
    .argument('[paths...]', 'manifest files, directories (searched recursively for *.yaml, *.yml, *.json), or - for stdin')
    .option('-o, --output <format>', 'output format: text or json', 'text')
    .option('-q, --quiet', 'print errors only, not warnings')
    .option('--policy <file>', "apply the controller's per-source policy file (as `acictl controller --policy`)")
    .option('--secrets-dir <dir>', 'as the controller: {file} secret references only inside this directory (repeatable)', collect, [] as string[])
    .option('--secret-env-prefix <prefix>', 'as the controller: allowed secret environment variable prefix (repeatable)', collect, [] as string[])
    .option('--secret-env <name>', 'as the controller: allowed secret environment variable (repeatable)', collect, [] as string[])
    .option('--key-vault <name[=url]>', 'as the controller: allowed Key Vault (repeatable)', collect, [] as string[])
    .option('--state-dir <dir>', "the controller's state dir (never a secret source)", ctx.env.ACICTL_STATE_DIR ?? '.acictl')
    .addHelpText('after', `
With any of --policy, --secrets-dir, --secret-env-prefix, --secret-env or --key-vault, the operator's
admission rules are checked too, exactly as a controller started with the same flags checks them
(without them: syntax, schema and semantic rules only).`)
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
      const admit = await operatorRules(flags, ctx);
      const report = await validatePaths(absolute, { stdin: stdinReader(ctx.stdin), stdinName: '<stdin>', admit });
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
