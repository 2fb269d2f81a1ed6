// Runs in a child process started by the adapter: loads the project's knexfile
// (TypeScript through the project's loader; it may read process.env) and runs
// the project's own Knex migrator and seeder, so none of it touches the runner.
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { childMain, describeDatabaseError, pickExport } from '@pgwork/core/adapter';
import type { Knex } from 'knex';

export interface ChildRequest {
  action: 'inspect' | 'migrate';
  knexfile: string;
  rootDir: string;
  environment?: string;
  seeds?: boolean;
  url?: string;
}

type Config = Knex.Config & { client?: unknown };
const orCall = async (value: unknown) => (typeof value === 'function' ? value() : value) as Promise<Config>;

/** The knexfile's config: an object or a function's (promised) result, of one environment when keyed by them. */
async function loadConfig({ knexfile, environment }: ChildRequest) {
  const all = await orCall(
    pickExport(require(knexfile), {
      accepts: (value): value is object => typeof value === 'function' || (typeof value === 'object' && value !== null),
      what: 'knex config',
      usual: ['default'],
      example: "export default { client: 'pg', connection: process.env.DATABASE_URL }",
    }),
  );
  if ('client' in all) return { name: null, config: all };
  const sections = all as Record<string, unknown>;
  // As Knex's CLI: NODE_ENV (Jest and Vitest set "test"), else "development"; one named in the options must exist.
  const name = environment ?? [process.env.NODE_ENV, 'development'].find((env) => env && sections[env]);
  if (name && sections[name]) return { name, config: await orCall(sections[name]) };
  const which = `"${environment ?? process.env.NODE_ENV ?? 'development'}" environment (it has ${Object.keys(sections).join(', ')})`;
  throw new Error(`it has no ${which}; name one with knex({ environment })`);
}

/** What shapes the schema, and never the connection (it may hold credentials). */
function inspect(environment: string | null, { migrations = {}, seeds = {}, searchPath }: Config) {
  // Relative to the cwd, the knexfile's folder, as Knex's CLI runs.
  const dirs = (directory: string | readonly string[] | undefined, fallback: string) =>
    [directory ?? fallback].flat().map((dir) => resolve(dir));
  const { tableName, schemaName, loadExtensions, sortDirsSeparately } = migrations;
  return {
    shape: { environment, tableName, schemaName, loadExtensions, sortDirsSeparately, searchPath },
    seedShape: { loadExtensions: seeds.loadExtensions, recursive: seeds.recursive, specific: seeds.specific },
    migrationDirs: dirs(migrations.directory, './migrations'),
    seedDirs: dirs(seeds.directory, './seeds'),
  };
}
export type Inspection = ReturnType<typeof inspect>;

childMain<ChildRequest, unknown>(async (request) => {
  const { name, config } = await loadConfig(request);
  if (!['pg', 'postgres', 'postgresql'].includes(String(config.client))) {
    throw new Error(`its client is ${JSON.stringify(config.client)}; pgwork needs "pg"`);
  }
  if (request.action === 'inspect') return inspect(name, config);
  const knex = createRequire(join(request.rootDir, 'package.json'))('knex') as typeof import('knex').knex;
  const warnings: string[] = [];
  const log = { warn: (m: string) => warnings.push(m), error() {}, deprecate() {}, debug() {} };
  // The target replaces the connection entirely. Schema isolation is declared only for a knexfile
  // without searchPath: the URL's search_path (the worker's schema first) decides where tables land.
  const db = knex({ ...config, connection: { connectionString: request.url }, log });
  const failed = (step: string, fix: string) => (error: unknown) => {
    const file = warnings.map((w) => /migration file "(.+)" failed/.exec(w)?.[1]).find(Boolean);
    throw new Error(
      `Knex ${step} failed${file ? ` in migration ${file}` : ''}: ${describeDatabaseError(error)}; ${fix}`,
    );
  };
  try {
    await db.migrate.latest().catch(failed('migrate.latest()', 'fix that migration'));
    if (request.seeds) await db.seed.run().catch(failed('seed.run()', 'fix that seed'));
  } finally {
    await db.destroy();
  }
  return null;
});
