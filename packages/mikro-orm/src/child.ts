// Runs in a child process started by the adapter (in the project's directory): the user's MikroORM config (TypeScript
// through the project's loader) on the project's own MikroORM, so entities, metadata and Knex pools stay out of the runner.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { childMain, hashFiles, hashParts, listFiles, loadedProjectFiles, pickExport } from '@pgwork/core/adapter';
import type { MikroORM, Options } from '@mikro-orm/postgresql';

/** Migrating, the target is DATABASE_URL (and `schema` under schema isolation). */
export interface ChildRequest {
  action: 'inspect' | 'migrations' | 'schema';
  module: string;
  exportName?: string;
  schema?: string;
}

const STEP: Record<string, string> = { migrations: 'Migrator.up()', schema: 'SchemaGenerator.createSchema()' };
const MIGRATION = /(?<!\.d)\.(c?js|ts)$/; // as MikroORM's default glob: scripts, no declarations (nor snapshots)

const isConfig = (value: unknown): value is Options | (() => Options) =>
  typeof value === 'function' ||
  (typeof value === 'object' && value !== null && ['driver', 'entities', 'clientUrl', 'then'].some((k) => k in value));

const fromProject = createRequire(join(process.cwd(), 'package.json'));

childMain<ChildRequest, unknown>(async ({ action, module, exportName, schema }) => {
  const { MikroORM: ORM, PostgreSqlDriver } = fromProject('@mikro-orm/postgresql');
  const wanted = { accepts: isConfig, what: 'MikroORM config', usual: ['default'], option: 'mikroOrm({ export })' };
  const picked = pickExport(require(module), { ...wanted, name: exportName });
  const config: Options = await (typeof picked === 'function' ? picked() : picked);
  const { driver } = config;
  if (driver && driver !== PostgreSqlDriver && !(driver.prototype instanceof PostgreSqlDriver))
    throw new Error(`the config's driver is ${driver.name}; pgwork needs PostgreSqlDriver from @mikro-orm/postgresql`);
  const base = { ...config, debug: false, allowGlobalContext: true };
  if (action === 'inspect') {
    // Discovery requires every entity file (paths and globs too) and needs no connection.
    const orm: MikroORM = await ORM.init({ ...base, connect: false });
    await orm.close(true);
    return inspection(orm, process.env.MIKRO_ORM_SCHEMA ?? config.schema); // the variable wins, as in init
  }
  // Under schema isolation the schema option qualifies the tables (the Migrator's too), and search_path,
  // which MikroORM drops from the URL, places the unqualified SQL of migrations.
  const connection = { ...config.driverOptions?.connection, options: `-c search_path=${schema}` };
  const inSchema = schema ? { schema, driverOptions: { ...config.driverOptions, connection } } : {};
  // The target's URL alone says where to connect: a dbName or host of the config's would win over it.
  const unset = { dbName: undefined, host: undefined, port: undefined, user: undefined, password: undefined };
  const migrations = { ...config.migrations, snapshot: false }; // or up() writes .snapshot-<db>.json into the folder
  const extensions = [...(config.extensions ?? [])];
  if (action === 'migrations') extensions.push(fromProject('@mikro-orm/migrations').Migrator);
  const target = { ...unset, ...inSchema, clientUrl: process.env.DATABASE_URL, migrations, extensions };
  const orm: MikroORM = await ORM.init({ ...base, ...target });
  try {
    if (action === 'migrations') await orm.getMigrator().up();
    else await orm.getSchemaGenerator().createSchema();
  } catch (error) {
    const { message, migration, cause } = error as Error & { migration?: { name?: string }; cause?: Error };
    // umzug wraps a migration's error; MikroORM puts the SQL before Postgres' message ("alter table ... - ...").
    const postgres = (cause?.message ?? message).split(' - ').pop()!.split('\n')[0];
    throw new Error(`MikroORM ${migration?.name ? `migration ${migration.name}` : STEP[action]} failed: ${postgres}`);
  } finally {
    await orm.close(true);
  }
  return null;
});

/** What pgwork needs to know of the config, as init resolved it, and a digest of everything that shapes its tables. */
function inspection(orm: MikroORM, schema: string | undefined) {
  const { tableName, path, pathTs } = orm.config.get('migrations');
  const [tableSchema, table] = tableName!.includes('.') ? tableName!.split('.') : [undefined, tableName];
  const metadata = Object.values(orm.getMetadata().getAll());
  const entitySchema = metadata.find((meta) => meta.schema && meta.schema !== '*')?.schema;
  const migrationsDir = resolve(orm.config.get('baseDir'), pathTs ?? path!);
  const found = existsSync(migrationsDir) ? listFiles(migrationsDir, (file) => MIGRATION.test(file)) : [];
  const { version } = fromProject('@mikro-orm/core/package.json');
  // init laid MIKRO_ORM_* variables (the environment's, and the project's .env) over the config; these aim it elsewhere.
  const variables = Object.entries(process.env).filter(([name]) => name.startsWith('MIKRO_ORM_'));
  const wrong = variables
    .sort()
    .find(([name]) => /^MIKRO_ORM_(CLIENT_URL|HOST|PORT|USER|PASSWORD|DB_NAME)$/.test(name));
  if (wrong)
    throw new Error(
      `${wrong[0]} (set in the environment or .env) overrides the config's clientUrl; unset it for tests`,
    );
  const settings = [version, schema, tableName, orm.config.getNamingStrategy().constructor.name, variables];
  return {
    /** A schema the config, an entity or migrations.tableName names: MikroORM writes it into table names. */
    pinned: entitySchema ?? schema ?? tableSchema,
    migrationsTable: `${tableSchema ?? schema ?? 'public'}.${table}`,
    migrationsDir,
    migrations: found.length ? hashFiles(migrationsDir, found) : '',
    shape: hashParts([JSON.stringify(settings), hashFiles('.', loadedProjectFiles())]),
  };
}

export type Inspection = ReturnType<typeof inspection>;
