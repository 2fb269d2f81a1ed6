// node:test: `node --test --import @pgwork/core/node-test --require @pgwork/parallel-suite/node-test <the suite's files>`.
import { after, before, describe, test } from 'node:test';
import { defineSuiteGlobals, registerAppCompiler } from './runners';

registerAppCompiler();
defineSuiteGlobals({ describe, test, beforeAll: before, afterAll: after });
