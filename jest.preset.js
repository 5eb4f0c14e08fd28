// Shared by every project's jest.config.js: TypeScript through SWC, tests beside the code.
const path = require('node:path');

/** @param {string} projectDir */
module.exports = function preset(projectDir) {
  return {
    rootDir: projectDir,
    // shares the main realm's typed arrays so onnxruntime-node's instanceof checks pass inside jest
    testEnvironment: path.join(__dirname, 'tools/jest/environment.js'),
    transform: {
      '^.+\\.(t|j)s$': [
        '@swc/jest',
        {
          jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
          module: { type: 'commonjs' },
          sourceMaps: 'inline',
        },
      ],
    },
    testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
    moduleFileExtensions: ['ts', 'js', 'json'],
    testTimeout: 30000,
    cacheDirectory: path.join(__dirname, 'tmp', 'jest-cache'),
  };
};
