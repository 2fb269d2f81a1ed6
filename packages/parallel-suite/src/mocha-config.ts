import { join } from 'node:path';
import { TESTS_DIR } from './jest';

/**
 * The Mocha config every example shares (its .mocharc.cjs exports it), the
 * twin of suiteConfig: the suite's compiled tests, 30 s per test, 4 jobs under
 * --parallel; options come from the example's pgwork.config.cjs.
 */
export function suiteMochaConfig() {
  return {
    // The suite's first: its global teardown closes the app before pgwork's drops the database.
    require: [join(__dirname, 'mocha.js'), '@pgwork/core/mocha'],
    spec: [join(TESTS_DIR, '*.test.js')],
    timeout: 30_000,
    jobs: 4,
  };
}
