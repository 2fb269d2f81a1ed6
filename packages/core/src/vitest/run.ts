import type { Run } from '../setup/run';
import { finishRunnerRun, startRunnerRun } from '../setup/runner-run';
import { OPTIONS_KEY } from './config';

/** The key workers `inject()` the run's state from. */
export const STATE_KEY = 'pgworkRun';

/** The parts of Vitest's TestProject pgwork's globalSetup uses (Vitest 3.2 and later). */
export interface VitestProjectLike {
  readonly name: string;
  readonly config: { readonly root: string; readonly maxWorkers?: number; readonly provide?: Record<string, unknown> };
  provide(key: string, value: unknown): void;
  onTestsRerun?(callback: () => void | Promise<void>): void;
}

/**
 * Vitest globalSetup: starts the run as the Jest binding does and provides its
 * state to the workers. In watch mode every rerun is a run of its own (the
 * template rebuilt when the schema changed, fresh worker databases), so a rerun
 * sees what a new `vitest run` would. Returns the teardown.
 */
export async function vitestGlobalSetup(project: VitestProjectLike): Promise<() => Promise<void>> {
  const name = project.name || undefined;
  const write = (text: string) => process.stderr.write(text);
  const start = async () => {
    const run = await startRunnerRun({
      options: project.config.provide?.[OPTIONS_KEY],
      rootDir: project.config.root,
      maxWorkers: project.config.maxWorkers ?? 1,
      project: name,
      write,
    });
    project.provide(STATE_KEY, JSON.stringify(run.state));
    return run;
  };
  let run: Run | undefined = await start();
  project.onTestsRerun?.(async () => {
    const previous = run;
    run = undefined;
    if (previous) await finishRunnerRun(previous, name, write);
    run = await start();
  });
  return async () => {
    const last = run;
    run = undefined;
    if (last) await finishRunnerRun(last, name, write);
  };
}
