import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../context';
import { parseDuration } from '../../api/duration';
import type { GitSourceSpec } from '../../controller/git-source';
import { isSshUrl, redactUrl } from '../../controller/git-url';
import { GIT_VERIFY_FORMATS, type GitVerifyFormat } from '../../controller/git-verify';

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
  const git = new GitFlags();
  program
    .command('controller')
    .description('run the controller: watch manifests, schedule runs, reconcile ACI container groups')
    .option('--manifests <dir>', 'manifest directory to watch (repeatable)', collect, [] as string[])
    .option('--emulator', 'start the local ARM emulator in-process and run against it')
    .addOption(new Option('--runtime <runtime>', 'emulator runtime (with --emulator)').choices(['process', 'simulate']).default('process'))
    .option('--state-dir <dir>', 'store, token, kubeconfig and emulator state', ctx.env.ACICTL_STATE_DIR ?? '.acictl')
    .option('--store <url>', 'shared store: postgres://USER@HOST:PORT/DB (env ACICTL_STORE; default: SQLite in the state dir)', ctx.env.ACICTL_STORE)
    .option('--listen <host:port>', 'HTTP API address', DEFAULT_LISTEN)
    .option('--ui <on>', 'serve the web UI at / on the API port (--ui=false turns it off)', 'true')
    .option('--once', 'reconcile every job once and exit (0 when every job is Ready)')
    .option('--allow-empty', 'let an empty manifests directory prune every job it had')
    .option('--git <url>', 'follow a Git repository (repeatable; the --git-* flags after it configure it)', (v: string) => git.add(v))
    .option('--git-ref <ref>', 'branch, tag or commit of the preceding --git (default: the remote HEAD)', (v: string) => git.set('ref', v))
    .option('--git-path <dir>', 'directory inside the repository of the preceding --git', (v: string) => git.set('path', v))
    .option('--git-interval <duration>', 'how often the preceding --git is fetched (default 1m)', (v: string) => git.set('interval', v))
    .option('--git-secret-from <ref>', 'credential of the preceding --git: env:NAME or file:PATH (HTTPS token, or SSH key file)', (v: string) => git.set('secretFrom', v))
    .option('--git-verify <format:file>', 'apply only commits of the preceding --git signed by a key in FILE: ssh:ALLOWED_SIGNERS or openpgp:KEYRING (repeatable)', (v: string) => git.addVerify(v))
    .option('--git-allow-force-push', 'apply a ref that moved to a commit not descending from the applied one')
    .option('--git-webhook-secret-from <ref>', 'enable POST /hooks/git, HMAC-signed with this secret: env:NAME or file:PATH')
    .option('--subscription <id>', 'default Azure subscription (env AZURE_SUBSCRIPTION_ID)')
    .option('--arm-endpoint <url>', 'ARM endpoint, e.g. a sovereign cloud or a standalone emulator (env ACICTL_ARM_ENDPOINT)')
    .option('--arm-ca <file>', 'PEM CA to trust for the ARM endpoint (env ACICTL_ARM_CA)')
    .option('--resync-interval <duration>', 'how often owned container groups are listed again', '5m')
    .option('--concurrency <n>', 'jobs reconciled in parallel', '8')
    .option('--secret-env-prefix <prefix>', 'environment variables with this prefix may be secret sources (repeatable; default ACICTL_SECRET_)', collect, [] as string[])
    .option('--secret-env <name>', 'this environment variable may be a secret source (repeatable)', collect, [] as string[])
    .option('--key-vault <name[=url]>', 'Azure Key Vault that {keyVault} references may read (repeatable; default URL https://NAME.vault.azure.net)', collect, [] as string[])
    .option('--policy <file>', 'per-source policy (allowed resource groups, locations, registries, subnets, identities, sizes, public IP)')
    .option('--secrets-dir <dir>', '{file} secret references resolve only inside this directory (repeatable; relative paths: the first)', collect, [] as string[])
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
      if (o.ui !== 'true' && o.ui !== 'false') throw new CliError(`--ui: expected true or false, got "${String(o.ui)}"`, EXIT.USAGE);
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
      const { formatSummaryBlock, summaryRecords } = await import('../../controller/startup-summary');
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
              ignore: 'pid,hostname,component,stream,container,attempt,run,job,reason,loginUrl',
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
      const gitSpecs = git.specs(ctx.cwd);
      const hookFrom = o.gitWebhookSecretFrom as string | undefined;
      if (hookFrom !== undefined) checkSecretRef('--git-webhook-secret-from', hookFrom);
      const controller = await startController({
        git: gitSpecs,
        gitAllowForcePush: Boolean(o.gitAllowForcePush),
        gitWebhookSecret: hookFrom === undefined ? undefined : () => readSecretRef(hookFrom, ctx.env, ctx.cwd),
        manifests: (o.manifests as string[]).map((m) => resolve(ctx.cwd, m)),
        stateDir: resolve(ctx.cwd, o.stateDir),
        store: o.store as string | undefined,
        listen,
        once: Boolean(o.once),
        allowEmpty: Boolean(o.allowEmpty),
        emulator: o.emulator ? { runtime: o.runtime } : null,
        arm: {
          subscriptionId: o.subscription ?? ctx.env.AZURE_SUBSCRIPTION_ID,
          endpoint: o.armEndpoint ?? ctx.env.ACICTL_ARM_ENDPOINT,
          ca,
          // ACICTL_ARM_LIMITS=off: no client-side ARM/ACI budget (benchmarks and HA torture against the emulator only).
          ...(ctx.env.ACICTL_ARM_LIMITS === 'off' ? { limits: { reads: null, writes: null, deletes: null, aciCreates: [], aciDeletes: [] } } : {}),
        },
        resyncIntervalMs,
        concurrency,
        secrets: {
          envPrefixes: o.secretEnvPrefix as string[],
          envNames: o.secretEnv as string[],
          dirs: (o.secretsDir as string[]).map((d) => resolve(ctx.cwd, d)),
        },
        keyVaults: (o.keyVault as string[]).map((v) => {
          const i = v.indexOf('=');
          return i < 0 ? { name: v } : { name: v.slice(0, i), url: v.slice(i + 1) };
        }),
        policyFile: o.policy ? resolve(ctx.cwd, o.policy) : undefined,
        env: ctx.env,
        ui: o.ui === 'true',
        logger,
      }).catch((err: Error & { code?: string }) => {
        if (err.code === 'EADDRINUSE') {
          throw new CliError(`controller failed to start: ${listen.host}:${listen.port} is already in use (another controller?); pass --listen HOST:PORT`, EXIT.UNREACHABLE);
        }
        // a --git-verify keyring gpg or the allowed-signers check cannot use is the operator's flag
        if (err.code === 'ACICTL_GIT_VERIFY_CONFIG') throw new CliError(err.message, EXIT.USAGE);
        throw new CliError(`controller failed to start: ${err.message}`, EXIT.UNREACHABLE);
      });
      if (o.once) {
        await controller.whenIdle();
        const ok = await controller.allReady();
        await controller.stop();
        ctx.exitCode = ok ? EXIT.OK : EXIT.NEGATIVE;
        return;
      }
      // Once every source is loaded and each job reconciled once: what runs when, and what to try.
      void controller
        .whenIdle()
        .then(() => controller.summary())
        .then((s) => {
          if (prettyLogs) ctx.stdout(formatSummaryBlock(s, { path: (f) => (f.startsWith(`${ctx.cwd}/`) ? f.slice(ctx.cwd.length + 1) : f) }));
          else for (const r of summaryRecords(s)) logger.info(r.fields, r.msg);
        })
        .catch((err: Error) => logger.warn({ err: err.message }, 'start-up summary failed'));
      const signal = await ctx.shutdown;
      logger.info({ signal }, 'stopping: draining in-flight reconciles');
      await controller.stop();
      logger.flush?.();
    });
}

/** `env:NAME` or `file:PATH`; a usage error otherwise. */
function checkSecretRef(flag: string, ref: string): void {
  if (!/^env:[A-Za-z_][A-Za-z0-9_]*$/.test(ref) && !/^file:.+/.test(ref)) throw new CliError(`${flag}: expected env:NAME or file:PATH`, EXIT.USAGE);
}

/** The value a secret reference names, read now; undefined when it is not there. */
function readSecretRef(ref: string, env: Record<string, string | undefined>, cwd: string): string | undefined {
  if (ref.startsWith('env:')) return env[ref.slice(4)];
  try {
    return readFileSync(resolve(cwd, ref.slice(5)), 'utf8');
  } catch {
    return undefined;
  }
}

/** The `--git` flags in command-line order: each `--git-*` flag belongs to the `--git` before it. */
class GitFlags {
  private readonly list: { url: string; ref?: string; path?: string; interval?: string; secretFrom?: string; verify: string[] }[] = [];

  add(url: string): string[] {
    this.list.push({ url, verify: [] });
    return [];
  }

  /** `--git-verify` may be given several times for one --git (a commit passes when any keyring accepts it). */
  addVerify(value: string): string {
    const last = this.list[this.list.length - 1];
    if (!last) throw new CliError('--git-verify must follow a --git URL', EXIT.USAGE);
    last.verify.push(value);
    return value;
  }

  set(key: 'ref' | 'path' | 'interval' | 'secretFrom', value: string): string {
    const last = this.list[this.list.length - 1];
    const flag = { ref: '--git-ref', path: '--git-path', interval: '--git-interval', secretFrom: '--git-secret-from' }[key];
    if (!last) throw new CliError(`${flag} must follow a --git URL`, EXIT.USAGE);
    if (last[key] !== undefined) throw new CliError(`${flag} given twice for --git ${redactUrl(last.url)}`, EXIT.USAGE);
    last[key] = value;
    return value;
  }

  specs(cwd: string): GitSourceSpec[] {
    return this.list.map((g) => {
      let intervalMs = 60_000;
      if (g.interval !== undefined) {
        try {
          intervalMs = parseDuration(g.interval);
        } catch (e) {
          throw new CliError(`--git-interval: ${(e as Error).message}`, EXIT.USAGE);
        }
        if (intervalMs < 1000) throw new CliError('--git-interval: at least 1s', EXIT.USAGE);
      }
      let secretFrom = g.secretFrom;
      if (secretFrom !== undefined) {
        checkSecretRef('--git-secret-from', secretFrom);
        if (secretFrom.startsWith('file:')) secretFrom = `file:${resolve(cwd, secretFrom.slice(5))}`;
        else if (isSshUrl(g.url)) throw new CliError('--git-secret-from: an SSH key must be a file (file:PATH)', EXIT.USAGE);
      }
      // a local path is a repository on this machine: made absolute like --manifests
      const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(g.url) || /^[^/:@]+@[^/:]+:/.test(g.url) ? g.url : resolve(cwd, g.url);
      const verify = g.verify.map((v) => parseVerify(v, cwd));
      return { url, ref: g.ref, path: g.path, intervalMs, secretFrom, ...(verify.length ? { verify } : {}) };
    });
  }
}

/** `ssh:FILE` or `openpgp:FILE`, FILE readable now (relative to the working directory). */
function parseVerify(value: string, cwd: string): { format: GitVerifyFormat; file: string } {
  const i = value.indexOf(':');
  const format = value.slice(0, Math.max(i, 0)) as GitVerifyFormat;
  const file = i < 0 ? '' : value.slice(i + 1);
  if (!GIT_VERIFY_FORMATS.includes(format) || file === '') {
    throw new CliError(`--git-verify: expected ssh:ALLOWED_SIGNERS_FILE or openpgp:KEYRING_FILE, got "${value}"`, EXIT.USAGE);
  }
  const abs = resolve(cwd, file);
  try {
    readFileSync(abs);
  } catch (e) {
    throw new CliError(`--git-verify ${format}:${file}: cannot read it: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, EXIT.USAGE);
  }
  return { format, file: abs };
}
