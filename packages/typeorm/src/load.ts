import { resolve } from 'node:path';

/** The parts of a TypeORM DataSource pgwork uses; typed loosely to span TypeORM 0.3 and 1.x. */
export interface DataSourceLike {
  options: Record<string, unknown> & { type?: string };
  initialize(): Promise<DataSourceLike>;
  destroy(): Promise<void>;
  synchronize(dropBeforeSync?: boolean): Promise<void>;
  runMigrations(options?: { transaction?: 'all' | 'none' | 'each' }): Promise<unknown>;
  constructor: new (options: Record<string, unknown>) => DataSourceLike;
}

const isDataSource = (value: unknown): value is DataSourceLike =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as DataSourceLike).initialize === 'function' &&
  typeof (value as DataSourceLike).options === 'object';

/** The DataSource a module exports: the named export, else `default`, `dataSource`, `AppDataSource`, else the only DataSource export. */
export function loadDataSource(modulePath: string, exportName?: string): DataSourceLike {
  const loaded = require(resolve(modulePath)) as Record<string, unknown>;
  if (exportName) {
    if (!isDataSource(loaded[exportName]))
      throw new Error(`${modulePath} has no DataSource export named ${exportName}`);
    return loaded[exportName] as DataSourceLike;
  }
  for (const name of ['default', 'dataSource', 'AppDataSource'])
    if (isDataSource(loaded[name])) return loaded[name] as DataSourceLike;
  const found = Object.values(loaded).filter(isDataSource);
  if (found.length === 1) return found[0]!;
  throw new Error(`${modulePath} exports ${found.length} DataSources; name one with typeorm({ export: "..." })`);
}

/** The same options aimed at another database: the URL replaces host, port, user, password and database. */
export function retargetOptions<T extends Record<string, unknown>>(options: T, url: string): T {
  return {
    ...options,
    url,
    host: undefined,
    port: undefined,
    username: undefined,
    password: undefined,
    database: undefined,
    synchronize: false,
    migrationsRun: false,
    dropSchema: false,
  };
}

export function retarget(dataSource: DataSourceLike, url: string): DataSourceLike {
  return new dataSource.constructor({ ...retargetOptions(dataSource.options, url), logging: false });
}
