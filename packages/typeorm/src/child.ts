// Runs in a child process started by the adapter: loads the user's DataSource
// module (TypeScript through the project's own loader), so entity classes,
// decorators and TypeORM's metadata never leak into Jest's processes.
// Prints one JSON line on stdout.
import { resolve, sep } from 'node:path';
import { CHILD_ANSWER, installedPackage } from '@pgwork/core';
import { loadDataSource, retarget, type DataSourceLike } from './load';

interface Request {
  action: 'inspect' | 'synchronize' | 'migrations';
  module: string;
  exportName?: string;
  rootDir: string;
  url?: string;
}

async function main() {
  const request = JSON.parse(process.argv[2]!) as Request;
  const dataSource = loadDataSource(request.module, request.exportName);
  if (request.action === 'inspect') {
    const typeormPackage = installedPackage('typeorm', request.rootDir)!;
    const typeormDir = typeormPackage.dir;
    // Requiring the globbed entity/migration files puts them in require.cache too.
    const { importClassesFromDirectories } = require(resolve(typeormDir, 'util/DirectoryExportedClassesLoader.js'));
    const options = dataSource.options;
    for (const key of ['entities', 'migrations', 'subscribers'] as const) {
      const globs = ((options[key] as unknown[]) ?? []).filter((item): item is string => typeof item === 'string');
      if (globs.length)
        importClassesFromDirectories(
          { log: () => undefined },
          globs.map((glob) => resolve(request.rootDir, glob)),
        );
    }
    const files = Object.keys(require.cache).filter(
      (file) => !file.includes(`${sep}node_modules${sep}`) && !file.startsWith(__dirname),
    );
    const migrations = (options.migrations as unknown[] | undefined) ?? [];
    emit({
      files,
      typeormVersion: typeormPackage.version,
      type: options.type,
      schema: options.schema ?? null,
      entityPrefix: options.entityPrefix ?? null,
      namingStrategy: (options.namingStrategy as object | undefined)?.constructor?.name ?? null,
      hasMigrations: migrations.length > 0,
      migrationsTableName: options.migrationsTableName ?? 'migrations',
      metadataTableName: options.metadataTableName ?? 'typeorm_metadata',
    });
    return;
  }
  const target: DataSourceLike = retarget(dataSource, request.url!);
  await target.initialize();
  try {
    if (request.action === 'migrations') await target.runMigrations({ transaction: 'each' });
    else await target.synchronize(true); // dropBeforeSync: TypeORM's dropSchema + synchronize
  } finally {
    await target.destroy();
  }
  emit({ ok: true });
}

function emit(value: unknown) {
  process.stdout.write(`\n${CHILD_ANSWER}${JSON.stringify(value)}\n`);
}

main().catch((error: Error & { query?: string }) => {
  emit({ error: error.message.split('\n')[0], code: (error as { code?: string }).code, query: error.query });
  process.exitCode = 1;
});
