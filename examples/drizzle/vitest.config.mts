import { withPgwork } from '@pgwork/core/vitest';
import { drizzle } from '@pgwork/drizzle';
import { suiteVitestConfig } from '@pgwork/parallel-suite/vitest';

// The same shared suite under Vitest (4 workers), wrapped by pgwork the same way
// as jest.config.ts: each worker gets its own database cloned from one template.
export default withPgwork(suiteVitestConfig({ rootDir: import.meta.dirname, app: 'src/app.ts' }), {
  adapter: drizzle(),
  baseName: 'shortener_drizzle',
});
