/** @jest-config-loader esbuild-register */
import { withPgwork } from '@pgwork/core';
import { drizzle } from '@pgwork/drizzle';
import { suiteConfig } from '@pgwork/parallel-suite/jest';

// The plain config (the shared suite, 4 workers), wrapped by pgwork: each worker
// gets its own database cloned from a template drizzle-kit pushed once.
// drizzle({ mode: 'migrations' }) would apply ./drizzle (drizzle-kit generate) instead.
export default withPgwork(suiteConfig({ rootDir: __dirname, app: 'src/app.ts' }), {
  adapter: drizzle(),
  baseName: 'shortener_drizzle',
});
