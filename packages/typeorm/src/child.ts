// Runs in a child process started by the adapter: loads the user's DataSource
// module (TypeScript through the project's own loader), so entity classes,
// decorators and TypeORM's metadata never leak into the test runner's processes.
import { sep } from 'node:path';
import { childMain, hashFiles, hashParts, installedPackage } from '@pgwork/core/adapter';
import { retargetOptions } from './index';

export interface ChildRequest {
  action: 'inspect' | 'synchronize' | 'migrations';
  module: string;
  exportName?: string;
  rootDir: string;
  url?: string;
}

/** The parts of a TypeORM DataSource pgwork uses; typed loosely to span TypeORM 0.3 and 1.x. */
interface DataSourceLike {
  options: Record<string, unknown> & { namingStrategy?: object };
  initialize(): Promise<unknown>;
  destroy(): Promise<void>;
  synchronize(dropBeforeSync: boolean): Promise<void>;
  runMigrations(options: { transaction: 'each' }): Promise<unknown>;
  buildMetadatas(): Promise<void>;
  constructor: new (options: Record<string, unknown>) => DataSourceLike;
}

childMain<ChildRequest, unknown>(async ({ action, module, exportName, rootDir, url }) => {
  const dataSource = loadDataSource(module, exportName);
  if (action === 'inspect') return inspect(dataSource, rootDir);
  const target = new dataSource.constructor({ ...retargetOptions(dataSource.options, url!), logging: false });
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

const isDataSource = (value: unknown): value is DataSourceLike =>
  typeof (value as DataSourceLike | undefined)?.initialize === 'function' &&
  typeof (value as DataSourceLike).options === 'object';

/** The DataSource a module exports: the named export, else `default`, `dataSource`, `AppDataSource`, else the only one. */
function loadDataSource(modulePath: string, exportName?: string): DataSourceLike {
  const loaded = require(modulePath) as Record<string, unknown>;
  if (exportName && !isDataSource(loaded[exportName]))
    throw new Error(`${modulePath} has no DataSource export named ${exportName}`);
  const named = [exportName, 'default', 'dataSource', 'AppDataSource'].find(
    (name) => name && isDataSource(loaded[name]),
  );
  if (named) return loaded[named] as DataSourceLike;
  const found = Object.values(loaded).filter(isDataSource);
  if (found.length === 1) return found[0]!;
  throw new Error(`${modulePath} exports ${found.length} DataSources; name one with typeorm({ export: "..." })`);
}

/** What pgwork needs to know of the DataSource, and a digest of everything that shapes its tables. */
async function inspect(dataSource: DataSourceLike, rootDir: string) {
  const { options } = dataSource;
  const typeorm = installedPackage('typeorm', rootDir)!;
  if (options.type !== 'postgres') throw new Error(`the DataSource is type "${options.type}"; pgwork needs "postgres"`);
  // Building the metadata requires every entity, migration and subscriber file; it needs no connection.
  await dataSource.buildMetadatas();
  const files = Object.keys(require.cache).filter(
    (file) => !file.includes(`${sep}node_modules${sep}`) && !file.startsWith(__dirname),
  );
  const migrationsTableName = (options.migrationsTableName as string | undefined) ?? 'migrations';
  const naming = [options.schema, options.entityPrefix, options.namingStrategy?.constructor.name, migrationsTableName];
  return {
    schema: (options.schema as string | undefined) ?? null,
    hasMigrations: ((options.migrations as unknown[] | undefined) ?? []).length > 0,
    migrationsTableName,
    metadataTableName: (options.metadataTableName as string | undefined) ?? 'typeorm_metadata',
    shape: hashParts([typeorm.version, JSON.stringify(naming), hashFiles(rootDir, files)]),
  };
}

export type Inspection = Awaited<ReturnType<typeof inspect>>;
