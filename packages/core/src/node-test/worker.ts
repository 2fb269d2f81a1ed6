import { createRequire } from 'node:module';
import { workerLifecycle, type WorkerLifecycle } from '../worker/lifecycle';
import { prepareTestProcess, underPgworkRun } from '../worker/test-process';

/** The one-line setup, named in errors. */
export const NODE_TEST_SETUP = 'pgwork run -- node --test --import @pgwork/core/node-test';

/**
 * Whether this process runs test files: a file's own process (NODE_TEST_CONTEXT),
 * or the runner's with --test-isolation=none; not the runner that starts the
 * files' processes (which newer Node releases load --import modules into too).
 */
function runsTests(env: NodeJS.ProcessEnv): boolean {
  if (env.NODE_TEST_CONTEXT) return true;
  const argv = process.execArgv;
  return (
    !argv.includes('--test') ||
    argv.some((arg) => arg === '--test-isolation=none' || arg === '--experimental-test-isolation=none')
  );
}

/**
 * A node:test process's side, before its test file loads (the --import module
 * awaits it): its worker number (the runner's, else a lease that dies with
 * the process), every configured variable pointed at its database, its
 * services started, and the lifecycle the module hooks to node:test.
 * Undefined in the runner's own process when it only starts the files'.
 */
export async function nodeTestWorker(
  env: NodeJS.ProcessEnv,
  testPath: string | undefined,
): Promise<WorkerLifecycle | undefined> {
  if (!runsTests(env)) return undefined;
  const state = await prepareTestProcess(env, underPgworkRun('node:test', NODE_TEST_SETUP));
  return workerLifecycle({
    env,
    testPath,
    // The test file's own require: reset "transaction" routes the app's pg, resolved from the project.
    appRequire: createRequire(testPath ?? `${state.settings.rootDir}/`),
  });
}
