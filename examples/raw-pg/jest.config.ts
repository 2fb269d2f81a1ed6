/** @jest-config-loader esbuild-register */
import { withPgwork } from '@pgwork/core';
import { suiteConfig } from '@pgwork/parallel-suite/jest';
import { rawPg } from '@pgwork/raw-pg';

// The plain config (the shared suite, 4 workers), wrapped by pgwork: each worker
// gets its own database cloned from a template migrated once from ./migrations.
export default withPgwork(suiteConfig({ rootDir: __dirname, app: 'src/app.ts' }), {
  adapter: rawPg({ migrations: 'migrations' }),
  baseName: 'shortener_raw',
});
