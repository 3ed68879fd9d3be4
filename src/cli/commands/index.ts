import type { Command } from 'commander';
import type { CliContext } from '../context';
import { register as apply } from './apply';
import { register as diff } from './diff';
import { register as get } from './get';
import { register as describe } from './describe';
import { register as del } from './delete';
import { register as logs } from './logs';
import { register as run } from './run';
import { register as suspendResume } from './suspend';
import { register as emulator } from './emulator';
import { register as controller } from './controller';
import { register as next } from './next';
import { register as validate } from './validate';
import { register as operator } from './operator';

/** A command module adds its subcommand(s) to the program. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

/** Every command of the CLI. Each module lives in this folder and exports `register`. */
export const COMMANDS: RegisterCommand[] = [apply, diff, get, describe, del, logs, run, suspendResume, emulator, controller, next, validate, operator];
