/** The CLI loads only the module of the verb it runs; the verb table must match the modules. */
import { Command } from 'commander';
import { commandsFor, VERBS } from '../../src/cli/commands';
import type { CliContext } from '../../src/cli/context';

const ctx = { stdout: () => undefined, stderr: () => undefined, env: {}, cwd: process.cwd() } as unknown as CliContext;

function verbsRegistered(verb?: string): string[] {
  const program = new Command('acictl');
  for (const register of commandsFor(verb)) register(program, ctx);
  return program.commands.map((c) => c.name()).sort();
}

test('the verb table lists exactly the verbs the modules register', () => {
  expect(verbsRegistered()).toEqual([...VERBS].sort());
});

test('a known verb registers only its own module; an unknown one registers all', () => {
  expect(verbsRegistered('get')).toEqual(['get']);
  expect(verbsRegistered('resume')).toEqual(['resume', 'suspend']);
  expect(verbsRegistered('runs')).toEqual(['backfill', 'clear', 'runs']);
  expect(verbsRegistered('bogus')).toEqual([...VERBS].sort());
});
