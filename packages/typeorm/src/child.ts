// Runs in a child process started by the adapter: loads the user's DataSource
// module (TypeScript through the project's own loader), so entity classes,
// decorators and TypeORM's metadata never leak into Jest's processes.
import { resolve, sep } from 'node:path';
import { childMain, installedPackage } from '@pgwork/core/adapter';
import { loadDataSource, retarget } from './load';

export interface ChildRequest {
  action: 'inspect' | 'synchronize' | 'migrations';
  module: string;
  exportName?: string;
  rootDir: string;
  url?: string;
}

childMain<ChildRequest, unknown>(
  async (request) => {
    const dataSource = loadDataSource(request.module, request.exportName);
    if (request.action === 'inspect') return inspect(dataSource.options, request.rootDir);
    const target = retarget(dataSource, request.url!);
    await target.initialize();
    try {
      if (request.action === 'migrations') await target.runMigrations({ transaction: 'each' });
      else await target.synchronize(true); // dropBeforeSync: TypeORM's dropSchema + synchronize
    } finally {
      await target.destroy();
    }
    return null;
  },
  (error) => ({ query: (error as { query?: string }).query }),
);

/** What shapes the schema: every project file the DataSource loads, and the options that name tables. */
function inspect(options: Record<string, unknown>, rootDir: string) {
  const typeorm = installedPackage('typeorm', rootDir)!;
  // Requiring the globbed entity/migration files puts them in require.cache too.
  const { importClassesFromDirectories } = require(resolve(typeorm.dir, 'util/DirectoryExportedClassesLoader.js'));
  for (const key of ['entities', 'migrations', 'subscribers'] as const) {
    const globs = ((options[key] as unknown[]) ?? []).filter((item): item is string => typeof item === 'string');
    if (globs.length)
      importClassesFromDirectories(
        { log: () => undefined },
        globs.map((glob) => resolve(rootDir, glob)),
      );
  }
  const files = Object.keys(require.cache).filter(
    (file) => !file.includes(`${sep}node_modules${sep}`) && !file.startsWith(__dirname),
  );
  return {
    files,
    typeormVersion: typeorm.version,
    type: options.type,
    schema: options.schema ?? null,
    entityPrefix: options.entityPrefix ?? null,
    namingStrategy: (options.namingStrategy as object | undefined)?.constructor?.name ?? null,
    hasMigrations: ((options.migrations as unknown[] | undefined) ?? []).length > 0,
    migrationsTableName: options.migrationsTableName ?? 'migrations',
    metadataTableName: options.metadataTableName ?? 'typeorm_metadata',
  };
}

export type Inspection = ReturnType<typeof inspect>;
