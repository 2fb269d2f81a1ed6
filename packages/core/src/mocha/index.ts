import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { conciseError } from '../shared/errors';
import { RUN_STATE_VARIABLE } from '../shared/run-state';
import type { Run } from '../setup/run';
import { finishRunnerRun, startConfiguredRun } from '../setup/runner-run';
import { applyWorkerEnvironment } from '../worker/env';
import { lifecycleByFile } from '../worker/files';
import { SETUP_TIMEOUT_MS } from '../worker/lifecycle';
import { startWorkerServices } from '../worker/services';
import { prepareTestProcess } from '../worker/test-process';

// Mocha: `require: ['@pgwork/core/mocha']` in .mocharc, options in pgwork.config.*.
// Mocha loads this root-hook plugin in its main process, before the spec
// files (and, with --parallel, in each worker process, before its files): the
// main process starts the run (Mocha's global setup comes after the spec files
// load, too late for an app that reads DATABASE_URL at import), each process
// that runs tests leases a worker number (MOCHA_WORKER_ID counts every worker
// ever started) and gets its database; the global teardown finishes the run.

/** The parts of Mocha's hook context pgwork uses. */
interface HookContext {
  timeout(ms: number): void;
  currentTest?: { file?: string; state?: string; fullTitle(): string };
}

const HOLDER = Symbol.for('pgwork.mochaRun');
const holder = globalThis as Record<symbol, Run | undefined>;

/**
 * How many processes run the tests: under --parallel, Mocha's --jobs (as
 * Mocha's own reader has it from the command line and .mocharc), by default
 * the cores less one; serial, one. Each of them gets a database (or a schema,
 * made at the start for this many).
 */
function mochaWorkers(): number {
  const fromProject = createRequire(join(process.cwd(), 'package.json'));
  for (const file of ['mocha/lib/cli/options.cjs', 'mocha/lib/cli/options.js']) {
    try {
      const { loadOptions } = fromProject(file) as {
        loadOptions(argv: string[]): { parallel?: boolean; jobs?: number };
      };
      const options = loadOptions(process.argv.slice(2));
      return options.parallel ? Math.max(1, options.jobs ?? availableParallelism() - 1) : 1;
    } catch (error) {
      // Another Mocha layout: the next, else the cores. Anything else (a broken .mocharc) Mocha reports itself.
      if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') break;
    }
  }
  return availableParallelism();
}

/** What a Mocha worker without a run is told: the main process starts it, when it loads this plugin too. */
const NO_RUN_HINT =
  "Mocha's main process started no pgwork run; list @pgwork/core/mocha in .mocharc's require, which Mocha's main process loads as well as its workers";

async function startRun(workers: number): Promise<void> {
  const run = await startConfiguredRun({
    cwd: process.cwd(),
    workers,
    reader: '@pgwork/core/mocha',
    write: (text) => process.stderr.write(text),
  });
  holder[HOLDER] = run;
  process.env[RUN_STATE_VARIABLE] = JSON.stringify(run.state);
}

/** Mocha's root hooks (awaited before the spec files load). */
export async function mochaHooks(): Promise<Record<string, (this: HookContext) => Promise<void>>> {
  try {
    if (process.env.MOCHA_WORKER_ID === undefined) {
      // The main process: serial, it runs the tests as worker 1 (it leases no number); with --parallel
      // it only hands files to the workers, which inherit worker 1's variables and point them at their own.
      if (!process.env[RUN_STATE_VARIABLE]) await startRun(mochaWorkers());
      applyWorkerEnvironment(process.env);
      await startWorkerServices(process.env);
    } else await prepareTestProcess(process.env, NO_RUN_HINT);
  } catch (error) {
    throw conciseError(error);
  }
  const files = lifecycleByFile(process.env, require);
  return {
    async beforeEach() {
      this.timeout(SETUP_TIMEOUT_MS);
      await files.beforeTest(this.currentTest?.file ?? '(no file)');
    },
    async afterEach() {
      this.timeout(SETUP_TIMEOUT_MS);
      const test = this.currentTest;
      await files.afterTest({ failed: test?.state === 'failed', name: test?.fullTitle() ?? '(unnamed test)' });
    },
    // Serial: once, after the last file; parallel: after each file a worker ran.
    async afterAll() {
      this.timeout(SETUP_TIMEOUT_MS);
      await files.endFile();
    },
  };
}

/** Mocha's global teardown, in its main process: drops the run's databases. */
export async function mochaGlobalTeardown(): Promise<void> {
  const run = holder[HOLDER];
  holder[HOLDER] = undefined;
  if (run) await finishRunnerRun(run, undefined, (text) => process.stderr.write(text));
}
