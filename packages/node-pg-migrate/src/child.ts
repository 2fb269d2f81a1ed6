// Runs in a child process started by the adapter: node-pg-migrate's own runner loads the project's
// migration files (JS, TS, SQL), so their modules and connections never touch the test runner's processes.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { childMain, describeDatabaseError } from '@pgwork/core/adapter';
import type { QueryConfig } from 'pg';

export interface ChildRequest {
  /** The project's node-pg-migrate, and its major version: 7 is CommonJS, 8+ ES modules only. */
  toolDir: string;
  major: number;
  dir: string;
  migrationsTable: string;
  migrationsSchema?: string;
  schema?: string;
}

childMain<ChildRequest, null>(async ({ toolDir, major, dir, migrationsTable, migrationsSchema, schema }) => {
  const fromTool = createRequire(join(toolDir, 'package.json'));
  // 7's ES build is broken (extensionless imports): require it; 8+ has only an ES build: import it.
  const entry = fromTool.resolve('node-pg-migrate');
  const loaded = major < 8 ? fromTool(entry) : await import(pathToFileURL(entry).href);
  const runner: (options: object) => Promise<unknown> = loaded.runner ?? loaded.default;
  // Our own client on the pg node-pg-migrate uses, so it is closed before the child answers.
  const client = new (fromTool('pg') as typeof import('pg')).Client({ connectionString: process.env.DATABASE_URL });
  // Which migration failed: the runner logs the pending ones in order, and each records itself last.
  const pending: string[] = [];
  const marker = `INSERT INTO "${migrationsSchema ?? schema ?? 'public'}"."${migrationsTable}"`;
  let recorded = 0;
  let failedSql: string | undefined;
  const query = client.query.bind(client) as (config: string | QueryConfig) => Promise<unknown>;
  client.query = (async (config: string | QueryConfig) => {
    const sql = typeof config === 'string' ? config : config.text;
    // Postgres' error position counts in the failing statement: the line and column in the migration.
    const result = await query(config).catch((error: unknown) => {
      failedSql ??= sql;
      throw error;
    });
    if (sql.startsWith(marker)) recorded++;
    return result;
  }) as never;
  await client.connect();
  try {
    await runner({
      dbClient: client,
      dir,
      direction: 'up', // every pending migration (count defaults to all)
      checkOrder: true,
      migrationsTable,
      migrationsSchema,
      createMigrationsSchema: !!migrationsSchema,
      schema,
      // The CLI's defaults: one transaction, so a failure leaves nothing behind; dotfiles ignored (7's runner has none).
      singleTransaction: true,
      ignorePattern: '\\..*',
      // pgwork builds each target alone; under schema isolation workers build side by side in one
      // database, where node-pg-migrate's one fixed advisory lock would fail all but one.
      noLock: true,
      log: (message: string) => pending.push(...(/^> - (.+)$/.exec(message)?.slice(1) ?? [])),
    });
  } catch (error) {
    const where = pending[recorded] ? `migration ${pending[recorded]} failed` : 'could not start';
    throw new Error(`${where}: ${describeDatabaseError(error, failedSql)}`);
  } finally {
    await client.end();
  }
  return null;
});
