import { createRequire } from 'node:module';
import { lifecycleByFile } from '../worker/files';
import { prepareTestProcess, underPgworkRun } from '../worker/test-process';

/** The one-line setup, named in errors. */
export const BUN_SETUP = 'pgwork run -- bun test --parallel --preload @pgwork/core/bun';

/** Connecting or cloning on a loaded machine can take longer than Bun's default 5 s. */
export { SETUP_TIMEOUT_MS } from '../worker/lifecycle';

/**
 * A `bun test` process's side, before its test files load: its worker number
 * (Bun's --parallel sets JEST_WORKER_ID to 1..N; a serial run leases one), its
 * database and services, and a lifecycle per test file, the file being the one
 * Bun runs (Bun.main) when a test starts.
 */
export async function bunTestProcess(env: NodeJS.ProcessEnv) {
  const state = await prepareTestProcess(env, underPgworkRun('bun test', BUN_SETUP));
  // reset "transaction" routes the app's pg, resolved from the project.
  return lifecycleByFile(env, createRequire(`${state.settings.rootDir}/`));
}
