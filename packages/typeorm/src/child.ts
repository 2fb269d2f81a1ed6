// Runs in a child process started by the adapter: loads the user's DataSource
// module (TypeScript through the project's own loader), so entity classes,
// decorators and TypeORM's metadata never leak into the test runner's processes.
import {
  childMain,
  hashFiles,
  hashParts,
  installedPackage,
  loadedProjectFiles,
  pickExport,
} from '@pgwork/core/adapter';
import type { DataSource, DataSourceOptions } from 'typeorm';
import { retargetOptions } from './retarget';

export interface ChildRequest {
  action: 'inspect' | 'synchronize' | 'migrations';
  module: string;
  exportName?: string;
  rootDir: string;
}

// Types only: at run time the project's own TypeORM (0.3.17+ or 1.x) is the one loaded.
type Options = Extract<DataSourceOptions, { type: 'postgres' }>;

childMain<ChildRequest, unknown>(async ({ action, module, exportName, rootDir }) => {
  const dataSource = pickExport(require(module), {
    accepts: (value): value is DataSource => typeof (value as DataSource | undefined)?.initialize === 'function',
    what: 'DataSource',
    usual: ['default', 'dataSource', 'AppDataSource'],
    name: exportName,
    option: 'typeorm({ export: "..." })',
  });
  if (action === 'inspect') return inspect(dataSource, rootDir);
  const Constructor = dataSource.constructor as typeof DataSource;
  // The adapter sets DATABASE_URL to the target.
  const target = new Constructor({ ...retargetOptions(dataSource.options, process.env.DATABASE_URL!), logging: false });
  await target.initialize();
  try {
    if (action === 'migrations') await target.runMigrations({ transaction: 'each' });
    else await target.synchronize(true); // dropBeforeSync: TypeORM's dropSchema + synchronize
  } catch (error) {
    const { message, query } = error as Error & { query?: string };
    const running = query ? ` (while running: ${query.slice(0, 200)})` : '';
    const step = action === 'migrations' ? 'runMigrations' : 'synchronize';
    throw new Error(`TypeORM ${step} failed: ${message.split('\n')[0]}${running}`);
  } finally {
    await target.destroy();
  }
  return null;
});

/** What pgwork needs to know of the DataSource, and a digest of everything that shapes its tables. */
async function inspect(dataSource: DataSource, rootDir: string) {
  const options = dataSource.options as Options;
  const typeorm = installedPackage('typeorm', rootDir)!;
  if (options.type !== 'postgres') throw new Error(`the DataSource is type "${options.type}"; pgwork needs "postgres"`);
  // Building the metadata requires every entity, migration and subscriber file; it needs no connection.
  await (dataSource as unknown as { buildMetadatas(): Promise<void> }).buildMetadatas();
  const files = loadedProjectFiles();
  const migrationsTableName = options.migrationsTableName ?? 'migrations';
  const naming = [options.schema, options.entityPrefix, options.namingStrategy?.constructor.name, migrationsTableName];
  return {
    schema: options.schema ?? null,
    hasMigrations: Object.keys(options.migrations ?? []).length > 0,
    migrationsTableName,
    metadataTableName: options.metadataTableName ?? 'typeorm_metadata',
    shape: hashParts([typeorm.version, JSON.stringify(naming), hashFiles(rootDir, files)]),
  };
}

export type Inspection = Awaited<ReturnType<typeof inspect>>;
