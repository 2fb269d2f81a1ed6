import { conciseError } from '../shared/errors';
import { registerWorker, workerLifecycle, type TestOutcome, type WorkerLifecycle } from './lifecycle';
import { withRealTimers } from './real-timers';

/**
 * For runners whose per-test hook is all pgwork gets (Playwright's fixtures,
 * Mocha's root hooks, which run once per run in serial mode): a test file's
 * lifecycle opened at its first test, and ended when the worker moves to
 * another file or ends. Each step on real timers, pgwork's errors as their one line.
 */
export function lifecycleByFile(env: NodeJS.ProcessEnv, appRequire: NodeJS.Require) {
  let file: { readonly path: string; readonly lifecycle: WorkerLifecycle } | undefined;
  const step = <T>(work: () => Promise<T>) =>
    withRealTimers(work).catch((error: unknown) => Promise.reject(conciseError(error)));
  const endFile = async () => {
    const ending = file;
    file = undefined;
    registerWorker(undefined);
    if (ending) await step(ending.lifecycle.afterFile);
  };
  return {
    /** Before a test of `path`: the file's lifecycle opened if it is a new file, then the test's reset. */
    async beforeTest(path: string): Promise<void> {
      if (file?.path !== path) {
        await endFile();
        const lifecycle = workerLifecycle({ env, testPath: path, appRequire });
        registerWorker(lifecycle);
        await step(lifecycle.beforeFile);
        // Only once it is open: a file whose opening failed is opened again by its next test.
        file = { path, lifecycle };
      }
      await step(file.lifecycle.beforeTest);
    },
    async afterTest(outcome: TestOutcome | undefined): Promise<void> {
      const lifecycle = file?.lifecycle;
      if (lifecycle) await step(() => lifecycle.afterTest(outcome));
    },
    /** The worker moves on (a Mocha worker's next file) or ends. */
    endFile,
  };
}
