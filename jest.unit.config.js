// `npm run test:unit`: the tests in test/unit, which need no emulator, in seconds. `npm test` runs
// them too, with everything else (jest.config.js).
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test/unit'],
  globalSetup: undefined,
  globalTeardown: undefined,
  setupFiles: ['<rootDir>/test/support/unit-env.ts'],
};
