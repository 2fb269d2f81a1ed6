import { loadAdapter } from '../adapter';
import { bindingOf, optionsDigest } from '../binding';
import { resolveOptions } from '../options';
import { runStateVariable } from '../run';
import { startRunGroup, type RunGroup } from '../run-group';
import { conciseError } from '../errors';
import { activeRuns } from './active-runs';
import { turboNotice } from '../turbo';
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
  let group: RunGroup;
  const notice = turboNotice(projectConfig.rootDir);
  if (notice) process.stderr.write(`\n${notice}`);
  try {
    const options = resolveOptions(projectConfig.globals?.pgwork);
    const context = { rootDir: projectConfig.rootDir };
    const adapter = loadAdapter(options.adapter, context);
    const workers = Math.max(1, globalConfig?.maxWorkers ?? 1);
    // One database (or server, or schema) per worker Jest may start. Databases are
    // cloned while the workers boot and beyond MAX_PREWARM on demand; servers and
    // schemas are all made here.
    const count = options.isolation === 'database' ? Math.min(workers, MAX_PREWARM) : workers;
    const workerIds = Array.from({ length: count }, (_, i) => i + 1);
    group = await startRunGroup(
      {
        ...options,
        adapter,
        adapterReference: options.adapter,
        rootDir: context.rootDir,
        workers,
        optionsDigest: optionsDigest(projectConfig.globals?.pgwork),
      },
      { isolation: options.isolation, workerIds },
    );
    process.env[runStateVariable(binding.project)] = group.published;
    activeRuns().set(key, group);
    const project = binding.project ? ` for project "${binding.project}"` : '';
    for (const { summary, state } of group.runs) {
      const where = summary.embedded ? `embedded Postgres (in ${summary.embeddedDirectory})` : 'Postgres';
      const built = `built in ${Math.round(summary.migrateMs)} ms`;
      const template = state.workerSchemas
        ? `schema per worker: ${count} in database ${state.shared} ${built}`
        : `template ${summary.template} ${summary.templateBuilt ? built : 'reused'}`;
      const mode = options.disable ? '; PGWORK_DISABLE=1: all workers share one database' : '';
      const reclaimed = summary.reclaimed.length
        ? `; reclaimed ${summary.reclaimed.length} database(s) of dead runs`
        : '';
      process.stderr.write(
        `\npgwork: run ${summary.runId}${project} on ${where}, version ${summary.serverVersion}; ${template} (${adapter.name})${reclaimed}${mode}`,
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
    await group.finish().catch(() => undefined);
    throw error;
  }
}

// Jest (and bundlers) take module.exports as the hook: no default-export interop needed.
export = globalSetup;
