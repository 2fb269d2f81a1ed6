import { loadAdapter } from '../adapter';
import { PgworkError } from '../errors';
import { resolveOptions } from '../options';
import { RUN_STATE_VARIABLE, startRun, type Run } from '../run';

/** Jest's globalSetup and globalTeardown run in the same process: the run is handed over here. */
export const ACTIVE_RUN = Symbol.for('pgwork.activeRun');

/** More workers than this clone on demand: a 64-core CI box should not clone 64 databases up front. */
const MAX_PREWARM = 16;

interface ProjectConfigLike {
  rootDir: string;
  globals?: Record<string, unknown>;
}

/**
 * Jest globalSetup: start (or find) the server, build or reuse the template,
 * and publish the run to the workers through the environment.
 */
interface GlobalConfigLike {
  maxWorkers?: number;
}

export default async function globalSetup(globalConfig: GlobalConfigLike, projectConfig: ProjectConfigLike): Promise<void> {
  try {
    const options = resolveOptions(projectConfig.globals?.pgwork);
    const context = { rootDir: projectConfig.rootDir };
    const adapter = loadAdapter(options.adapter, context);
    // One database per worker Jest may start, cloned while the workers boot.
    const prewarm = Math.max(1, Math.min(globalConfig?.maxWorkers ?? 1, MAX_PREWARM));
    const workers = Math.max(1, globalConfig?.maxWorkers ?? 1);
    const run = await startRun({ ...options, adapter, adapterReference: options.adapter, rootDir: context.rootDir, prewarm, workers });
    process.env[RUN_STATE_VARIABLE] = JSON.stringify(run.state);
    (globalThis as Record<symbol, Run | undefined>)[ACTIVE_RUN] = run;
    const { summary } = run;
    const where = summary.embedded ? `embedded Postgres (in ${summary.embeddedDirectory})` : 'Postgres';
    const template = summary.templateBuilt ? `built in ${Math.round(summary.migrateMs)} ms` : 'reused';
    const mode = options.disable ? '; PGWORK_DISABLE=1: all workers share one database' : '';
    const reclaimed = summary.reclaimed.length ? `; reclaimed ${summary.reclaimed.length} database(s) of dead runs` : '';
    process.stderr.write(`\npgwork: run ${summary.runId} on ${where}, version ${summary.serverVersion}; template ${summary.template} ${template} (${adapter.name})${reclaimed}${mode}\n`);
  } catch (error) {
    throw conciseError(error);
  }
}

/** Jest prints a thrown error's stack: for pgwork's own errors the one-line message is the whole story. */
export function conciseError(error: unknown): unknown {
  if (error instanceof PgworkError) error.stack = error.message;
  return error;
}
