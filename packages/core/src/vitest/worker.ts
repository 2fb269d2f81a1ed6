import { PgworkError } from '../shared/errors';
import { runStateVariable } from '../shared/run-state';
import { applyWorkerEnvironment } from '../worker/env';
import { workerLifecycle, type WorkerLifecycle } from '../worker/lifecycle';

/**
 * A Vitest worker's side, run by the setup file before each test file: the
 * provided run state into this worker's environment (a thread has its own
 * process.env), every configured variable pointed at the worker's database, and
 * the lifecycle the setup file attaches to Vitest's hooks. Loaded with Node's require, so the
 * kept session and the app's `pg` are the process's (or thread's) own.
 */
export function vitestWorker(state: unknown, testPath: string | undefined): WorkerLifecycle {
  if (typeof state !== 'string') {
    const fix = "wrap your Vitest config with withPgwork(...) from '@pgwork/core/vitest' so pgwork's globalSetup runs";
    throw new PgworkError('NO_RUN', `this Vitest worker was given no pgwork run; ${fix}.`);
  }
  process.env[runStateVariable()] = state;
  applyWorkerEnvironment(process.env);
  return workerLifecycle({
    env: process.env,
    testPath,
    appRequire: require,
  });
}
