const preset = require('../../jest.preset.js')(__dirname);

// http-proxy-middleware 4 and its httpxy / is-plain-obj are ESM-only: SWC turns them into CommonJS for jest
const esmOnly = ['http-proxy-middleware', 'httpxy', 'is-plain-obj'];

module.exports = {
  ...preset,
  transform: { ...preset.transform, '^.+\\.mjs$': preset.transform['^.+\\.(t|j)s$'] },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  moduleFileExtensions: [...preset.moduleFileExtensions, 'mjs'],
};
