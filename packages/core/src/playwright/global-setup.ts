import { dirname } from 'node:path';
import { PgworkError } from '../shared/errors';
import { RUN_STATE_VARIABLE } from '../shared/run-state';
import { startRunnerRun } from '../setup/runner-run';
import { OPTIONS_VARIABLE, activeRun } from './wiring';

/** The parts of Playwright's FullConfig pgwork reads. */
interface FullConfigLike {
  readonly configFile?: string;
  readonly rootDir: string;
  readonly workers: number;
}

/**
 * Playwright global setup: starts the run as the Jest and Vitest bindings do
 * and leaves its state in the environment, which Playwright's workers inherit.
 */
async function globalSetup(config: FullConfigLike): Promise<void> {
  const raw = process.env[OPTIONS_VARIABLE];
  if (!raw) {
    throw new PgworkError(
      'NO_RUN',
      "pgwork's Playwright global setup found no options; wrap your config with withPgwork(...) from '@pgwork/playwright' instead of naming pgwork's global setup by hand.",
    );
  }
  const run = await startRunnerRun({
    options: JSON.parse(raw),
    rootDir: config.configFile ? dirname(config.configFile) : config.rootDir,
    maxWorkers: config.workers,
    write: (text) => process.stderr.write(text),
  });
  activeRun().run = run;
  process.env[RUN_STATE_VARIABLE] = JSON.stringify(run.state);
}

export = globalSetup;
