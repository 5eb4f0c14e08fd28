// Unit tests of the e2e helpers; the compose run itself is src/compose.e2e.ts (jest.e2e.config.js).
module.exports = require('../../jest.preset.js')(__dirname);
