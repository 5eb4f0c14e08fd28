module.exports = {
  ...require('../../jest.preset.js')(__dirname),
  testEnvironment: '<rootDir>/jest.environment.js',
};
