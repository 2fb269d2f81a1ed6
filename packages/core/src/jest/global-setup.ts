import { loadAdapter } from '../adapter';
import { PgworkError } from '../errors';
import { resolveOptions } from '../options';
import { RUN_STATE_VARIABLE, startRun, type Run } from '../run';

/** Jest's globalSetup and globalTeardown run in the same process: the run is handed over here. */
export const ACTIVE_RUN = Symbol.for('pgwork.activeRun');

interface ProjectConfigLike {
  rootDir: string;
  globals?: Record<string, unknown>;
}

/**
 * Jest globalSetup: start (or find) the server, build or reuse the template,
 * and publish the run to the workers through the environment.
 */
export default async function globalSetup(_globalConfig: unknown, projectConfig: ProjectConfigLike): Promise<void> {
  try {
    const options = resolveOptions(projectConfig.globals?.pgwork);
    const context = { rootDir: projectConfig.rootDir };
    const adapter = loadAdapter(options.adapter, context);
    const run = await startRun({ ...options, adapter, adapterReference: options.adapter, rootDir: context.rootDir });
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
