// Jest setupFilesAfterEnv: before the file's first test, checks the variables
// pgwork set still hold and connects to the worker's database (cloning it if
// the background clone has not); then resets it before each test, once for the
// file, or never, as the file's docblock or the resetBefore option says.
//
// pgwork's own code is loaded with Node's require, outside Jest's sandbox: fake
// timers that a test file or the config installs (fakeTimers.enableGlobally)
// replace the sandbox's setTimeout, setImmediate and process.nextTick, and a
// node-postgres client loaded inside it would wait on them forever.
import { nodeRequire } from '../shared/node-require';
import type * as Lifecycle from '../worker/lifecycle';
import { projectOf } from '../shared/binding';

declare const beforeAll: (fn: () => Promise<void>, timeout?: number) => void;
declare const beforeEach: (fn: () => Promise<void>, timeout?: number) => void;
declare const afterEach: (fn: () => Promise<void>, timeout?: number) => void;
declare const afterAll: (fn: () => Promise<void>, timeout?: number) => void;
declare const expect: { getState(): { testPath?: string; currentTestName?: string } };

const outside = nodeRequire(__filename);
const { workerLifecycle, attachToRunner } = outside('../worker/lifecycle') as typeof Lifecycle;

const lifecycle = workerLifecycle({
  env: process.env,
  project: projectOf(globalThis),
  testPath: expect.getState().testPath,
  // This test file's registry: the app's own copy of pg comes from it.
  appRequire: require,
});
// jest-circus tells its event handlers, not its hooks, that a test failed: record it for afterEach.
let failed = false;
type CircusEvent = { name: string };
const circusHandlers = (globalThis as Record<symbol, Array<(event: CircusEvent) => void> | undefined>)[
  Symbol.for('EVENT_HANDLERS')
];
circusHandlers?.push((event) => {
  if (event.name === 'test_fn_start') failed = false;
  else if (event.name === 'test_fn_failure') failed = true;
});
attachToRunner(lifecycle, { beforeAll, beforeEach, afterEach, afterAll }, globalThis, () => ({
  failed,
  name: expect.getState().currentTestName ?? '(unnamed test)',
}));
