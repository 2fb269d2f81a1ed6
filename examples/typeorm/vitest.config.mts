import { withPgwork } from '@pgwork/core/vitest';
import { suiteVitestConfig } from '@pgwork/parallel-suite/vitest';
import { typeorm } from '@pgwork/typeorm';

// The same shared suite under Vitest (4 workers), wrapped by pgwork the same way
// as jest.config.ts: each worker gets its own database cloned from one template.
export default withPgwork(suiteVitestConfig({ rootDir: import.meta.dirname, app: 'src/app.ts' }), {
  adapter: typeorm({ dataSource: 'src/data-source.ts' }),
  baseName: 'shortener_typeorm',
});
