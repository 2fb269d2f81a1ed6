// The binding's tests run Playwright on fixture projects (test/fixtures, whose *.spec.js are Playwright's) against pgwork's throwaway test server.
module.exports = {
  ...require('@pgwork/core/testing').adapterTestJestConfig(),
  testMatch: ['<rootDir>/test/*.test.ts'],
  testTimeout: 300_000,
};
