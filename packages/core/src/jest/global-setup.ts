import { loadAdapter } from '../adapter';
import { resolveOptions } from '../options';
import { RUN_STATE_VARIABLE } from '../run';
import { startRunGroup, type RunGroup } from '../run-group';

/** Jest's globalSetup and globalTeardown run in the same process: the runs are handed over here. */
export const ACTIVE_RUN = Symbol.for('pgwork.activeRun');

/** More workers than this clone on demand: a 64-core CI box should not clone 64 databases up front. */
const MAX_PREWARM = 16;

interface ProjectConfigLike {
  rootDir: string;
  globals?: Record<string, unknown>;
}

interface GlobalConfigLike {
  maxWorkers?: number;
}

/**
 * Jest globalSetup: start (or find) the server, build or reuse the template,
 * and publish the run to the workers through the environment.
 */
export default async function globalSetup(globalConfig: GlobalConfigLike, projectConfig: ProjectConfigLike): Promise<void> {
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
    const group = await startRunGroup(
      { ...options, adapter, adapterReference: options.adapter, rootDir: context.rootDir, workers },
      { isolation: options.isolation, workerIds },
    );
    process.env[RUN_STATE_VARIABLE] = group.published;
    (globalThis as Record<symbol, RunGroup | undefined>)[ACTIVE_RUN] = group;
    for (const { summary, state } of group.runs) {
      const where = summary.embedded ? `embedded Postgres (in ${summary.embeddedDirectory})` : 'Postgres';
      const built = `built in ${Math.round(summary.migrateMs)} ms`;
      const template = state.workerSchemas
        ? `schema per worker: ${count} in database ${state.shared} ${built}`
        : `template ${summary.template} ${summary.templateBuilt ? built : 'reused'}`;
      const mode = options.disable ? '; PGWORK_DISABLE=1: all workers share one database' : '';
      const reclaimed = summary.reclaimed.length ? `; reclaimed ${summary.reclaimed.length} database(s) of dead runs` : '';
      process.stderr.write(`\npgwork: run ${summary.runId} on ${where}, version ${summary.serverVersion}; ${template} (${adapter.name})${reclaimed}${mode}`);
    }
    process.stderr.write('\n');
  } catch (error) {
    throw conciseError(error);
  }
}

/** Jest prints a thrown error's stack: for pgwork's own errors the one-line message is the whole story. */
export function conciseError(error: unknown): unknown {
  // By name: the worker side loads pgwork outside Jest's sandbox, so its classes are not the sandbox's.
  if (error instanceof Error && error.name === 'PgworkError') error.stack = error.message;
  return error;
}
