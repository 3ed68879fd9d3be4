#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run by `npm ci` through `prepare`).
require('../dist/src/cli/main.js').main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`acictl: internal error: ${err && err.stack ? err.stack : err}\n`); process.exitCode = 3; },
);
