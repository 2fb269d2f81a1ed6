import { bindingOf } from '../shared/binding';
import { runStateVariable } from '../shared/run-state';
import { startRunnerRun } from '../setup/runner-run';
import { activeRuns } from './active-runs';
import { runUserHook, type JestProjectConfig } from './user-hooks';

interface GlobalConfigLike {
  maxWorkers?: number;
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
    maxWorkers: globalConfig?.maxWorkers ?? 1,
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
