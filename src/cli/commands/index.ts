import type { Command } from 'commander';
import type { CliContext } from '../context';

/** A command module adds its subcommand(s) to the program. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * Every command module of the CLI, loaded on demand: a call such as `acictl get jobs` loads only
 * get.ts and what it imports (a warm `get jobs` is bounded by Node start-up and module loading).
 * Each entry lists the top-level verbs its module registers.
 */
const MODULES: { verbs: string[]; load: () => RegisterCommand }[] = [
  { verbs: ['apply'], load: () => require('./apply').register },
  { verbs: ['diff'], load: () => require('./diff').register },
  { verbs: ['get'], load: () => require('./get').register },
  { verbs: ['describe'], load: () => require('./describe').register },
  { verbs: ['delete'], load: () => require('./delete').register },
  { verbs: ['logs'], load: () => require('./logs').register },
  { verbs: ['run'], load: () => require('./run').register },
  { verbs: ['suspend', 'resume'], load: () => require('./suspend').register },
  { verbs: ['emulator'], load: () => require('./emulator').register },
  { verbs: ['controller'], load: () => require('./controller').register },
  { verbs: ['next'], load: () => require('./next').register },
  { verbs: ['validate'], load: () => require('./validate').register },
  { verbs: ['backfill', 'clear', 'runs'], load: () => require('./operator').register },
];

/**
 * The command modules to register: only the one owning `verb` when it names one, every module
 * otherwise (help, --version, an unknown or missing verb: commander then sees the whole CLI).
 */
export function commandsFor(verb?: string): RegisterCommand[] {
  const owner = verb === undefined ? undefined : MODULES.find((m) => m.verbs.includes(verb));
  return (owner ? [owner] : MODULES).map((m) => m.load());
}

/** Every top-level verb, for tests that check the table against what the modules register. */
export const VERBS: string[] = MODULES.flatMap((m) => m.verbs);
