/** @jest-config-loader esbuild-register */
import { withPgwork } from '@pgwork/core';
import { suiteConfig } from '@pgwork/parallel-suite/jest';
import { prisma } from '@pgwork/prisma';

// The plain config (the shared suite, 4 workers), wrapped by pgwork: each worker
// gets its own database cloned from a template built from prisma/migrations.
export default withPgwork(suiteConfig({ rootDir: __dirname, app: 'src/app.ts' }), {
  adapter: prisma(),
  baseName: 'shortener_prisma',
});
