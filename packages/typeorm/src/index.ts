import { relative, resolve } from 'node:path';
import {
  type ChildError,
  PgworkError,
  adapterChoice,
  adapterHelper,
  childFile,
  currentWorkerUrl,
  hashFiles,
  hashParts,
  runChild,
  type Adapter,
  type AdapterContext,
  type MigrationTarget,
} from '@pgwork/core/adapter';
import type { ChildRequest, Inspection } from './child';
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

const VERSION: string = require('../package.json').version;

/** For the runner config: `withPgwork(config, { adapter: typeorm({ dataSource: 'src/data-source.ts' }) })`. */
export const typeorm = adapterHelper<TypeormOptions>(__filename);

/** Runs the DataSource module in a child process; `url` is the target (and DATABASE_URL there). */
async function inChild<T>(action: ChildRequest['action'], options: TypeormOptions, rootDir: string, url?: string) {
  const module = resolve(rootDir, options.dataSource);
  const request: ChildRequest = { action, module, exportName: options.export, rootDir, url };
  const loads = { module, option: 'typeorm({ dataSource })' };
  const failure = (error: ChildError) => {
    if (action === 'inspect') {
      const fix = 'fix typeorm({ dataSource }) or the module';
      return new PgworkError(
        'ADAPTER_FAILED',
        `cannot load the DataSource from ${options.dataSource}: ${error.message}; ${fix}.`,
      );
    }
    const query = error.details.query ? ` (while running: ${String(error.details.query).slice(0, 200)})` : '';
    const step = action === 'migrations' ? 'runMigrations' : 'dropSchema + synchronize';
    return new PgworkError('MIGRATION_FAILED', `TypeORM ${step} failed: ${error.message}${query}`);
  };
  const env = url ? { DATABASE_URL: url } : {};
  return runChild<T>(childFile(__dirname, 'child'), request, { cwd: rootDir, loads, env, failure });
}

export function createAdapter(options: TypeormOptions, context: AdapterContext): Adapter {
  if (!options || typeof options.dataSource !== 'string') {
    const example = 'e.g. "src/data-source.ts"';
    throw new PgworkError(
      'INVALID_OPTION',
      `typeorm({ dataSource }) needs the path of the module that exports your DataSource, ${example}.`,
    );
  }
  if (options.migrate) adapterChoice('typeorm', 'migrate', options.migrate, ['synchronize', 'migrations']);
  adapterChoice('typeorm', 'reset', options.reset, ['truncate', 'rebuild']);
  let inspection: Promise<Inspection> | undefined;
  const inspect = () => (inspection ??= inChild<Inspection>('inspect', options, context.rootDir));
  const strategy = (info: Inspection) => options.migrate ?? (info.hasMigrations ? 'migrations' : 'synchronize');
  const adapter: Adapter = {
    name: 'typeorm',
    async describe() {
      const info = await inspect();
      if (info.type !== 'postgres') {
        const message = `the DataSource in ${options.dataSource} is type "${info.type}"; pgwork needs "postgres".`;
        throw new PgworkError('INVALID_OPTION', message);
      }
      const schema = (info.schema as string | null) ?? 'public';
      return {
        fingerprint: hashParts([
          'typeorm',
          VERSION,
          info.typeormVersion,
          strategy(info),
          JSON.stringify([info.schema, info.entityPrefix, info.namingStrategy, info.migrationsTableName]),
          hashFiles(
            context.rootDir,
            info.files.map((file) => relative(context.rootDir, file)),
          ),
        ]),
        bookkeepingTables: [`${schema}.${info.migrationsTableName}`, `${schema}.${info.metadataTableName}`],
        // A DataSource with a schema of its own qualifies every table with it: no worker schema can hold them.
        isolation: info.schema ? ['database', 'server'] : ['database', 'schema', 'server'],
        reset: options.reset === 'rebuild' ? ['empty'] : ['empty', 'transaction'],
        limits: {
          schema: `the DataSource sets schema "${info.schema}", which TypeORM writes into every table name`,
          transaction:
            'typeorm({ reset: "rebuild" }) recreates the schema before each test, which a rolled-back transaction cannot undo',
        },
      };
    },
    async migrate(target) {
      await inChild(strategy(await inspect()), options, context.rootDir, target.url);
    },
  };
  if (options.reset === 'rebuild') adapter.reset = (target) => rebuildSchema(options, context, target);
  return adapter;
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
  const url = currentWorkerUrl(env);
  return url ? retargetOptions(options, url) : options;
}
