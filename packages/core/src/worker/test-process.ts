import { PgworkError } from '../shared/errors';
import { RUN_STATE_VARIABLE, readRunState, type RunState } from '../shared/run-state';
import { applyWorkerEnvironment } from './env';
import { ensureWorkerId } from './lease';
import { startWorkerServices } from './services';

/**
 * A test process's side for runners with no per-worker setup of their own
 * (node:test's file processes, Mocha's, Bun's), before its test files load:
 * the run `pgwork run` (or Mocha's main process) started, a worker number
 * (the runner's, else a lease that dies with the process), every configured
 * variable pointed at the worker's database, its services started.
 * `noRun` says how to start the run, for a process started outside one.
 */
export async function prepareTestProcess(env: NodeJS.ProcessEnv, noRun: string): Promise<RunState> {
  if (!env[RUN_STATE_VARIABLE]) throw new PgworkError('NO_RUN', `${RUN_STATE_VARIABLE} is not set: ${noRun}.`);
  const state = readRunState(env);
  await ensureWorkerId(state, env);
  applyWorkerEnvironment(env);
  await startWorkerServices(env);
  return state;
}

/** The hint for runners without a global setup of their own: pgwork run is it. */
export const underPgworkRun = (runner: string, setup: string) =>
  `${runner} has no global setup to start pgwork's run; start the tests under pgwork run (${setup})`;
