/** @jest-config-loader esbuild-register */
import { withPgwork } from '@pgwork/core';
import { suiteConfig } from '@pgwork/parallel-suite/jest';

// The shared suite under Jest (4 workers); pgwork's options are in pgwork.config.cjs,
// which node:test, Mocha, Bun and vitest.config.mts read too.
export default withPgwork(suiteConfig({ rootDir: __dirname, app: 'src/app.ts' }), require('./pgwork.config.cjs'));
