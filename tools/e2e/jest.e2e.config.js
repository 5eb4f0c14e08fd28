// The compose end-to-end suite: run by tools/e2e/compose against a deployment it has brought up.
const preset = require('../../jest.preset.js')(__dirname);

module.exports = {
  ...preset,
  testMatch: ['<rootDir>/src/**/*.e2e.ts'],
  testTimeout: 300000,
};
