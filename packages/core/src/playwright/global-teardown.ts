import { RUN_STATE_VARIABLE } from '../shared/run-state';
import { finishRunnerRun } from '../setup/runner-run';
import { activeRun } from './wiring';

/** Playwright global teardown, after the config's own: stops what workers left running, drops the run's databases. */
async function globalTeardown(): Promise<void> {
  const holder = activeRun();
  const run = holder.run;
  holder.run = undefined;
  delete process.env[RUN_STATE_VARIABLE];
  if (run) await finishRunnerRun(run, undefined, (text) => process.stderr.write(text));
}

export = globalTeardown;
