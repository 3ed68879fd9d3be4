/**
 * Lint-style proof of DESIGN §1 layering: src/schedule/ and src/plan/ are pure. They import no I/O
 * module (directly, or through a relative import of another source file) and never read the wall
 * clock (`Date.now()`, `new Date()` without arguments, `performance.now()`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const PURE_DIRS = ['src/schedule', 'src/plan'];

const IO_MODULES = /^(?:node:)?(?:fs|fs\/promises|http|https|http2|net|tls|dgram|child_process|cluster|worker_threads|readline)$/;
const FORBIDDEN_PATHS = [/^@azure\//, /(?:^|\/)store(?:\/|$)/, /(?:^|\/)aci\/adapter(?:\.ts)?$/];

function tsFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Source without comments, so prose about `Date.now()` does not count. Strings are kept. */
function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

interface Import {
  spec: string;
  typeOnly: boolean;
}

function importsOf(src: string): Import[] {
  const code = stripComments(src);
  const out: Import[] = [];
  for (const m of code.matchAll(/\b(import|export)\s+(type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]/g)) out.push({ spec: m[3], typeOnly: Boolean(m[2]) });
  for (const m of code.matchAll(/\b(?:require|import)\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push({ spec: m[1], typeOnly: false });
  return out;
}

function forbiddenImport(spec: string): boolean {
  return IO_MODULES.test(spec) || FORBIDDEN_PATHS.some((re) => re.test(spec));
}

/** Wall-clock reads in (comment-free) source. */
function clockReads(src: string): string[] {
  const code = stripComments(src);
  const found: string[] = [];
  for (const re of [/\bDate\.now\s*\(/g, /\bnew\s+Date\s*\(\s*\)/g, /\bnew\s+Date\b(?!\s*\()/g, /\bperformance\.now\s*\(/g, /\bprocess\.hrtime\b/g]) {
    for (const m of code.matchAll(re)) found.push(m[0]);
  }
  return found;
}

function resolveRelative(from: string, spec: string): string | null {
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(c)) return c;
  return null;
}

describe('the checker itself', () => {
  test('finds I/O imports in every syntax', () => {
    const src = [
      "import * as fs from 'node:fs';",
      "import { readFile } from 'fs';",
      "import http = require('http');",
      "const cp = require('child_process');",
      "import { X } from '../store';",
      "import { Y } from '../store/sqlite';",
      "export { Z } from '../aci/adapter';",
      "import { DefaultAzureCredential } from '@azure/identity';",
      "const n = await import('node:net');",
    ].join('\n');
    const found = importsOf(src).map((i) => i.spec).filter(forbiddenImport).sort();
    expect(found).toEqual(['node:fs', 'fs', 'http', 'child_process', '../store', '../store/sqlite', '../aci/adapter', '@azure/identity', 'node:net'].sort());
  });
  test('allows pure imports', () => {
    const src = "import { Cron } from 'croner';\nimport type { Store } from '../api/types';\nimport { x } from './storefront';";
    expect(importsOf(src).map((i) => i.spec).filter(forbiddenImport)).toEqual([]);
  });
  test('finds clock reads, ignores comments and instants built from arguments', () => {
    expect(clockReads('const a = Date.now();\nconst b = new Date();\nconst c = new Date;\nconst d = performance.now();')).toHaveLength(4);
    expect(clockReads('// Date.now() is forbidden\n/* new Date() too */\nconst d = new Date(ms);\nconst e = new Date(ms + off).getUTCFullYear();')).toEqual([]);
  });
});

describe('src/schedule and src/plan are pure', () => {
  const files = PURE_DIRS.flatMap((d) => tsFiles(path.join(ROOT, d)));

  test('there is something to check', () => {
    expect(files.some((f) => f.includes(`${path.sep}schedule${path.sep}`))).toBe(true);
  });

  test.each(files.map((f) => [path.relative(ROOT, f), f]))('%s: no I/O imports, no wall clock', (_rel, file) => {
    const src = fs.readFileSync(file, 'utf8');
    expect(importsOf(src).map((i) => i.spec).filter(forbiddenImport)).toEqual([]);
    expect(clockReads(src)).toEqual([]);
  });

  test('nothing they import (transitively, within src) imports I/O', () => {
    const seen = new Set<string>();
    const offenders: string[] = [];
    const queue = [...files];
    while (queue.length) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const imp of importsOf(fs.readFileSync(file, 'utf8'))) {
        if (imp.typeOnly) continue;
        if (forbiddenImport(imp.spec)) offenders.push(`${path.relative(ROOT, file)} imports ${imp.spec}`);
        if (imp.spec.startsWith('.')) {
          const target = resolveRelative(file, imp.spec);
          if (target) queue.push(target);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
