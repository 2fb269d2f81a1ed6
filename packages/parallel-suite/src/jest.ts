import { join, resolve } from 'node:path';
import { APP_MODULE } from './app';

export const TESTS_DIR = join(__dirname, 'tests');

/**
 * How the examples' TypeScript is compiled under Jest: transpile only (no type
 * check per worker), CommonJS so dynamic import() becomes require() (Jest's
 * sandbox has no import() without --experimental-vm-modules; Prisma's client
 * uses it), and decorators with metadata for TypeORM entities.
 */
const TRANSPILE_OPTIONS = {
  isolatedModules: true,
  module: 'commonjs',
  target: 'es2022',
  esModuleInterop: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
};

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
