import { resolve } from 'node:path';
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

export interface NodePgMigrateOptions {
  /** Your migrations folder (SQL, JS or TS files), relative to the project root, as the CLI's -m. Default "migrations". */
  migrations?: string;
  /** The table node-pg-migrate records applied migrations in. Default "pgmigrations". */
  migrationsTable?: string;
  /** The schema of that table. Default: the schema the migrations run in ("public", or the worker's). */
  migrationsSchema?: string;
}

const VERSION: string = require('../package.json').version;
const OPTION = 'nodePgMigrate({ migrations })';

/** For the runner config: `withPgwork(config, { adapter: nodePgMigrate({ migrations: 'migrations' }) })`. */
export const nodePgMigrate = adapterHelper<NodePgMigrateOptions>(__filename, 'nodePgMigrate', [
  'migrations',
  'migrationsTable',
  'migrationsSchema',
]);

/** A folder, table or schema name: a non-empty string when given. */
function nameOption(options: NodePgMigrateOptions, key: keyof NodePgMigrateOptions): string | undefined {
  const value = options[key];
  if (value === undefined || (typeof value === 'string' && value.trim() !== '')) return value;
  const example = key === 'migrations' ? '"db/migrations"' : '"pgmigrations"';
  const message = `nodePgMigrate({ ${key}: ${JSON.stringify(value)} }) needs a name, e.g. ${example}.`;
  throw new PgworkError('INVALID_OPTION', message);
}

export function createAdapter(options: NodePgMigrateOptions = {}, { rootDir }: AdapterContext): Adapter {
  const dir = resolve(rootDir, nameOption(options, 'migrations') ?? 'migrations');
  const migrationsTable = nameOption(options, 'migrationsTable') ?? 'pgmigrations';
  const migrationsSchema = nameOption(options, 'migrationsSchema');
  const tool = () => {
    const found = installedPackage('node-pg-migrate', rootDir);
    if (found) return found;
    const fix = 'install it (pnpm add -D node-pg-migrate)';
    throw new PgworkError('INVALID_OPTION', `nodePgMigrate() needs node-pg-migrate in ${rootDir}; ${fix}.`);
  };
  return {
    name: 'node-pg-migrate',
    describe() {
      requireDirectory(dir, OPTION);
      const settings = JSON.stringify([migrationsTable, migrationsSchema]);
      const pinned = `migrationsSchema "${migrationsSchema}" keeps the migrations table out of a worker's schema`;
      return {
        fingerprint: hashParts(['node-pg-migrate', VERSION, tool().version, settings, hashDirectory(dir)]),
        bookkeepingTables: [`${migrationsSchema ?? 'public'}.${migrationsTable}`],
        isolation: migrationsSchema ? ['database', 'server'] : ['database', 'schema', 'server'],
        reset: ['empty', 'transaction'],
        limits: migrationsSchema ? { schema: `${pinned}; use isolation "database", or leave it out` } : {},
      };
    },
    async migrate(target) {
      requireDirectory(dir, OPTION);
      const { dir: toolDir, version } = tool();
      const major = Number(version.split('.')[0]);
      // Under schema isolation everything, pgmigrations included, goes to the worker's schema.
      const where = target.schema ? { schema: target.schema } : { migrationsSchema };
      const request: ChildRequest = { toolDir, major, dir, migrationsTable, ...where };
      // node-pg-migrate 7 require()s .ts migrations: preload the project's loader. 8+ loads them with jiti.
      const typescript = major < 8 ? listFiles(dir, (file) => /^[^/]+\.[cm]?ts$/.test(file)) : [];
      const loads = typescript[0] ? { module: resolve(dir, typescript[0]), option: OPTION } : undefined;
      const failure = (error: Error) =>
        new PgworkError('MIGRATION_FAILED', `node-pg-migrate failed in ${dir}: ${error.message}`);
      // The URL holds a password: it goes in the child's environment, never on its command line.
      const options = { cwd: rootDir, loads, env: { DATABASE_URL: target.url }, failure };
      await runChild<null>(childFile(__dirname, 'child'), request, options);
    },
  };
}
