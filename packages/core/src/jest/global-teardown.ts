import { bindingOf } from '../shared/binding';
import { finishRunnerRun } from '../setup/runner-run';
import { activeRuns } from './active-runs';
import { runUserHook, type JestProjectConfig } from './user-hooks';

/**
 * Jest globalTeardown: the project's own globalTeardown first, if it had one;
 * then drop this run's databases (unless PGWORK_KEEP=1) and stop the embedded server(s).
 */
async function globalTeardown(globalConfig: unknown, projectConfig: JestProjectConfig): Promise<void> {
  const binding = bindingOf(projectConfig?.globals);
  const key = binding.project ?? '';
  const run = activeRuns().get(key);
  activeRuns().delete(key);
  try {
    if (binding.globalTeardown)
      await runUserHook(binding.globalTeardown, 'globalTeardown', globalConfig, projectConfig);
  } finally {
    if (run) await finishRunnerRun(run, binding.project, (text) => process.stderr.write(text));
  }
}

export = globalTeardown;
