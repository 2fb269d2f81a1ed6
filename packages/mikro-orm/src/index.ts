import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  PgworkError,
  adapterChoice,
  adapterHelper,
  childFile,
  hashParts,
  installedPackage,
  requireDirectory,
  requireFile,
  runChild,
  type Adapter,
  type AdapterContext,
} from '@pgwork/core/adapter';
import type { ChildRequest, Inspection } from './child';

export interface MikroOrmOptions {
  /** Module exporting your MikroORM options, relative to the project root. Default: where MikroORM's CLI looks. */
  config?: string;
  /** Which export holds them. Default: `default`, or the only options object (a promise or function of one works too). */
  export?: string;
  /** "migrations" (the Migrator's `up()`) or "schema" (the SchemaGenerator's `createSchema()`). Default: migrations when the migrations folder has files. */
  migrate?: 'migrations' | 'schema';
}

const VERSION: string = require('../package.json').version;
const OPTION = 'mikroOrm({ config })';
/** Where MikroORM's CLI looks for its config, in its order (it takes dist/ or build/, whichever exists). */
const CONFIG_PATHS = ['src/mikro-orm.config.ts', 'mikro-orm.config.ts', 'dist/mikro-orm.config.js'];
CONFIG_PATHS.push('build/mikro-orm.config.js', 'mikro-orm.config.js');

/** For the runner config: `withPgwork(config, { adapter: mikroOrm() })`. */
export const mikroOrm = adapterHelper<MikroOrmOptions>(__filename, 'mikroOrm', ['config', 'export', 'migrate']);

export function createAdapter(options: MikroOrmOptions = {}, { rootDir }: AdapterContext): Adapter {
  if (options.migrate !== undefined) adapterChoice('mikroOrm', 'migrate', options.migrate, ['migrations', 'schema']);
  const found = CONFIG_PATHS.map((path) => resolve(rootDir, path)).find((path) => existsSync(path));
  if (!options.config && !found) {
    const fix = 'create one or name it with mikroOrm({ config: "..." })';
    throw new PgworkError('INVALID_OPTION', `no MikroORM config in ${rootDir} (${CONFIG_PATHS.join(', ')}); ${fix}.`);
  }
  const module = options.config ? requireFile(resolve(rootDir, options.config), OPTION) : found!;
  const loads = { module, option: OPTION };
  const run = <T>(action: ChildRequest['action'], url?: string, schema?: string) => {
    const request: ChildRequest = { action, module, exportName: options.export, schema };
    // A migration's failure is worded by the child; one while loading the config is the option's.
    const failure = (error: Error) =>
      action === 'inspect'
        ? new PgworkError('INVALID_OPTION', `cannot load the MikroORM config ${module}: ${error.message}.`)
        : new PgworkError('MIGRATION_FAILED', error.message);
    const env = url ? { DATABASE_URL: url } : {};
    return runChild<T>(childFile(__dirname, 'child'), request, { cwd: rootDir, loads, env, failure });
  };
  let inspection: Promise<Inspection> | undefined;
  const inspect = () => (inspection ??= run<Inspection>('inspect'));
  const strategy = (info: Inspection) => options.migrate ?? (info.migrations ? 'migrations' : 'schema');
  return {
    name: 'mikro-orm',
    async describe() {
      const info = await inspect();
      const migrating = strategy(info) === 'migrations';
      if (migrating) requireDirectory(info.migrationsDir, 'MikroORM migrations.path');
      if (migrating && !installedPackage('@mikro-orm/migrations', rootDir)) {
        const fix = 'install it, or use mikroOrm({ migrate: "schema" })';
        throw new PgworkError('INVALID_OPTION', `migrations need @mikro-orm/migrations in ${rootDir}; ${fix}.`);
      }
      return {
        fingerprint: hashParts(['mikro-orm', VERSION, strategy(info), info.shape, migrating ? info.migrations : '']),
        bookkeepingTables: migrating ? [info.migrationsTable] : [],
        isolation: info.pinned ? ['database', 'server'] : ['database', 'schema', 'server'],
        reset: ['empty', 'transaction'],
        limits: {
          schema: `the config or an entity sets schema "${info.pinned}", which MikroORM writes into table names`,
        },
      };
    },
    async migrate(target) {
      // MikroORM parses the URL itself and keeps no socket `host` parameter: the TCP URL the app uses.
      await run<null>(strategy(await inspect()), target.appUrl ?? target.url, target.schema);
    },
  };
}
