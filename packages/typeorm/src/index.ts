import { resolve } from 'node:path';
import {
  PgworkError,
  adapterChoice,
  adapterHelper,
  childFile,
  currentWorkerUrl,
  hashParts,
  runChild,
  type Adapter,
  type AdapterContext,
} from '@pgwork/core/adapter';
import type { ChildRequest, Inspection } from './child';
import { retargetOptions } from './retarget';

export interface TypeormOptions {
  /** Module exporting your DataSource, relative to the project root (e.g. "src/data-source.ts"). */
  dataSource: string;
  /** Which export holds it. Default: `default`, `dataSource`, `AppDataSource`, or the only DataSource export. */
  export?: string;
  /** "synchronize" (dropSchema + synchronize) or "migrations" (runMigrations). Default: migrations when the DataSource declares any. */
  migrate?: 'synchronize' | 'migrations';
}

const VERSION: string = require('../package.json').version;

/** For the runner config: `withPgwork(config, { adapter: typeorm({ dataSource: 'src/data-source.ts' }) })`. */
export const typeorm = adapterHelper<TypeormOptions>(__filename, 'typeorm', ['dataSource', 'export', 'migrate'], {
  reset: `use withPgwork's reset: "transaction", which rolls back a test's schema changes too`,
});

/** Runs the DataSource module in a child process (DATABASE_URL there is the target's when migrating). */
function inChild<T>(request: ChildRequest, dataSource: string, url?: string): Promise<T> {
  const loads = { module: request.module, option: 'typeorm({ dataSource })' };
  // A migration's failure is worded by the child; one while loading the module is the option's.
  const failure = (error: Error) =>
    request.action !== 'inspect'
      ? error
      : new PgworkError(
          'ADAPTER_FAILED',
          `cannot load the DataSource from ${dataSource}: ${error.message}; fix typeorm({ dataSource }) or the module.`,
        );
  // The target in the environment, not on the child's command line, where its password would show.
  const env = url ? { DATABASE_URL: url } : {};
  return runChild<T>(childFile(__dirname, 'child'), request, { cwd: request.rootDir, loads, env, failure });
}

export function createAdapter(options: TypeormOptions, context: AdapterContext): Adapter {
  if (typeof options?.dataSource !== 'string') {
    const what = 'the path of the module that exports your DataSource, e.g. "src/data-source.ts"';
    throw new PgworkError('INVALID_OPTION', `typeorm({ dataSource }) needs ${what}.`);
  }
  if (options.migrate) adapterChoice('typeorm', 'migrate', options.migrate, ['synchronize', 'migrations']);
  const { rootDir } = context;
  const module = resolve(rootDir, options.dataSource);
  const run = <T>(action: ChildRequest['action'], url?: string) =>
    inChild<T>({ action, module, exportName: options.export, rootDir }, options.dataSource, url);
  let inspection: Promise<Inspection> | undefined;
  const inspect = () => (inspection ??= run<Inspection>('inspect'));
  const strategy = (info: Inspection) => options.migrate ?? (info.hasMigrations ? 'migrations' : 'synchronize');
  return {
    name: 'typeorm',
    async describe() {
      const info = await inspect();
      const schema = info.schema ?? 'public';
      return {
        fingerprint: hashParts(['typeorm', VERSION, strategy(info), options.export ?? '', info.shape]),
        bookkeepingTables: [`${schema}.${info.migrationsTableName}`, `${schema}.${info.metadataTableName}`],
        // A DataSource with a schema of its own qualifies every table with it: no worker schema can hold them.
        isolation: info.schema ? ['database', 'server'] : ['database', 'schema', 'server'],
        reset: ['empty', 'transaction'],
        limits: { schema: `the DataSource sets schema "${info.schema}", which TypeORM writes into every table name` },
      };
    },
    async migrate(target) {
      await run<null>(strategy(await inspect()), target.url);
    },
  };
}

/**
 * Your DataSource options aimed at this worker's database when running under
 * pgwork, unchanged otherwise: `new DataSource(workerDataSourceOptions({...}))`.
 * Only needed when the options name host/port/database instead of reading DATABASE_URL.
 */
export function workerDataSourceOptions<T extends Record<string, unknown>>(options: T, env = process.env): T {
  const url = currentWorkerUrl(env);
  return url ? retargetOptions(options, url) : options;
}
