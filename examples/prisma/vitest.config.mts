import { withPgwork } from '@pgwork/core/vitest';
import { suiteVitestConfig } from '@pgwork/parallel-suite/vitest';
import { prisma } from '@pgwork/prisma';

// The same shared suite under Vitest (4 workers), wrapped by pgwork the same way
// as jest.config.ts: each worker gets its own database cloned from one template.
export default withPgwork(suiteVitestConfig({ rootDir: import.meta.dirname, app: 'src/app.ts' }), {
  adapter: prisma(),
  baseName: 'shortener_prisma',
});
