import { withPgwork } from '@pgwork/core/vitest';
import { suiteVitestConfig } from '@pgwork/parallel-suite/vitest';
import { rawPg } from '@pgwork/raw-pg';

// The same shared suite under Vitest (4 workers), wrapped by pgwork the same way
// as jest.config.ts: each worker gets its own database cloned from one template.
export default withPgwork(suiteVitestConfig({ rootDir: import.meta.dirname, app: 'src/app.ts' }), {
  adapter: rawPg({ migrations: 'migrations' }),
  baseName: 'shortener_raw',
});
