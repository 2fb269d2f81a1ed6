/** @jest-config-loader esbuild-register */
import { withPgwork } from '@pgwork/core';
import { suiteConfig } from '@pgwork/parallel-suite/jest';

// The shared suite and this example's own Redis tests in test/ under Jest (4 workers);
// pgwork's options (with a Redis server per worker) are in pgwork.config.cjs, which
// node:test, Mocha, Bun and vitest.config.mts read too.
const suite = suiteConfig({ rootDir: __dirname, app: 'src/app.ts' });

export default withPgwork(
  {
    ...suite,
    roots: [...suite.roots, '<rootDir>/test'],
    testMatch: [...suite.testMatch, '<rootDir>/test/**/*.test.ts'],
  },
  require('./pgwork.config.cjs'),
);
