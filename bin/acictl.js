#!/usr/bin/env -S node --max-semi-space-size=16
'use strict';
// The V8 flags on the first line are src/cli/v8-flags.ts (why: see there); `env -S` passes them to node.
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run by `npm ci` through `prepare`).
// package.json's engines admit the Node that runs npm (>= 20): the client commands run on it, but the
// controller needs Node >= 22 (node:sqlite), which the `node` dependency brings into node_modules/.bin.
if (Number(process.versions.node.split('.')[0]) < 22 && process.argv[2] === 'controller') {
  process.stderr.write(`acictl: the controller needs Node >= 22 (node:sqlite); this is Node ${process.versions.node}. ` +
    'Run it with `npm start`, `npx acictl controller …` or `node_modules/.bin/node bin/acictl.js controller …` (Node 24 from the `node` dependency).\n');
  process.exit(2);
}
// V8's on-disk code cache (Node >= 22.1; in the OS temp dir): a CLI call compiles none of its modules again.
require('node:module').enableCompileCache?.();
require('../dist/src/cli/main.js').main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`acictl: internal error: ${err && err.stack ? err.stack : err}\n`); process.exitCode = 3; },
);
