/**
 * Prints the figures table at the end of `npm run test:reliability`: one line per part, read from
 * the JSON files the parts wrote (test/reliability/lib/figures.ts writes them to the same folder).
 */
const { readdirSync, readFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

function figuresDir() {
  return process.env.ACICTL_RELIABILITY_FIGURES || path.join(os.tmpdir(), 'acictl-reliability-figures');
}

function table() {
  const dir = figuresDir();
  let parts = [];
  try {
    parts = readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .sort()
      .map((n) => {
        try {
          return JSON.parse(readFileSync(path.join(dir, n), 'utf8'));
        } catch {
          return null;
        }
      })
      .filter(Boolean);
  } catch {
    /* nothing recorded */
  }
  if (parts.length === 0) return '\nacictl reliability figures: none recorded\n';
  const w = Math.max(...parts.map((p) => p.part.length));
  const lines = parts.map((p) => `${p.ok ? '  ok  ' : ' FAIL '} ${p.part.padEnd(w)}  ${p.summary}`);
  const rule = '-'.repeat(Math.min(160, Math.max(...lines.map((l) => l.length))));
  return ['', 'acictl reliability figures', rule, ...lines, rule, `(raw numbers: ${dir}/*.json)`, ''].join('\n');
}

module.exports = async () => {
  process.stdout.write(table());
};
module.exports.figuresDir = figuresDir;
module.exports.table = table;
