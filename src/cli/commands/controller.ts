import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../context';
import { parseDuration } from '../../api/duration';

export const DEFAULT_LISTEN = '127.0.0.1:8642';

/** HOST:PORT → parts; a bare port means 127.0.0.1. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:(.*):)?(\d{1,5})$/.exec(text.trim());
  if (!m) throw new CliError(`--listen: expected HOST:PORT, got "${text}"`, EXIT.USAGE);
  const port = Number(m[2]);
  if (port > 65535) throw new CliError(`--listen: port ${port} out of range`, EXIT.USAGE);
  const host = (m[1] ?? '127.0.0.1').replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  return { host, port };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('controller')
    .description('run the controller: watch manifests, schedule runs, reconcile ACI container groups')
    .option('--manifests <dir>', 'manifest directory to watch (repeatable)', collect, [] as string[])
    .option('--emulator', 'start the local ARM emulator in-process and run against it')
    .addOption(new Option('--runtime <runtime>', 'emulator runtime (with --emulator)').choices(['process', 'simulate']).default('process'))
    .option('--state-dir <dir>', 'store, token, kubeconfig and emulator state', ctx.env.ACICTL_STATE_DIR ?? '.acictl')
    .option('--listen <host:port>', 'HTTP API address', DEFAULT_LISTEN)
    .option('--once', 'reconcile every job once and exit (0 when every job is Ready)')
    .option('--allow-empty', 'let an empty manifests directory prune every job it had')
    .option('--subscription <id>', 'default Azure subscription (env AZURE_SUBSCRIPTION_ID)')
    .option('--arm-endpoint <url>', 'ARM endpoint, e.g. a sovereign cloud or a standalone emulator (env ACICTL_ARM_ENDPOINT)')
    .option('--arm-ca <file>', 'PEM CA to trust for the ARM endpoint (env ACICTL_ARM_CA)')
    .option('--resync-interval <duration>', 'how often owned container groups are listed again', '5m')
    .option('--concurrency <n>', 'jobs reconciled in parallel', '8')
    .addOption(new Option('--log-format <format>', 'log format').choices(['auto', 'json', 'pretty']).default('auto'))
    .addHelpText(
      'after',
      `
Examples:
  $ acictl controller --manifests manifests --emulator      # try it locally, no Azure needed
  $ acictl controller --manifests /git/jobs --subscription 00000000-0000-0000-0000-000000000000
  $ eval "$(acictl emulator --state-dir /tmp/emu &)"; acictl controller --manifests manifests
  $ acictl controller --manifests manifests --emulator --once`,
    )
    .action(async (o) => {
      const listen = parseListen(o.listen);
      const concurrency = Number(o.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1) throw new CliError('--concurrency must be a positive integer', EXIT.USAGE);
      let resyncIntervalMs: number;
      try {
        resyncIntervalMs = parseDuration(o.resyncInterval);
      } catch (e) {
        throw new CliError(`--resync-interval: ${(e as Error).message}`, EXIT.USAGE);
      }
      // Loaded here, not at the top: every other command would pay for the Azure SDK's import time.
      const { default: pino } = await import('pino');
      const { default: pretty } = await import('pino-pretty');
      const { startController } = await import('../../controller/controller');
      const prettyLogs = o.logFormat === 'pretty' || (o.logFormat === 'auto' && ctx.isTTY);
      const logger = prettyLogs
        ? pino({ level: ctx.env.ACICTL_LOG_LEVEL ?? 'info' }, pretty({
              colorize: true,
              sync: true,
              singleLine: true,
              translateTime: 'SYS:HH:MM:ss',
              // Container output reads as "[job run] line"; controller events as "job: message".
              messageFormat: (log: Record<string, unknown>, messageKey: string) => {
                const msg = String(log[messageKey] ?? '');
                if (log.container) return `[${String(log.run)}${Number(log.attempt) > 1 ? ` attempt ${String(log.attempt)}` : ''}] ${msg}`;
                return log.job ? `${String(log.job)}: ${msg}` : msg;
              },
              ignore: 'pid,hostname,component,stream,container,attempt,run,job,reason',
            }))
        : pino({ level: ctx.env.ACICTL_LOG_LEVEL ?? 'info' });

      const caFile = o.armCa ?? ctx.env.ACICTL_ARM_CA;
      let ca: string | undefined;
      if (caFile) {
        try {
          ca = readFileSync(resolve(ctx.cwd, caFile), 'utf8');
        } catch (e) {
          throw new CliError(`--arm-ca: cannot read ${caFile}: ${(e as Error).message}`, EXIT.USAGE);
        }
      }
      const controller = await startController({
        manifests: (o.manifests as string[]).map((m) => resolve(ctx.cwd, m)),
        stateDir: resolve(ctx.cwd, o.stateDir),
        listen,
        once: Boolean(o.once),
        allowEmpty: Boolean(o.allowEmpty),
        emulator: o.emulator ? { runtime: o.runtime } : null,
        arm: {
          subscriptionId: o.subscription ?? ctx.env.AZURE_SUBSCRIPTION_ID,
          endpoint: o.armEndpoint ?? ctx.env.ACICTL_ARM_ENDPOINT,
          ca,
        },
        resyncIntervalMs,
        concurrency,
        env: ctx.env,
        logger,
      }).catch((err: Error & { code?: string }) => {
        if (err.code === 'EADDRINUSE') {
          throw new CliError(`controller failed to start: ${listen.host}:${listen.port} is already in use (another controller?); pass --listen HOST:PORT`, EXIT.UNREACHABLE);
        }
        throw new CliError(`controller failed to start: ${err.message}`, EXIT.UNREACHABLE);
      });
      if (o.once) {
        await controller.whenIdle();
        const ok = controller.allReady();
        await controller.stop();
        ctx.exitCode = ok ? EXIT.OK : EXIT.NEGATIVE;
        return;
      }
      const signal = await ctx.shutdown;
      logger.info({ signal }, 'stopping: draining in-flight reconciles');
      await controller.stop();
      logger.flush?.();
    });
}
