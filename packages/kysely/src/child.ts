// Runs in a child process started by the adapter: Kysely's own Migrator over the
// project's migration files, loaded with require() so the project's TypeScript
// loader (preloaded by runChild) compiles them; FileMigrationProvider's import() cannot.
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { childMain, describeDatabaseError } from '@pgwork/core/adapter';
import type { Migration, MigratorProps } from 'kysely';
import { migrationFiles } from './index';

export interface ChildRequest {
  rootDir: string;
  dir: string;
  url: string;
  migrationTableName?: string;
  migrationLockTableName?: string;
  migrationTableSchema?: string;
}

const isMigration = (value: unknown): value is Migration => typeof (value as Migration | null)?.up === 'function';

childMain<ChildRequest, null>(async ({ rootDir, dir, url, ...tables }) => {
  // Types from the adapter's kysely; at run time the project's own kysely and pg (0.27+).
  const project = createRequire(join(rootDir, 'package.json'));
  const { Kysely, Migrator, PostgresDialect } = project('kysely') as typeof import('kysely');
  const { Pool } = project('pg') as typeof import('pg');
  const shown = (file: string) => relative(rootDir, join(dir, file));
  const fileOf = new Map<string, string>();
  const provider: MigratorProps['provider'] = {
    // As FileMigrationProvider: named by file name without extension, the module or its default export.
    async getMigrations() {
      const migrations: Record<string, Migration> = {};
      for (const file of migrationFiles(dir)) {
        const name = file.slice(0, file.lastIndexOf('.'));
        let loaded: { default?: unknown };
        try {
          loaded = require(join(dir, file));
        } catch (error) {
          throw new Error(`cannot load migration ${shown(file)}: ${describeDatabaseError(error)}`);
        }
        const migration = [loaded?.default, loaded].find(isMigration);
        if (migration) migrations[name] = migration;
        fileOf.set(name, shown(file));
      }
      return migrations;
    },
  };
  const pool = new Pool({ connectionString: url, max: 1 });
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
  try {
    const { error, results } = await new Migrator({ db, provider, ...tables }).migrateToLatest();
    if (!error) return null;
    const failed = results?.find((result) => result.status === 'Error');
    const where = failed ? `migration ${failed.migrationName} (${fileOf.get(failed.migrationName)})` : shown('');
    const undone = failed ? '; Kysely rolled back every migration of this run' : '';
    throw new Error(
      `Kysely's Migrator failed on ${where}: ${describeDatabaseError(error)}${undone}; fix it and run the tests again.`,
    );
  } finally {
    await db.destroy();
  }
});
