/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  globalSetup: '@pgwork/core/testing/global-setup',
  globalTeardown: '@pgwork/core/testing/global-teardown',
  testTimeout: 120000,
};
