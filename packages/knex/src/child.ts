// Runs in a child process started by the adapter: loads the project's knexfile
// (TypeScript through the project's loader; it may read process.env) and runs
// the project's own Knex migrator and seeder, so none of it touches the runner.
import { resolve } from 'node:path';
import { childMain, describeDatabaseError } from '@pgwork/core/adapter';
import type { Knex } from 'knex';
import type { KnexOptions } from './index';

/** The options, with the knexfile's absolute path (the child's cwd is its folder); DATABASE_URL is the target's. */
export type ChildRequest = KnexOptions & { action: 'inspect' | 'migrate'; knexfile: string };

/** The config as Knex's CLI reads it (the default export or the module, called if a function), then one section. */
async function loadConfig({ knexfile, environment }: ChildRequest): Promise<[string | null, Knex.Config]> {
  const loaded = require(knexfile);
  const exported = loaded?.default ?? loaded;
  const all = typeof exported === 'function' ? await exported() : exported;
  if (all && 'client' in all) return [null, all];
  // NODE_ENV's section, else test's: the same one under Jest and Vitest (NODE_ENV=test) as under the
  // pgwork CLI, node:test and Mocha (unset), so all read one template. One named in the options must exist.
  const name = environment ?? [process.env.NODE_ENV, 'test', 'development'].find((env) => env && all?.[env]);
  if (name && all?.[name]) return [name, all[name]];
  const wanted = environment ?? process.env.NODE_ENV ?? 'development';
  const which = `"${wanted}" environment (it has ${Object.keys(all ?? {}).join(', ') || 'no sections and no client'})`;
  throw new Error(`it has no ${which}; name one with knex({ environment })`);
}

/** What shapes the schema (the seeds' settings when they run), and never the connection (it may hold credentials). */
function inspect(environment: string | null, { migrations = {}, seeds = {}, searchPath }: Knex.Config, run = false) {
  const { tableName = 'knex_migrations', schemaName, loadExtensions, sortDirsSeparately } = migrations;
  const seeding = run && [seeds.loadExtensions, seeds.recursive, seeds.specific, seeds.sortDirsSeparately];
  return {
    shape: { environment, tableName, schemaName, loadExtensions, sortDirsSeparately, searchPath, seeding },
    // Relative to the cwd, the knexfile's folder, as Knex's CLI runs.
    migrationDirs: [migrations.directory ?? './migrations'].flat().map((dir) => resolve(dir)),
    seedDirs: run ? [seeds.directory ?? './seeds'].flat().map((dir) => resolve(dir)) : [],
  };
}
export type Inspection = ReturnType<typeof inspect>;

childMain<ChildRequest, unknown>(async (request) => {
  const [name, config] = await loadConfig(request);
  if (!['pg', 'postgres', 'postgresql'].includes(String(config.client)))
    throw new Error(`its client is ${JSON.stringify(config.client)}; pgwork needs "pg"`);
  if (request.action === 'inspect') return inspect(name, config, request.seeds);
  // The project's own Knex, found from the cwd (the knexfile's folder) as Knex's CLI finds it.
  const knex: typeof import('knex').knex = require(require.resolve('knex', { paths: [process.cwd()] }));
  const warnings: string[] = [];
  const log = { warn: (m: string) => warnings.push(m), error() {}, deprecate() {}, debug() {} };
  // The target replaces the connection entirely. Schema isolation is declared only for a knexfile
  // without searchPath: the URL's search_path (the worker's schema first) decides where tables land.
  const db = knex({ ...config, connection: { connectionString: process.env.DATABASE_URL }, log });
  const failed = (step: string, fix: string) => (error: unknown) => {
    const file = warnings.map((w) => /migration file "(.+)" failed/.exec(w)?.[1]).find(Boolean);
    const where = file ? ` in migration ${file}` : '';
    throw new Error(`Knex ${step} failed${where}: ${describeDatabaseError(error)}; ${fix}`);
  };
  try {
    await db.migrate.latest().catch(failed('migrate.latest()', 'fix that migration'));
    if (request.seeds) await db.seed.run().catch(failed('seed.run()', 'fix that seed'));
  } finally {
    await db.destroy();
  }
});
