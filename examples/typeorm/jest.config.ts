/** @jest-config-loader esbuild-register */
import { withPgwork } from '@pgwork/core';
import { suiteConfig } from '@pgwork/parallel-suite/jest';
import { typeorm } from '@pgwork/typeorm';

// The plain config (the shared suite, 4 workers), wrapped by pgwork: each worker
// gets its own database cloned from a template TypeORM synchronized once.
export default withPgwork(suiteConfig({ rootDir: __dirname, app: 'src/app.ts' }), {
  adapter: typeorm({ dataSource: 'src/data-source.ts' }),
  baseName: 'shortener_typeorm',
});
