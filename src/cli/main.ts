import { Command, CommanderError } from 'commander';
import { CliContext, CliError, EXIT } from './context';
import { commandsFor } from './commands';

function packageVersion(): string {
  // From src/cli (ts-jest) the package root is two levels up; from dist/src/cli it is three.
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = require(rel) as { name?: string; version?: string };
      if (pkg.name === 'acictl' && pkg.version) return pkg.version;
    } catch {
      /* try the next location */
    }
  }
  return '0.0.0';
}

/**
 * Builds the commander program; each command module registers itself. Given the verb of the call
 * (the first argument), only its module is loaded.
 */
export function buildProgram(ctx: CliContext, verb?: string): Command {
  const program = new Command('acictl')
    .description('Declarative, scheduled container jobs on Azure Container Instances')
    .version(packageVersion())
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => ctx.stdout(s), writeErr: (s) => ctx.stderr(s) })
    .exitOverride();
  for (const register of commandsFor(verb)) register(program, ctx);
  return program;
}

function defaultContext(): CliContext {
  let resolveShutdown!: (signal: string) => void;
  const shutdown = new Promise<string>((r) => (resolveShutdown = r));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolveShutdown(sig));
  return {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    env: process.env,
    cwd: process.cwd(),
    stdin: process.stdin,
    isTTY: Boolean(process.stdout.isTTY),
    exitCode: EXIT.OK,
    shutdown,
  };
}

/** Runs the CLI and returns the exit code (DESIGN §4: 0 ok, 1 negative answer, 2 usage, 3 unreachable/internal). */
export async function main(argv: string[], ctx: CliContext = defaultContext()): Promise<number> {
  // argv is [node, script, ...args]; the CLI has no options before its verb but --help/--version.
  const first = argv[2];
  const program = buildProgram(ctx, first !== undefined && !first.startsWith('-') ? first : undefined);
  try {
    await program.parseAsync(argv);
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.OK;
      return EXIT.USAGE;
    }
    if (err instanceof CliError) {
      ctx.stderr(`acictl: ${err.message}\n`);
      return err.exitCode;
    }
    ctx.stderr(`acictl: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    return EXIT.UNREACHABLE;
  }
}
