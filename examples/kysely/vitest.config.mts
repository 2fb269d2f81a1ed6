import { createRequire } from 'node:module';
import { withPgwork } from '@pgwork/core/vitest';
import { suiteVitestConfig } from '@pgwork/parallel-suite/vitest';

// pgwork's options, which every runner of this example reads (Vite bundles this file elsewhere: a require from here).
const options = createRequire(import.meta.url)('./pgwork.config.cjs');

// The same shared suite under Vitest (4 workers), wrapped by pgwork the same way
// as jest.config.ts: each worker gets its own database cloned from one template.
export default withPgwork(suiteVitestConfig({ rootDir: import.meta.dirname, app: 'src/app.ts' }), options);
