// Runs in a child process started by the adapter: loads the user's MikroORM config
// (TypeScript through the project's loader) with the project's own MikroORM, so
// entities, metadata and Knex pools never live in the test runner's processes.
import { createRequire } from 'node:module';
import { join, resolve, sep } from 'node:path';
import { existsSync } from 'node:fs';
import { childMain, hashFiles, hashParts, installedPackage, listFiles, pickExport } from '@pgwork/core/adapter';
import type { Options } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/postgresql';

export interface ChildRequest {
  action: 'inspect' | 'migrations' | 'schema';
  module: string;
  exportName?: string;
  rootDir: string;
  url?: string;
  schema?: string;
}

const CONNECTION_VARIABLES = ['CLIENT_URL', 'HOST', 'PORT', 'USER', 'PASSWORD', 'DB_NAME'].map((v) => `MIKRO_ORM_${v}`);
const STEP = { migrations: 'Migrator.up()', schema: 'SchemaGenerator.createSchema()' };

const isConfig = (value: unknown): value is Options | (() => Options) =>
  typeof value === 'function' ||
  (typeof value === 'object' && value !== null && ['driver', 'entities', 'clientUrl', 'then'].some((k) => k in value));

// pgwork's own modules (this file, core) are loaded by now: any file loaded later outside node_modules is the project's.
const pgworkFiles = new Set(Object.keys(require.cache));
const isProjectFile = (file: string) => !file.includes(`${sep}node_modules${sep}`) && !pgworkFiles.has(file);
/** Migration files as MikroORM's default glob takes them: no snapshots, no declarations. */
const isMigration = (file: string) => /\.(c?js|ts)$/.test(file) && !file.endsWith('.d.ts');

childMain<ChildRequest, unknown>(async ({ action, module, exportName, rootDir, url, schema }) => {
  const fromProject = createRequire(join(rootDir, 'package.json'));
  const { MikroORM: ORM, PostgreSqlDriver } = fromProject('@mikro-orm/postgresql');
  const wanted = { accepts: isConfig, what: 'MikroORM config', usual: ['default'], option: 'mikroOrm({ export })' };
  const picked = pickExport(require(module), { ...wanted, name: exportName });
  const config: Options = await (typeof picked === 'function' ? picked() : picked);
  const driver = config.driver as { name?: string; prototype?: unknown } | undefined;
  if (driver && driver !== PostgreSqlDriver && !(driver.prototype instanceof PostgreSqlDriver)) {
    throw new Error(`the config's driver is ${driver.name}; pgwork needs PostgreSqlDriver from @mikro-orm/postgresql`);
  }
  const init = (options: Options): Promise<MikroORM> =>
    ORM.init({ ...config, debug: false, allowGlobalContext: true, ...options });
  if (action === 'inspect') {
    // Discovery requires every entity file (paths and globs too) and needs no connection.
    const orm = await init({ connect: false });
    await orm.close(true);
    // MikroORM lets these (from the environment or the project's .env) override clientUrl: the app would miss its worker's database.
    const overriding = CONNECTION_VARIABLES.find((name) => process.env[name] !== undefined);
    if (overriding)
      throw new Error(
        `${overriding} (set in the environment or .env) overrides the config's clientUrl; unset it for tests`,
      );
    const files = hashFiles(rootDir, Object.keys(require.cache).filter(isProjectFile));
    return inspection(orm, config, files, installedPackage('@mikro-orm/core', rootDir)!.version);
  }
  // MikroORM takes host, port and database from the URL but drops its `options` (search_path): under schema
  // isolation its schema option qualifies bookkeeping and tables, and unqualified migration SQL follows search_path.
  const connection = { ...config.driverOptions?.connection, options: `-c search_path=${schema}` };
  const inSchema = schema ? { schema, driverOptions: { ...config.driverOptions, connection } } : {};
  const extensions = [...(config.extensions ?? [])];
  if (action === 'migrations') extensions.push(fromProject('@mikro-orm/migrations').Migrator);
  // snapshot: false, or up() writes .snapshot-<database>.json into the user's migrations folder.
  const migrations = { ...config.migrations, snapshot: false };
  // The target's URL alone says where to connect: a dbName or host of the config's would win over it.
  const unset = { dbName: undefined, host: undefined, port: undefined, user: undefined, password: undefined };
  const orm = await init({ ...unset, ...inSchema, clientUrl: url, migrations, extensions });
  try {
    if (action === 'migrations') await orm.getMigrator().up();
    else await orm.getSchemaGenerator().createSchema();
  } catch (error) {
    const { message, migration, cause } = error as Error & { migration?: { name?: string }; cause?: Error };
    // umzug wraps a migration's error; MikroORM puts the SQL before Postgres' message ("alter table ... - ...").
    const text = cause?.message ?? message;
    const what = migration?.name ? `migration ${migration.name}` : STEP[action as keyof typeof STEP];
    throw new Error(`MikroORM ${what} failed: ${text.slice(text.lastIndexOf(' - ') + 3).split('\n')[0]}`);
  } finally {
    await orm.close(true);
  }
  return null;
});

/** What pgwork needs to know of the config, and a digest of everything that shapes its tables. */
function inspection(orm: MikroORM, config: Options, files: string, version: string) {
  const { tableName, path, pathTs } = orm.config.get('migrations');
  const metadata = Object.values(orm.getMetadata().getAll());
  const entitySchema = metadata.find((meta) => meta.schema && meta.schema !== '*')?.schema ?? null;
  const table = tableName!.includes('.') ? tableName! : `${config.schema ?? 'public'}.${tableName}`;
  const shape = [config.schema, orm.config.getNamingStrategy().constructor.name, table, entitySchema];
  const migrationsDir = resolve(orm.config.get('baseDir'), pathTs ?? path!);
  const migrationFiles = existsSync(migrationsDir) ? listFiles(migrationsDir, isMigration) : [];
  return {
    schema: config.schema ?? null,
    entitySchema,
    migrationsTable: table,
    migrationsDir,
    /** A digest of the migration files, null when there are none. */
    migrations: migrationFiles.length ? hashFiles(migrationsDir, migrationFiles) : null,
    shape: hashParts([version, JSON.stringify(shape), files]),
  };
}

export type Inspection = ReturnType<typeof inspection>;
