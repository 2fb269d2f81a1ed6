import { expect } from 'expect';
import { TRANSPILE_OPTIONS } from './transpile';

// node:test and Mocha run the suite's compiled tests, which are written against
// the globals Jest, Vitest and Bun provide (describe, test, expect, beforeAll,
// afterAll): their register modules (node-test.ts, mocha.ts) provide them from
// the runner's own functions, and compile the example's TypeScript app the way
// ts-jest does under Jest.

type Fn = (...args: never[]) => unknown;

export interface SuiteGlobals {
  readonly describe?: Fn;
  readonly test: Fn;
  readonly beforeAll: Fn;
  readonly afterAll: Fn;
}

/** Defines the suite's globals from the runner's functions, and Jest's standalone expect. */
export function defineSuiteGlobals(globals: SuiteGlobals): void {
  Object.assign(globalThis, globals, { expect });
}

/** Lets require() load the example's TypeScript app (loadSuiteApp requires it by path). */
export function registerAppCompiler(): void {
  (require('ts-node') as typeof import('ts-node')).register({
    transpileOnly: true,
    skipProject: true,
    compilerOptions: TRANSPILE_OPTIONS,
  });
}
