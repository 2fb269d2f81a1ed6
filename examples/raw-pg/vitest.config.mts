import { createRequire } from 'node:module';
import { relative } from 'node:path';
import { withPgwork } from '@pgwork/core/vitest';
import { suiteVitestConfig } from '@pgwork/parallel-suite/vitest';

// pgwork's options, which every runner of this example reads (Vite bundles this file elsewhere: a require from here).
const options = createRequire(import.meta.url)('./pgwork.config.cjs');

const suite = suiteVitestConfig({ rootDir: import.meta.dirname, app: 'src/app.ts' });

// The same shared suite under Vitest (4 workers), and this example's own Redis tests in test/
// (include is relative to the suite's directory), wrapped by pgwork the same way as
// jest.config.ts: each worker gets its own database cloned from one template, and its own Redis.
export default withPgwork(
  {
    ...suite,
    test: {
      ...suite.test,
      include: [...suite.test.include, `${relative(suite.test.dir, import.meta.dirname)}/test/**/*.test.ts`],
    },
  },
  options,
);
