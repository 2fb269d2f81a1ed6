import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  PgworkError,
  adapterHelper,
  childAnswer,
  runProcess,
  typescriptLoaderArgs,
  hashParts,
  readRunState,
  resolveWorkerId,
  workerDatabase,
  type Adapter,
  type AdapterContext,
  type MigrationTarget,
} from '@pgwork/core';
import { loadDataSource, retarget, retargetOptions } from './load';

export interface TypeormOptions {
  /** Module exporting your DataSource, relative to Jest's rootDir (e.g. "src/data-source.ts"). */
  dataSource: string;
  /** Which export holds it. Default: `default`, `dataSource`, `AppDataSource`, or the only DataSource export. */
  export?: string;
  /** "synchronize" (dropSchema + synchronize) or "migrations" (runMigrations). Default: migrations when the DataSource declares any. */
  migrate?: 'synchronize' | 'migrations';
  /** "truncate" (default: core's reset) or "rebuild" (dropSchema + synchronize before each test; much slower). */
  reset?: 'truncate' | 'rebuild';
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION: string = require('../package.json').version;

/** For the Jest config: `withPgwork(config, { adapter: typeorm({ dataSource: 'src/data-source.ts' }) })`. */
export const typeorm = adapterHelper<TypeormOptions>(__filename);

interface Inspection {
  files: string[];
  typeormVersion: string;
  type: string;
  schema: string | null;
  entityPrefix: string | null;
  namingStrategy: string | null;
  hasMigrations: boolean;
  migrationsTableName: string;
  metadataTableName: string;
}

async function runChild<T>(
  action: 'inspect' | 'synchronize' | 'migrations',
  options: TypeormOptions,
  rootDir: string,
  url?: string,
): Promise<T> {
  const module = resolve(rootDir, options.dataSource);
  const args = [
    ...typescriptLoaderArgs(module, [rootDir], 'typeorm({ dataSource })'),
    require.resolve('./child'),
    JSON.stringify({ action, module, exportName: options.export, rootDir, url }),
  ];
  // The user's module may build its DataSource from DATABASE_URL at import.
  const env = { ...process.env, DATABASE_URL: url ?? process.env.DATABASE_URL ?? 'postgres://pgwork@localhost/pgwork' };
  const result = childAnswer<T & { error?: string; query?: string }>(
    await runProcess(process.execPath, args, { cwd: rootDir, env }),
  );
  if ('error' in result && result.error) {
    if (action === 'inspect') {
      throw new PgworkError(
        'ADAPTER_FAILED',
        `cannot load the DataSource from ${options.dataSource}: ${result.error}; fix typeorm({ dataSource }) or the module.`,
      );
    }
    const query = 'query' in result && result.query ? ` (while running: ${String(result.query).slice(0, 200)})` : '';
    throw new PgworkError(
      'MIGRATION_FAILED',
      `TypeORM ${action === 'migrations' ? 'runMigrations' : 'dropSchema + synchronize'} failed: ${result.error}${query}`,
    );
  }
  return result as T;
}

export function createAdapter(options: TypeormOptions, context: AdapterContext): Adapter {
  if (!options || typeof options.dataSource !== 'string') {
    throw new PgworkError(
      'INVALID_OPTION',
      'typeorm({ dataSource }) needs the path of the module that exports your DataSource, e.g. "src/data-source.ts".',
    );
  }
  if (options.migrate && !['synchronize', 'migrations'].includes(options.migrate)) {
    throw new PgworkError(
      'INVALID_OPTION',
      `typeorm({ migrate: ${JSON.stringify(options.migrate)} }) must be "synchronize" or "migrations".`,
    );
  }
  if (options.reset && !['truncate', 'rebuild'].includes(options.reset)) {
    throw new PgworkError(
      'INVALID_OPTION',
      `typeorm({ reset: ${JSON.stringify(options.reset)} }) must be "truncate" or "rebuild".`,
    );
  }
  let inspection: Promise<Inspection> | undefined;
  const inspect = () => (inspection ??= runChild<Inspection>('inspect', options, context.rootDir));
  // Known once inspected (fingerprint runs first); these defaults are TypeORM's.
  const bookkeepingTables = ['migrations', 'typeorm_metadata'];
  const adapter: Adapter = {
    name: 'typeorm',
    bookkeepingTables,
    async fingerprint() {
      const info = await inspect();
      if (info.type !== 'postgres')
        throw new PgworkError(
          'INVALID_OPTION',
          `the DataSource in ${options.dataSource} is type "${info.type}"; pgwork needs "postgres".`,
        );
      bookkeepingTables.splice(0, bookkeepingTables.length, info.migrationsTableName, info.metadataTableName);
      const files = [...info.files].sort();
      return hashParts([
        'typeorm',
        VERSION,
        info.typeormVersion,
        migrateStrategy(options, info),
        JSON.stringify([info.schema, info.entityPrefix, info.namingStrategy, info.migrationsTableName]),
        ...files.flatMap((file) => [file.slice(context.rootDir.length), readFileSync(file)]),
      ]);
    },
    async migrate(target) {
      await runChild(
        'migrations' === migrateStrategy(options, await inspect()) ? 'migrations' : 'synchronize',
        options,
        context.rootDir,
        target.url,
      );
    },
  };
  if (options.reset === 'rebuild') adapter.reset = (target) => rebuildSchema(options, context, target);
  return adapter;
}

function migrateStrategy(options: TypeormOptions, info: Inspection): 'synchronize' | 'migrations' {
  return options.migrate ?? (info.hasMigrations ? 'migrations' : 'synchronize');
}

/** The opt-in reset: TypeORM rebuilds the schema from the entities (runs inside the Jest worker). */
async function rebuildSchema(options: TypeormOptions, context: AdapterContext, target: MigrationTarget): Promise<void> {
  const dataSource = retarget(loadDataSource(resolve(context.rootDir, options.dataSource), options.export), target.url);
  await dataSource.initialize();
  try {
    await dataSource.synchronize(true);
  } finally {
    await dataSource.destroy();
  }
}

/**
 * Your DataSource options aimed at this Jest worker's database when running
 * under pgwork, unchanged otherwise: `new DataSource(workerDataSourceOptions({...}))`.
 * Only needed when the options name host/port/database instead of reading DATABASE_URL.
 */
export function workerDataSourceOptions<T extends Record<string, unknown>>(
  options: T,
  env: NodeJS.ProcessEnv = process.env,
): T {
  if (!env.PGWORK_RUN) return options;
  return retargetOptions(options, workerDatabase(readRunState(env), resolveWorkerId(env)).url);
}
