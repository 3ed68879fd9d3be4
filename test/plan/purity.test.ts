/** DESIGN §1: src/plan is pure — no I/O modules, no SDK, no store, no wall clock. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(__dirname, '../../src/plan');

describe('src/plan purity', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  it('has source files to check', () => expect(files.length).toBeGreaterThan(3));
  it.each(files)('%s imports no I/O and never reads the clock', (f) => {
    const src = readFileSync(join(dir, f), 'utf8');
    const imports = [...src.matchAll(/from\s+'([^']+)'/g)].map((m) => m[1]);
    for (const m of imports) {
      expect(m).not.toMatch(/^(node:)?(fs|http|https|net|child_process|os|worker_threads)$/);
      expect(m).not.toMatch(/^@azure\//);
      expect(m).not.toMatch(/store|aci\/adapter|controller/);
    }
    expect(src).not.toMatch(/Date\.now\s*\(/);
    expect(src).not.toMatch(/new Date\(\s*\)/);
    expect(src).not.toMatch(/performance\.now|process\./);
  });
});
