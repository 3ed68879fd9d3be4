/**
 * The invalid-manifest corpus: every file under test/fixtures/manifests/invalid states on its first
 * line (or in NAME.expect for JSON) the errors it must produce, as `LINE:COL message-substring`
 * separated by `|`. The test asserts exactly those errors — same count, exact line and column, message
 * containing the substring — so a validator that reports an extra or a misplaced error fails.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatDiagnostic, validateBytes } from '../../src/manifest/validate';

const DIR = join(__dirname, '../fixtures/manifests/invalid');

interface Expected {
  line: number;
  column: number;
  text: string;
}

function expectations(file: string, content: string): Expected[] {
  const sidecar = `${file}.expect`;
  const spec = existsSync(sidecar) ? readFileSync(sidecar, 'utf8').trim() : /^# expect: (.*)$/m.exec(content.split('\n')[0])?.[1];
  if (!spec) throw new Error(`${file}: no expectation (first line "# expect: LINE:COL text | ...")`);
  return spec.split(' | ').map((part) => {
    const m = /^(\d+):(\d+) (.+)$/.exec(part.trim());
    if (!m) throw new Error(`${file}: bad expectation "${part}"`);
    return { line: Number(m[1]), column: Number(m[2]), text: m[3] };
  });
}

const files = readdirSync(DIR).filter((f) => !f.endsWith('.expect')).sort();

describe('invalid manifest corpus', () => {
  it('has at least 40 invalid manifests', () => {
    expect(files.length).toBeGreaterThanOrEqual(40);
  });

  it.each(files)('%s', (name) => {
    const file = join(DIR, name);
    const bytes = readFileSync(file);
    const expected = expectations(file, bytes.toString('utf8'));
    const result = validateBytes(bytes, name, { cache: false });
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    const shown = errors.map(formatDiagnostic).join('\n');
    for (const e of expected) {
      const hit = errors.find((d) => d.line === e.line && d.column === e.column && d.message.includes(e.text));
      if (!hit) throw new Error(`${name}: expected ${e.line}:${e.column} "${e.text}", got:\n${shown}`);
    }
    expect({ name, count: errors.length, shown }).toEqual({ name, count: expected.length, shown });
  });
});
