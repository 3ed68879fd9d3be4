/**
 * What a command needs from the outside world. Only cli/ reads process.argv, process.env and the
 * working directory; it builds this object once and hands it to every command.
 */
export interface CliContext {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  cwd: string;
  stdin: NodeJS.ReadableStream;
  /** Whether stdout is a terminal (pretty output, colours). */
  isTTY: boolean;
  /** Set by a command to report its negative answer (1) without throwing. */
  exitCode: number;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM); long-running commands await it. */
  shutdown: Promise<string>;
}

/** Exit codes of DESIGN §4. */
export const EXIT = { OK: 0, NEGATIVE: 1, USAGE: 2, UNREACHABLE: 3 } as const;

/** A typed error the CLI turns into a one-line message and an exit code at the edge. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT.UNREACHABLE) {
    super(message);
    this.name = 'CliError';
  }
}
