import { resolve } from 'node:path';
import type { ChildRequest } from './child';
import {
  PgworkError,
  adapterChoice,
  adapterHelper,
  childFile,
  describeDatabaseError,
  globFiles,
  hashDirectory,
  hashFiles,
  hashParts,
  installedPackage,
  requireDirectory,
  requireFile,
  rewritingClient,
  runChild,
  type Adapter,
  type AdapterContext,
  type MigrationTarget,
} from '@pgwork/core/adapter';

export interface DrizzleOptions {
  /** "push" (default): the tables `drizzle-kit push` creates in an empty database. "migrations": apply the committed `drizzle-kit generate` output with drizzle-orm's migrator. */
  mode?: 'push' | 'migrations';
  /** Your drizzle config, relative to the project root. Default "drizzle.config.ts". */
  config?: string;
  /** Migrations folder for mode "migrations". Default: the config's `out`, else "drizzle". */
  migrations?: string;
}

/** The parts of drizzle.config that shape the pushed schema or name the migrations. */
interface DrizzleConfig {
  dialect?: string;
  schema?: string | string[];
  out?: string;
  schemaFilter?: string | string[];
  casing?: string;
  migrations?: { table?: string; schema?: string };
}

const VERSION: string = require('../package.json').version;

/** For the runner config: `withPgwork(config, { adapter: drizzle() })`. */
export const drizzle = adapterHelper<DrizzleOptions | undefined>(__filename, 'drizzle', [
  'mode',
  'config',
  'migrations',
]);

/** Runs the child with the project's TypeScript loader, tsx first as drizzle-kit loads files with it. */
function inChild<T>(request: ChildRequest, module: string, rootDir: string, failure: (error: Error) => Error) {
  const kit = installedPackage('drizzle-kit', rootDir);
  const searchFrom = [...(kit ? [kit.dir] : []), rootDir];
  const loads = { module, option: 'drizzle({ config })', searchFrom, preferred: ['tsx/cjs'] };
  return runChild<T>(childFile(__dirname, 'child'), request, { cwd: rootDir, loads, failure });
}

async function readConfig(config: string, rootDir: string): Promise<DrizzleConfig> {
  requireFile(config, 'drizzle({ config })');
  const failure = (error: Error) =>
    new PgworkError('INVALID_OPTION', `cannot load the drizzle config ${config}: ${error.message}`);
  const loaded = await inChild<DrizzleConfig>({ action: 'config', config }, config, rootDir, failure);
  if (loaded.dialect === 'postgresql') return loaded;
  const dialect = JSON.stringify(loaded.dialect);
  throw new PgworkError('INVALID_OPTION', `${config} has dialect ${dialect}; pgwork needs "postgresql".`);
}

export function createAdapter(options: DrizzleOptions = {}, context: AdapterContext): Adapter {
  const { rootDir } = context;
  const mode = adapterChoice('drizzle', 'mode', options.mode, ['push', 'migrations']);
  const configPath = resolve(rootDir, options.config ?? 'drizzle.config.ts');
  let config: Promise<DrizzleConfig> | undefined;
  let statements: Promise<string[]> | undefined;
  const loadConfig = () => (config ??= readConfig(configPath, rootDir));
  const migrationsFolder = (c: DrizzleConfig) => resolve(rootDir, options.migrations ?? c.out ?? 'drizzle');
  const schemaFiles = (c: DrizzleConfig) => {
    const files = globFiles(rootDir, [c.schema ?? []].flat());
    if (files.length) return files;
    const message = `the schema ${JSON.stringify(c.schema)} in ${configPath} matches no file; fix schema in the drizzle config.`;
    throw new PgworkError('INVALID_OPTION', message);
  };
  return {
    name: 'drizzle',
    async describe() {
      const c = await loadConfig();
      const kit = ['drizzle-orm', 'drizzle-kit'].map((name) => installedPackage(name, rootDir)?.version ?? '-');
      const folder = mode === 'migrations' && requireDirectory(migrationsFolder(c), 'drizzle({ migrations })');
      const shape = [
        mode,
        JSON.stringify([c.schemaFilter, c.casing, c.migrations]),
        folder ? hashDirectory(folder) : '',
      ];
      const fingerprint = hashParts(['drizzle', VERSION, ...kit, ...shape, hashFiles(rootDir, schemaFiles(c))]);
      const migrationsTable = `${c.migrations?.schema ?? 'drizzle'}.${c.migrations?.table ?? '__drizzle_migrations'}`;
      return {
        fingerprint,
        bookkeepingTables: mode === 'migrations' ? [migrationsTable] : [],
        isolation: ['database', 'schema', 'server'],
        reset: ['empty', 'transaction'],
      };
    },
    async migrate(target) {
      const c = await loadConfig();
      if (mode === 'migrations') return applyMigrations(target, rootDir, migrationsFolder(c), c);
      for (const statement of await (statements ??= pushStatements(rootDir, c, schemaFiles(c), !!target.schema))) {
        await target.client.query(target.schema ? inSchema(statement, target.schema) : statement);
      }
    },
  };
}

/**
 * What `drizzle-kit push` runs against an empty database: drizzle-kit's own diff
 * of the schema files against nothing (with push's default schemaFilter, "public"),
 * computed once per run in one child process instead of a CLI run per template.
 */
function pushStatements(rootDir: string, c: DrizzleConfig, files: string[], movable: boolean): Promise<string[]> {
  if (!installedPackage('drizzle-kit', rootDir)) {
    const fix = 'install it (pnpm add -D drizzle-kit) or use drizzle({ mode: "migrations" })';
    throw new PgworkError('INVALID_OPTION', `drizzle({ mode: "push" }) needs drizzle-kit in ${rootDir}; ${fix}.`);
  }
  const schemaFilter = c.schemaFilter === undefined ? ['public'] : [c.schemaFilter].flat();
  const request: ChildRequest = { action: 'statements', rootDir, files, casing: c.casing, schemaFilter, movable };
  const failure = (error: Error) =>
    new PgworkError('MIGRATION_FAILED', `drizzle-kit could not generate the schema: ${error.message}`);
  return inChild<string[]>(request, files[0]!, rootDir, failure);
}

/** drizzle-orm's own migrator over the committed `drizzle-kit generate` output. */
async function applyMigrations(target: MigrationTarget, rootDir: string, folder: string, c: DrizzleConfig) {
  requireDirectory(folder, 'drizzle({ migrations })');
  const load = (path: string) => require(require.resolve(path, { paths: [rootDir] }));
  const { drizzle: connect } = load('drizzle-orm/node-postgres');
  const { migrate } = load('drizzle-orm/node-postgres/migrator');
  // Schema isolation: the migrations' "public" and drizzle's bookkeeping schema both become the worker's.
  const schema = target.schema;
  const client = schema ? rewritingClient(target.client, (sql) => inSchema(sql, schema)) : target.client;
  const migrationsSchema = schema ?? c.migrations?.schema;
  const migrations = { migrationsFolder: folder, migrationsTable: c.migrations?.table, migrationsSchema };
  await migrate(connect({ client }), migrations).catch((error: unknown) => {
    const message = `drizzle-orm's migrator failed on ${folder}: ${describeDatabaseError(error)}`;
    throw new PgworkError('MIGRATION_FAILED', message, { cause: error });
  });
}

/** The "public" schema named in drizzle-kit's DDL, moved to the worker's schema (unquoted it never appears). */
const inSchema = (sql: string, schema: string) => sql.replaceAll('"public".', `"${schema}".`);
