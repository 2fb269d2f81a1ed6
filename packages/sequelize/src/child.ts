// In a child process: loads the project's module (TypeScript through its own loader), then migrates its instance.
import { createRequire } from 'node:module';
import { basename, join, relative } from 'node:path';
import { childMain, describeDatabaseError, loadedProjectFiles, pickExport } from '@pgwork/core/adapter';
import type { Sequelize } from 'sequelize';

/** `migrations` are the files to run, in order; `database` and `schema` the target's, to check the instance against. */
export type ChildRequest = Partial<Record<'exportName' | 'database' | 'schema', string>> &
  Record<'module' | 'rootDir', string> & { migrations: string[]; action: 'inspect' | 'migrations' | 'sync' };
export type Inspection = { files: string[]; schema: string | null; pinned: string[] };
type Instance = Sequelize & { options: { schema?: string } }; // Sequelize's own options, which its types leave out

childMain<ChildRequest, unknown>(async ({ action, module, exportName, migrations, rootDir, database, schema }) => {
  const instance = pickExport(require(module), {
    accepts: (value): value is Instance => typeof (value as Instance | undefined)?.getQueryInterface === 'function',
    what: 'Sequelize instance',
    usual: ['default', 'sequelize', 'db'],
    name: exportName,
    option: 'sequelize({ export: "..." })',
  });
  if (action === 'inspect') {
    const files = loadedProjectFiles(); // the module and its models
    // A schema option (the instance's or a model's) is written into table names: they cannot move.
    const pinned = [instance.options.schema, ...Object.values(instance.models).map((model) => model.options.schema)];
    return { files, schema: instance.options.schema ?? null, pinned: [...new Set(pinned.filter(Boolean))] };
  }
  const where = relative(rootDir, module);
  // Never migrate a database the module chose itself (a developer's): it must take pgwork's from DATABASE_URL.
  if (instance.config.database !== database) {
    const wrong = `${where} gives a Sequelize instance on database "${instance.config.database}", not DATABASE_URL's "${database}"`;
    throw new Error(`${wrong}; build it with new Sequelize(process.env.DATABASE_URL, ...)`);
  }
  try {
    if (schema) {
      // The URL's search_path must reach Sequelize's connections (a module that builds its own options drops it).
      const [[current]] = (await instance.query('SELECT current_schema() AS name')) as [[{ name: string }], unknown];
      const wrong = `${where} connects with search_path "${current?.name}", not DATABASE_URL's "${schema}"`;
      if (current?.name !== schema) throw new Error(`${wrong}; pass the URL itself to new Sequelize(...)`);
      // addColumn, enum types and SequelizeMeta say "public" unless the instance names a schema.
      instance.options.schema = schema;
    }
    if (action === 'sync') {
      await instance.sync().catch((error) => Promise.reject(failure('sync()', error)));
      return;
    }
    let failed: Error | undefined;
    const { Umzug, SequelizeStorage } = createRequire(join(rootDir, 'package.json'))('umzug');
    // module.exports = { up } as sequelize-cli writes it, or a TypeScript file's export default.
    const up = ({ path, context }: { path: string; context: unknown }) =>
      Promise.resolve()
        .then(() => require(path))
        .then((loaded) => (typeof loaded.up === 'function' ? loaded : loaded.default).up(context, instance.constructor))
        .catch((error) => Promise.reject((failed = failure(`migration ${relative(rootDir, path)}`, error))));
    const files = migrations.map((path) => ({ name: basename(path), path, up }));
    const storage = new SequelizeStorage({ sequelize: instance });
    const umzug = new Umzug({ migrations: files, context: instance.getQueryInterface(), storage, logger: undefined });
    // umzug wraps a migration's error in its own (differently across 3.x): ours names the file and Postgres' words.
    await umzug.up().catch((error: Error) => Promise.reject(failed ?? error));
  } finally {
    await instance.close();
  }
});

/** Postgres' words (a Sequelize error keeps the driver's in `parent`) for the step that failed. */
function failure(step: string, error: Error & { parent?: Error; sql?: string }): Error {
  return new Error(`Sequelize ${step} failed: ${describeDatabaseError(error.parent ?? error, error.sql)}`);
}
