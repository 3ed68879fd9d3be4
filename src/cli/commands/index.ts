import type { Command } from 'commander';
import type { CliContext } from '../context';

/** A command module adds its subcommand(s) to the program. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

/** Every command of the CLI. Each module lives in this folder and exports `register`. */
export const COMMANDS: RegisterCommand[] = [];
