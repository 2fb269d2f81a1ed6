import { join, resolve } from 'node:path';
import { APP_MODULE } from './app';

/** The suite's TypeScript sources: Vite compiles them, so the app's alias reaches their import(). */
export const TEST_SOURCES_DIR = join(__dirname, '..', 'src', 'tests');

/**
 * The plain Vitest config every example shares, the twin of suiteConfig: the
 * suite's tests (Jest-style globals), the example's app behind one module name,
 * 4 workers. An example wraps it with withPgwork from @pgwork/core/vitest.
 */
export function suiteVitestConfig(options: { rootDir: string; app: string; maxWorkers?: number }) {
  return {
    root: options.rootDir,
    resolve: { alias: { [APP_MODULE]: resolve(options.rootDir, options.app) } },
    test: {
      dir: TEST_SOURCES_DIR,
      include: ['**/*.test.ts'],
      globals: true,
      maxWorkers: options.maxWorkers ?? 4,
      testTimeout: 30_000,
    },
  };
}
