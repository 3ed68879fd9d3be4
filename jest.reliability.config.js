/**
 * `npm run test:reliability`: the reliability suite (test/reliability), long versions included,
 * ending with a figures table (globalTeardown). Parts run one at a time: they measure timing.
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/reliability'],
  testMatch: ['**/*.long.test.ts', '**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testTimeout: 1_200_000,
  maxWorkers: 1,
  globalSetup: '<rootDir>/test/reliability/global-setup.js',
  globalTeardown: '<rootDir>/test/reliability/global-teardown.js',
};
