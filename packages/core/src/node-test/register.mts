// node:test: `pgwork run -- node --test --import @pgwork/core/node-test`. Loaded
// into each test file's process before the file: the worker's number and
// database (and services) are set before the app's first import, then the
// database is reset before each test, once for the file, or never, as the
// file's docblock or the resetBefore option says.
import { createRequire } from 'node:module';
import { after, afterEach, before, beforeEach } from 'node:test';
import type * as Lifecycle from '../worker/lifecycle.js';
import type * as Worker from './worker.js';

const require = createRequire(import.meta.url);
const { nodeTestWorker } = require('./worker.js') as typeof Worker;
const { attachToRunner } = require('../worker/lifecycle.js') as typeof Lifecycle;

// node:test's hooks take their timeout in an options object.
type NodeHook = (fn: () => Promise<void>, options?: { timeout?: number }) => void;
const withTimeout = (hook: NodeHook) => (fn: () => Promise<void>, timeout?: number) => hook(fn, { timeout });

const lifecycle = await nodeTestWorker(process.env, process.argv[1]);
if (lifecycle) {
  attachToRunner(
    lifecycle,
    {
      beforeAll: withTimeout(before as NodeHook),
      beforeEach: withTimeout(beforeEach as NodeHook),
      afterEach: withTimeout(afterEach as NodeHook),
      afterAll: withTimeout(after as NodeHook),
    },
    globalThis,
  );
}
