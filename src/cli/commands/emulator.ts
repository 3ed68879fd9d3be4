/**
 * `acictl emulator`: the standalone local ARM emulator (DESIGN §6). Prints the environment a client
 * needs as `export NAME=value` lines — and nothing else on stdout — then runs until SIGINT/SIGTERM.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CliContext, CliError, EXIT } from '../context';
import type { IfNoneMatchMode } from '../../emulator';

interface EmulatorFlags {
  listen: string;
  runtime: string;
  faults?: string;
  throttling: string;
  stateDir?: string;
  pageSize?: string;
  lroDelay?: string;
  simulateMs?: string;
  simulateExitCode?: string;
  ifNoneMatch: string;
  listInstanceViews?: boolean;
  listDelay?: string;
  auth: string;
}

/** "127.0.0.1:8443", "localhost:0", "[::1]:8443", or just a port. */
export function parseListen(raw: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(raw.trim()) ?? /^()()(\d+)$/.exec(raw.trim());
  if (!m) throw new CliError(`invalid --listen '${raw}' (expected HOST:PORT)`, EXIT.USAGE);
  const host = m[1] || m[2] || '127.0.0.1';
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`invalid port in --listen '${raw}'`, EXIT.USAGE);
  return { host, port };
}

function shellQuote(v: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

function intFlag(raw: string | undefined, name: string, min: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new CliError(`invalid ${name} '${raw}'`, EXIT.USAGE);
  return n;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('emulator')
    .description('run the local ARM emulator for ACI container groups; prints `export NAME=value` lines for clients')
    .option('--listen <host:port>', 'address to bind (loopback only)', '127.0.0.1:0')
    .option('--runtime <runtime>', 'process (run each container command locally) or simulate', 'process')
    .option('--faults <spec>', 'fault injection, e.g. "429=0.2,500=0.05,reset=0.02,latency=0-200ms,seed=42"')
    .option('--throttling <mode>', 'off or azure (the documented ARM/ACI limits)', 'off')
    .option('--state-dir <dir>', 'persist groups and the certificate here (default: nothing persisted)')
    .option('--page-size <n>', 'list page size', '100')
    .option('--lro-delay <ms>', 'how long PUT/start/restart/delete operations stay in flight', '200')
    .option('--simulate-ms <ms>', 'simulate runtime: run duration', '1000')
    .option('--simulate-exit-code <code>', 'simulate runtime: exit code', '0')
    .option('--if-none-match <mode>', 'PUT with If-None-Match: * on an existing group: honour (412), ignore (updates and restarts it) or reject (400 for any PUT carrying it)', 'honour')
    .option('--list-instance-views', 'list responses carry each container\'s instance view (as the 2023-05-01 List example)')
    .option('--list-delay <ms>', 'a created group appears in list responses only after this delay (GET sees it at once)', '0')
    .option('--auth <mode>', 'ARM bearer tokens accepted: any, or issued (only tokens from its identity endpoint)', 'any')
    .action(async (flags: EmulatorFlags) => {
      const { host, port } = parseListen(flags.listen);
      if (flags.runtime !== 'process' && flags.runtime !== 'simulate') throw new CliError(`invalid --runtime '${flags.runtime}' (process or simulate)`, EXIT.USAGE);
      if (flags.throttling !== 'off' && flags.throttling !== 'azure') throw new CliError(`invalid --throttling '${flags.throttling}' (off or azure)`, EXIT.USAGE);
      // loaded here, not at the top: every other command starts without the emulator's modules
      const { parseIfNoneMatchMode, startEmulator } = await import('../../emulator');
      let ifNoneMatch: IfNoneMatchMode;
      try {
        ifNoneMatch = parseIfNoneMatchMode(flags.ifNoneMatch);
      } catch (e) {
        throw new CliError(`invalid --if-none-match '${flags.ifNoneMatch}' (honour, ignore or reject)`, EXIT.USAGE);
      }
      if (flags.auth !== 'any' && flags.auth !== 'issued') throw new CliError(`invalid --auth '${flags.auth}' (any or issued)`, EXIT.USAGE);
      const log = (level: string) => (o: object, msg?: string) => ctx.stderr(`${JSON.stringify({ level, time: new Date().toISOString(), msg, ...o })}\n`);
      let emu;
      try {
        emu = await startEmulator({
          host,
          port,
          runtime: flags.runtime,
          faults: flags.faults,
          throttling: flags.throttling,
          auth: flags.auth,
          stateDir: flags.stateDir ? resolve(ctx.cwd, flags.stateDir) : undefined,
          pageSize: intFlag(flags.pageSize, '--page-size', 1),
          lroDelayMs: intFlag(flags.lroDelay, '--lro-delay', 0),
          simulate: { durationMs: intFlag(flags.simulateMs, '--simulate-ms', 0), exitCode: intFlag(flags.simulateExitCode, '--simulate-exit-code', 0) },
          logger: { info: log('info'), warn: log('warn') },
          behaviour: { ifNoneMatch, listInstanceViews: Boolean(flags.listInstanceViews), listDelayMs: intFlag(flags.listDelay, '--list-delay', 0) ?? 0 },
        });
      } catch (err) {
        if (err instanceof CliError) throw err;
        const msg = (err as Error).message;
        // A malformed fault spec or a non-loopback address is the user's mistake, not ours.
        throw new CliError(msg, /fault|loopback|page size/i.test(msg) ? EXIT.USAGE : EXIT.UNREACHABLE);
      }
      for (const [k, v] of Object.entries(emu.env)) ctx.stdout(`export ${k}=${shellQuote(v)}\n`);
      const signal = await ctx.shutdown;
      ctx.stderr(`${JSON.stringify({ level: 'info', time: new Date().toISOString(), msg: 'emulator stopping', signal })}\n`);
      await emu.close();
    });
}
