import { resolve } from 'node:path';
import type { Config as DrizzleConfig } from 'drizzle-kit';
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

const VERSION: string = require('../package.json').version;

/** For the runner config: `withPgwork(config, { adapter: drizzle() })`. */
export const drizzle = adapterHelper<DrizzleOptions>(__filename, 'drizzle', ['mode', 'config', 'migrations']);

/** Runs the child with the project's TypeScript loader, tsx first as drizzle-kit loads files with it. */
function inChild<T>(request: ChildRequest, module: string, rootDir: string, failure: (error: Error) => Error) {
  const kit = installedPackage('drizzle-kit', rootDir);
  const searchFrom = [...(kit ? [kit.dir] : []), rootDir];
  const loads = { module, option: 'drizzle({ config })', searchFrom, preferred: ['tsx/cjs'] };
  return runChild<T>(childFile(__dirname, 'child'), request, { cwd: rootDir, loads, failure });
}

/** The project as drizzle-kit sees it: the config, the schema files it names, the migrations folder. */
type Project = Awaited<ReturnType<typeof readProject>>;

async function readProject(options: DrizzleOptions, rootDir: string) {
  const path = requireFile(resolve(rootDir, options.config ?? 'drizzle.config.ts'), 'drizzle({ config })');
  const failure = (error: Error) =>
    new PgworkError('INVALID_OPTION', `cannot load the drizzle config ${path}: ${error.message}`);
  const config = await inChild<DrizzleConfig>({ action: 'config', config: path }, path, rootDir, failure);
  if (config.dialect !== 'postgresql') {
    const dialect = JSON.stringify(config.dialect);
    throw new PgworkError('INVALID_OPTION', `${path} has dialect ${dialect}; pgwork needs "postgresql".`);
  }
  const files = globFiles(rootDir, [config.schema ?? []].flat());
  if (files.length === 0) {
    const schema = JSON.stringify(config.schema);
    throw new PgworkError('INVALID_OPTION', `the schema ${schema} in ${path} matches no file; fix it in the config.`);
  }
  return { config, files, migrations: resolve(rootDir, options.migrations ?? config.out ?? 'drizzle') };
}

export function createAdapter(options: DrizzleOptions = {}, { rootDir }: AdapterContext): Adapter {
  const mode = adapterChoice('drizzle', 'mode', options.mode, ['push', 'migrations']);
  let project: Promise<Project> | undefined;
  let statements: Promise<string[]> | undefined;
  const load = () => (project ??= readProject(options, rootDir));
  return {
    name: 'drizzle',
    async describe() {
      const { config: c, files, migrations } = await load();
      const kit = ['drizzle-orm', 'drizzle-kit'].map((name) => installedPackage(name, rootDir)?.version ?? '-');
      const folder =
        mode === 'migrations' ? hashDirectory(requireDirectory(migrations, 'drizzle({ migrations })')) : '';
      const shape = JSON.stringify([c.schemaFilter, c.casing, c.migrations]);
      const migrationsTable = `${c.migrations?.schema ?? 'drizzle'}.${c.migrations?.table ?? '__drizzle_migrations'}`;
      return {
        fingerprint: hashParts(['drizzle', VERSION, ...kit, mode, shape, folder, hashFiles(rootDir, files)]),
        bookkeepingTables: mode === 'migrations' ? [migrationsTable] : [],
        isolation: ['database', 'schema', 'server'],
        reset: ['empty', 'transaction'],
      };
    },
    async migrate(target) {
      if (mode === 'migrations') return applyMigrations(target, rootDir, await load());
      for (const statement of await (statements ??= pushStatements(rootDir, await load(), !!target.schema))) {
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
function pushStatements(rootDir: string, { config, files }: Project, movable: boolean): Promise<string[]> {
  if (!installedPackage('drizzle-kit', rootDir)) {
    const fix = 'install it (pnpm add -D drizzle-kit) or use drizzle({ mode: "migrations" })';
    throw new PgworkError('INVALID_OPTION', `drizzle({ mode: "push" }) needs drizzle-kit in ${rootDir}; ${fix}.`);
  }
  // Only what shapes the statements: the config may hold credentials, which never go on a command line.
  const { schemaFilter, casing } = config;
  const request: ChildRequest = { action: 'statements', rootDir, files, schemaFilter, casing, movable };
  const failure = (error: Error) =>
    new PgworkError('MIGRATION_FAILED', `drizzle-kit could not generate the schema: ${error.message}`);
  return inChild<string[]>(request, files[0]!, rootDir, failure);
}

/** drizzle-orm's own migrator over the committed `drizzle-kit generate` output. */
async function applyMigrations(target: MigrationTarget, rootDir: string, { config: c, migrations: folder }: Project) {
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
