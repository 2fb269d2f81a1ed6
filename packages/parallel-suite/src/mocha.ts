// Mocha: `require: ['@pgwork/parallel-suite/mocha', '@pgwork/core/mocha']` in .mocharc
// (this one first: its global teardown closes the app before pgwork's drops its database).
import { closeSuiteApps } from './app';
import { defineSuiteGlobals, registerAppCompiler } from './runners';

// Mocha defines describe, it, before and after anew for each file it loads:
// the suite's names call whichever the current file has.
const mochas = (name: string) =>
  ((...args: unknown[]) =>
    (globalThis as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!(...args)) as never;

registerAppCompiler();
defineSuiteGlobals({ test: mochas('it'), beforeAll: mochas('before'), afterAll: mochas('after') });

/** Mocha's global teardown, in its main process (the serial run's app lives there). */
export const mochaGlobalTeardown = closeSuiteApps;
