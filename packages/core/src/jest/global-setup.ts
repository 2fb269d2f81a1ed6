import { loadAdapter } from '../shared/adapter';
import { bindingOf, optionsDigest } from '../shared/binding';
import { conciseError } from '../shared/errors';
import { runStateVariable } from '../shared/run-state';
import { resolveOptions } from '../setup/options';
import { startRun, type Run } from '../setup/run';
import { turboNotice } from '../setup/turbo';
import { activeRuns } from './active-runs';
import { runUserHook, type JestProjectConfig } from './user-hooks';

/** More workers than this clone on demand: a 64-core CI box should not clone 64 databases up front. */
const MAX_PREWARM = 16;

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
  let run: Run;
  const notice = turboNotice(projectConfig.rootDir);
  if (notice) process.stderr.write(`\n${notice}`);
  try {
    const options = resolveOptions(projectConfig.globals?.pgwork);
    const rootDir = projectConfig.rootDir;
    const adapter = loadAdapter(options.adapter, { rootDir });
    const workers = Math.max(1, globalConfig?.maxWorkers ?? 1);
    // One target per worker Jest may start: databases beyond MAX_PREWARM are cloned on demand; servers and schemas are all made here.
    const count = options.isolation === 'database' ? Math.min(workers, MAX_PREWARM) : workers;
    run = await startRun({
      ...options,
      adapter,
      adapterReference: options.adapter,
      rootDir,
      workers,
      workerIds: Array.from({ length: count }, (_, i) => i + 1),
      optionsDigest: optionsDigest(projectConfig.globals?.pgwork),
    });
    process.env[runStateVariable(binding.project)] = JSON.stringify(run.state);
    activeRuns().set(key, run);
    const project = binding.project ? ` for project "${binding.project}"` : '';
    const mode = options.disable ? `; PGWORK_DISABLE=1: all workers share one ${run.unit}` : '';
    for (const summary of run.summaries) {
      const where = summary.embedded ? `embedded Postgres (in ${summary.embeddedDirectory})` : 'Postgres';
      const reclaimed = summary.reclaimed.length
        ? `; reclaimed ${summary.reclaimed.length} ${run.unit}(s) of dead runs`
        : '';
      const collected = summary.templatesDropped?.length
        ? `; dropped ${summary.templatesDropped.length} old template(s)`
        : '';
      process.stderr.write(
        `\npgwork: run ${summary.runId}${project} on ${where}, version ${summary.serverVersion}; ${summary.prepared} (${adapter.name})${reclaimed}${collected}${mode}`,
      );
    }
    process.stderr.write('\n');
  } catch (error) {
    throw conciseError(error);
  }
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
