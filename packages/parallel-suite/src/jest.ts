import { join, resolve } from 'node:path';
import { APP_MODULE } from './app';
import { TRANSPILE_OPTIONS } from './transpile';

export const TESTS_DIR = join(__dirname, 'tests');

export interface SuiteConfigOptions {
  /** The example's directory (use __dirname). */
  rootDir: string;
  /** The example's app module, exporting `app: UrlShortenerApp`, relative to rootDir. */
  app: string;
  /** Default 4. */
  maxWorkers?: number;
}

/**
 * The plain Jest config every example shares: the suite's tests, the example's
 * app behind one module name, 4 workers. An example wraps it with withPgwork.
 */
export function suiteConfig(options: SuiteConfigOptions) {
  return {
    rootDir: options.rootDir,
    testEnvironment: 'node',
    // The example's own sources too, so `jest --watch` sees a change to the app or its schema.
    roots: [TESTS_DIR, join(options.rootDir, 'src')],
    testMatch: ['**/*.test.js'],
    moduleNameMapper: { [`^${APP_MODULE}$`]: resolve(options.rootDir, options.app) },
    transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: TRANSPILE_OPTIONS }] },
    maxWorkers: options.maxWorkers ?? 4,
    // Jest runs a few fast files in band after the first run; a memory limit makes it always use workers.
    workerIdleMemoryLimit: '1GB',
    testTimeout: 30_000,
  };
}
