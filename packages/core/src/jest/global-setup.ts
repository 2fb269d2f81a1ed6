import { bindingOf } from '../shared/binding';
import { runStateVariable } from '../shared/run-state';
import { startRunnerRun } from '../setup/runner-run';
import { activeRuns } from './active-runs';
import { runUserHook, type JestProjectConfig } from './user-hooks';

/** The parts of Jest's globalConfig pgwork reads: options already resolved, the command line's over the config's. */
interface GlobalConfigLike {
  maxWorkers?: number;
  runInBand?: boolean;
  detectOpenHandles?: boolean;
}

/**
 * How many workers Jest will run: one under --runInBand or --detectOpenHandles (Jest
 * then runs every file in its main process, as worker 1), else maxWorkers. Jest also
 * runs in band on its own when it finds one test file (or few, fast in its cache), and
 * starts maxWorkers workers even for fewer files; its globalSetup is not told the
 * files, so those runs prewarm maxWorkers and leave some unused.
 */
function jestWorkerCount(globalConfig: GlobalConfigLike | undefined): number {
  if (globalConfig?.runInBand || globalConfig?.detectOpenHandles) return 1;
  return globalConfig?.maxWorkers ?? 1;
}

/**
 * Jest globalSetup: start (or find) the server, build or reuse the template,
 * and publish the run to the workers through the environment; then the
 * project's own globalSetup, if it had one.
 */
async function globalSetup(globalConfig: GlobalConfigLike, projectConfig: JestProjectConfig): Promise<void> {
  const binding = bindingOf(projectConfig.globals);
  const key = binding.project ?? '';
  const run = await startRunnerRun({
    options: projectConfig.globals?.pgwork,
    rootDir: projectConfig.rootDir,
    maxWorkers: jestWorkerCount(globalConfig),
    project: binding.project,
    write: (text) => process.stderr.write(text),
  });
  process.env[runStateVariable(binding.project)] = JSON.stringify(run.state);
  activeRuns().set(key, run);
  if (!binding.globalSetup) return;
  try {
    await runUserHook(binding.globalSetup, 'globalSetup', globalConfig, projectConfig);
  } catch (error) {
    // Jest runs no globalTeardown after a failed globalSetup: undo pgwork's part here.
    activeRuns().delete(key);
    await run.finish().catch(() => undefined);
    throw error;
  }
}

// Jest (and bundlers) take module.exports as the hook: no default-export interop needed.
export = globalSetup;
