/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: { isolatedModules: true, module: 'commonjs' } }] },
  // Each file installs or runs whole projects: give them room, one at a time.
  maxWorkers: 1,
  testTimeout: 600_000,
};
