import { join, resolve } from 'node:path';
import {
  PgworkError,
  adapterHelper,
  childFile,
  hashDirectory,
  hashParts,
  installedPackage,
  listFiles,
  requireDirectory,
  runChild,
  type Adapter,
  type AdapterContext,
} from '@pgwork/core/adapter';
import type { ChildRequest } from './child';

export interface KyselyOptions {
  /** Folder of migration files (Kysely's FileMigrationProvider layout), relative to the project root. Default "migrations". */
  migrations?: string;
  /** As Migrator's option. Default "kysely_migration". */
  migrationTableName?: string;
  /** As Migrator's option. Default "kysely_migration_lock". */
  migrationLockTableName?: string;
  /** As Migrator's option: the schema of both tables. Default: none (public, or the worker's schema). */
  migrationTableSchema?: string;
}

type TableOption = Exclude<keyof KyselyOptions, 'migrations'>;

const VERSION: string = require('../package.json').version;
/** Migrator's options of these names, with the names its tables get when unset (no schema: the search_path's first). */
const TABLE_DEFAULTS: Record<TableOption, string> = {
  migrationTableName: 'kysely_migration',
  migrationLockTableName: 'kysely_migration_lock',
  migrationTableSchema: 'public',
};
const TABLE_OPTIONS = Object.keys(TABLE_DEFAULTS) as TableOption[];

/** For the runner config: `withPgwork(config, { adapter: kysely({ migrations: 'migrations' }) })`. */
export const kysely = adapterHelper<KyselyOptions>(__filename, 'kysely', ['migrations', ...TABLE_OPTIONS]);

/** The files FileMigrationProvider loads: scripts directly in the folder, declaration files left out. */
const MIGRATION_FILE = /^(?!.*\.d\.[cm]?ts$)[^/]+\.[cm]?[jt]s$/;

export function migrationFiles(dir: string): string[] {
  return listFiles(dir, (path) => MIGRATION_FILE.test(path));
}

/** A table option as Migrator gets it: one identifier (Kysely quotes it; the schema is an option of its own). */
function tableOption(options: KyselyOptions, key: TableOption): string | undefined {
  const value = options[key];
  if (value === undefined || (typeof value === 'string' && /^[^.\s]+$/.test(value))) return value;
  const use = `use a name without dots or spaces, such as "${TABLE_DEFAULTS[key]}"`;
  throw new PgworkError('INVALID_OPTION', `kysely({ ${key}: ${JSON.stringify(value)} }) is not understood; ${use}.`);
}

export function createAdapter(options: KyselyOptions = {}, { rootDir }: AdapterContext): Adapter {
  if (options.migrations !== undefined && typeof options.migrations !== 'string') {
    throw new PgworkError('INVALID_OPTION', `kysely({ migrations }) takes a folder path, such as "migrations".`);
  }
  const dir = resolve(rootDir, options.migrations ?? 'migrations');
  const folder = () => requireDirectory(dir, 'kysely({ migrations })');
  const set = TABLE_OPTIONS.map((key) => [key, tableOption(options, key)]).filter(([, value]) => value !== undefined);
  const tables: Partial<Record<TableOption, string>> = Object.fromEntries(set);
  const { migrationTableName, migrationLockTableName, migrationTableSchema } = { ...TABLE_DEFAULTS, ...tables };
  return {
    name: 'kysely',
    describe() {
      const [kyselyVersion] = ['kysely', 'pg'].map((name) => {
        const found = installedPackage(name, rootDir);
        if (found) return found.version;
        throw new PgworkError('INVALID_OPTION', `the kysely adapter needs ${name} in ${rootDir}; install it.`);
      });
      return {
        // Every file of the folder: helpers a migration imports from beside it count too.
        fingerprint: hashParts(['kysely', VERSION, kyselyVersion!, JSON.stringify(tables), hashDirectory(folder())]),
        bookkeepingTables: [migrationTableName, migrationLockTableName].map(
          (name) => `${migrationTableSchema}.${name}`,
        ),
        isolation: ['database', 'schema', 'server'],
        reset: ['empty', 'transaction'],
      };
    },
    async migrate(target) {
      const files = migrationFiles(folder());
      const typescript = files.find((file) => /\.[cm]?ts$/.test(file));
      const loads = typescript ? { module: join(dir, typescript), option: 'kysely({ migrations })' } : undefined;
      // Schema isolation: the bookkeeping goes in the worker's schema, pinned or not. Unpinned, Migrator would
      // take another worker's kysely_migration (it looks for the table in every schema) for its own.
      const schema = target.schema ? { migrationTableSchema: target.schema } : {};
      const request: ChildRequest = { rootDir, dir, url: target.url, ...tables, ...schema };
      const failure = (error: Error) => new PgworkError('MIGRATION_FAILED', error.message);
      const env = { DATABASE_URL: target.url };
      await runChild<null>(childFile(__dirname, 'child'), request, { cwd: rootDir, loads, env, failure });
    },
  };
}
