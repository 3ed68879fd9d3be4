/**
 * The bad-input corpus dropped into a watched directory: the repository's invalid-manifest corpus
 * (each file states its expected first error as `# expect: LINE:COL text`) plus generated hostile
 * files: YAML/JSON bombs, huge and binary files, unreadable files and directories, symlink loops,
 * duplicate job names, truncated files. Each entry says how the controller must report it.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { jobYaml } from '../../e2e/harness';
import { prng } from './procs';

const CORPUS = path.join(__dirname, '../../fixtures/manifests/invalid');

export interface BadFile {
  /** Path relative to the watched root. */
  rel: string;
  kind: string;
  /** First expected error line (1-based) when known; 0 = a whole-file error (read error, size…). */
  line?: number;
  /** Other names the same bad content may be reported under (a file renamed mid-read). */
  aliases?: string[];
}

function expectedLine(file: string): number | undefined {
  const side = `${file}.expect`;
  const spec = existsSync(side) ? readFileSync(side, 'utf8').trim() : /^# expect: (.*)$/m.exec(readFileSync(file, 'utf8').split('\n')[0])?.[1];
  const m = spec ? /^(\d+):(\d+) /.exec(spec) : null;
  return m ? Number(m[1]) : undefined;
}

/** Writes the corpus into `dir` (an existing watched root); returns what was written. */
export function writeBadCorpus(dir: string, rg: string, seed: number): BadFile[] {
  const out: BadFile[] = [];
  for (const name of readdirSync(CORPUS).filter((n) => !n.endsWith('.expect')).sort()) {
    copyFileSync(path.join(CORPUS, name), path.join(dir, `corpus-${name}`));
    out.push({ rel: `corpus-${name}`, kind: 'corpus', line: expectedLine(path.join(CORPUS, name)) });
  }
  const put = (rel: string, kind: string, content: string | Buffer, line?: number) => {
    writeFileSync(path.join(dir, rel), content);
    out.push({ rel, kind, line });
  };
  // YAML "billion laughs": 10 levels of 10 aliases.
  let bomb = 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
  for (let i = 1; i <= 10; i++) bomb += `a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(',')}]\n`;
  put('gen-yaml-bomb.yaml', 'yaml bomb', bomb);
  put('gen-yaml-bomb-in-job.yaml', 'yaml bomb inside a job', jobYaml('bomb-job', { rg, extra: `  x: &x [1,1,1,1,1,1,1,1,1,1]\n  y: &y [*x,*x,*x,*x,*x,*x,*x,*x,*x,*x]\n  z: &z [*y,*y,*y,*y,*y,*y,*y,*y,*y,*y]\n  w: [*z,*z,*z,*z,*z,*z,*z,*z,*z,*z,*z,*z,*z,*z,*z,*z,*z,*z,*z,*z]\n` }));
  put('gen-json-deep.json', 'deeply nested JSON', '['.repeat(20000) + ']'.repeat(20000));
  put('gen-yaml-deep.yaml', 'deeply nested YAML flow', 'a: ' + '['.repeat(20000) + ']'.repeat(20000) + '\n');
  put('gen-huge.yaml', 'huge file (over the size limit)', '# ' + 'x'.repeat(6 * 1024 * 1024) + '\n', 0);
  put('gen-huge-json.json', 'huge JSON file', JSON.stringify({ apiVersion: 'acictl.dev/v1', kind: 'ContainerJob', pad: 'y'.repeat(5 * 1024 * 1024) }), 0);
  put('gen-many-documents.yaml', 'too many documents', '---\na: 1\n'.repeat(1500));
  const rand = prng(seed);
  put('gen-binary.yaml', 'binary (random bytes)', Buffer.from(Array.from({ length: 4096 }, () => Math.floor(rand() * 256))));
  put('gen-nul.yaml', 'NUL bytes', Buffer.concat([Buffer.from('apiVersion: acictl.dev/v1\nkind: Container'), Buffer.from([0, 0, 0]), Buffer.from('Job\n')]));
  put('gen-bad-utf8.yaml', 'invalid UTF-8', Buffer.concat([Buffer.from('metadata:\n  name: caf'), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]));
  put('gen-utf16.yaml', 'UTF-16 with BOM', Buffer.from('\ufeff' + jobYaml('utf16-job', { rg }), 'utf16le'));
  put('gen-truncated.yaml', 'truncated mid-document', jobYaml('truncated-job', { rg }).slice(0, 180));
  put('gen-empty-name.yaml', 'schema error: empty name', jobYaml('x', { rg }).replace('name: x', 'name: ""'), 4);
  put('gen-schedule-typo.yaml', 'semantic error: bad cron', jobYaml('typo-job', { rg, schedule: '61 * * * *' }), 6);
  put('gen-literal-secret.yaml', 'literal secret', jobYaml('literal-secret-job', { rg, env: '        environmentVariables:\n          - {name: PW, secureValue: hunter2}\n' }));
  put('gen-list-not-job.yaml', 'a list, not an object', '- a\n- b\n', 1);
  put('gen-scalar.json', 'a JSON scalar', '42', 1);
  put('gen-json-trailing-comma.json', 'JSON syntax error', '{"apiVersion": "acictl.dev/v1",}', 1);
  // Duplicate job names: two new files declaring the same job, and a copy of a valid job.
  put('gen-dup-1.yaml', 'duplicate job name (1/2)', jobYaml('dup-job', { rg }));
  put('gen-dup-2.yaml', 'duplicate job name (2/2)', jobYaml('dup-job', { rg, command: 'echo other' }));
  put('zz-copy-of-steady.yaml', 'duplicate of a valid job (file sorts after it)', jobYaml('steady', { rg, schedule: '@hourly' }));
  put('a-copy-of-hijackme.yaml', 'duplicate of a valid job (file sorts before it)', jobYaml('hijackme', { rg, schedule: '@hourly' }));
  // Symlinks: loops, dangling, to a directory.
  symlinkSync('gen-loop-b.yaml', path.join(dir, 'gen-loop-a.yaml'));
  symlinkSync('gen-loop-a.yaml', path.join(dir, 'gen-loop-b.yaml'));
  out.push({ rel: 'gen-loop-a.yaml', kind: 'symlink loop', line: 0 }, { rel: 'gen-loop-b.yaml', kind: 'symlink loop', line: 0 });
  symlinkSync('gen-self.yaml', path.join(dir, 'gen-self.yaml'));
  out.push({ rel: 'gen-self.yaml', kind: 'self-referencing symlink', line: 0 });
  symlinkSync('does-not-exist.yaml', path.join(dir, 'gen-dangling.yaml'));
  out.push({ rel: 'gen-dangling.yaml', kind: 'dangling symlink', line: 0 });
  symlinkSync('.', path.join(dir, 'gen-link-to-dir.yaml'));
  out.push({ rel: 'gen-link-to-dir.yaml', kind: 'symlink to a directory', line: 0 });
  // Permission denied: a VALID job in an unreadable file must not appear (and must be reported).
  put('gen-unreadable.yaml', 'permission denied (chmod 000)', jobYaml('unreadable-job', { rg }), 0);
  chmodSync(path.join(dir, 'gen-unreadable.yaml'), 0o000);
  return out;
}

/** A sub-directory without x permission holding a valid job (unreadable to a non-root controller). */
export function writeUnreadableSubdir(dir: string, rg: string): BadFile {
  mkdirSync(path.join(dir, 'gen-noexec-dir'));
  writeFileSync(path.join(dir, 'gen-noexec-dir', 'inner.yaml'), jobYaml('noexec-job', { rg }));
  chmodSync(path.join(dir, 'gen-noexec-dir'), 0o600);
  return { rel: 'gen-noexec-dir', kind: 'directory without x permission', line: 0 };
}

/**
 * Renames files back and forth while the watcher reads, for `ms` milliseconds: a bad file
 * (gen-renamed-1/2.yaml, a schema error on line 6) and a VALID job's file (pairs given), which must
 * never be pruned while it moves.
 */
export async function renameStorm(dir: string, ms: number, validPairs: [string, string][] = []): Promise<{ renames: number; file: BadFile }> {
  const { renameSync } = await import('node:fs');
  writeFileSync(path.join(dir, 'gen-renamed-1.yaml'), 'apiVersion: acictl.dev/v1\nkind: ContainerJob\nmetadata:\n  name: renamed-job\nspec:\n  bogus: true\n');
  const pairs: [string, string][] = [['gen-renamed-1.yaml', 'gen-renamed-2.yaml'], ...validPairs];
  const at = pairs.map((p) => p[0]);
  let renames = 0;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    pairs.forEach((p, i) => {
      const to = at[i] === p[0] ? p[1] : p[0];
      renameSync(path.join(dir, at[i]), path.join(dir, to));
      at[i] = to;
      renames++;
    });
    await new Promise((r) => setTimeout(r, 3 + (renames % 7)));
  }
  return { renames, file: { rel: at[0], kind: 'renamed mid-read', line: 6, aliases: ['gen-renamed-1.yaml', 'gen-renamed-2.yaml'] } };
}
