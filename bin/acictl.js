#!/usr/bin/env -S node --max-semi-space-size=16
'use strict';
// The V8 flags on the first line are src/cli/v8-flags.ts (why: see there); `env -S` passes them to node.
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run by `npm ci` through `prepare`).
// V8's on-disk code cache (Node >= 22.1; in the OS temp dir): a CLI call compiles none of its modules again.
require('node:module').enableCompileCache?.();
require('../dist/src/cli/main.js').main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`acictl: internal error: ${err && err.stack ? err.stack : err}\n`); process.exitCode = 3; },
);
