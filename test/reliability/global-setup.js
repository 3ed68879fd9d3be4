/** Clears the figures of a previous `npm run test:reliability` so the table shows this run only. */
const { rmSync } = require('node:fs');
const { figuresDir } = require('./global-teardown');

module.exports = async () => {
  rmSync(figuresDir(), { recursive: true, force: true });
};
