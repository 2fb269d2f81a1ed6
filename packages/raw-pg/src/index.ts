import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  PgworkError,
  adapterHelper,
  describeDatabaseError,
  hashFiles,
  hashParts,
  listFiles,
  requireDirectory,
  type Adapter,
  type AdapterContext,
} from '@pgwork/core/adapter';

export interface RawPgOptions {
  /** Directory of *.sql files, applied in natural name order (2_x before 10_x). Relative to Jest's rootDir. Default "migrations". */
  migrations?: string;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION: string = require('../package.json').version;
/** Records applied files, so a file is never applied twice. Reset never empties it. */
export const MIGRATIONS_TABLE = 'pgwork_migrations';

/** For the Jest config: `withPgwork(config, { adapter: rawPg({ migrations: 'migrations' }) })`. */
export const rawPg = adapterHelper<RawPgOptions | undefined>(__filename);

const byNaturalName = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

export function migrationFiles(dir: string): string[] {
  return listFiles(dir, (path) => path.endsWith('.sql') && !path.includes('/')).sort(byNaturalName);
}

export function createAdapter(options: RawPgOptions = {}, context: AdapterContext): Adapter {
  const dir = resolve(context.rootDir, options.migrations ?? 'migrations');
  return {
    name: 'raw-pg',
    describe() {
      requireDirectory(dir, 'rawPg({ migrations })');
      return {
        fingerprint: hashParts(['raw-pg', VERSION, hashFiles(dir, migrationFiles(dir))]),
        // Unqualified, as the migration files are: in public, or under schema isolation in the worker's schema.
        bookkeepingTables: [`public.${MIGRATIONS_TABLE}`],
        isolation: ['database', 'schema', 'server'],
        reset: ['empty', 'transaction'],
      };
    },
    async migrate({ client }) {
      const files = migrationFiles(requireDirectory(dir, 'rawPg({ migrations })'));
      await client.query(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
        name text PRIMARY KEY,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const applied = new Set(
        (await client.query<{ name: string }>(`SELECT name FROM ${MIGRATIONS_TABLE}`)).rows.map((row) => row.name),
      );
      for (const file of files) {
        if (applied.has(file)) continue;
        const sql = readFileSync(join(dir, file), 'utf8');
        try {
          await client.query('BEGIN');
          await client.query(sql);
          await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (name, checksum) VALUES ($1, $2)`, [
            file,
            hashParts([sql]),
          ]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new PgworkError(
            'MIGRATION_FAILED',
            `migration ${file} failed${location(sql, error)}: ${describeDatabaseError(error)}`,
            { cause: error },
          );
        }
      }
    },
  };
}

/** " at line L, column C" from Postgres' character position, when it gave one. */
function location(sql: string, error: unknown): string {
  const position = Number((error as { position?: string }).position);
  if (!Number.isInteger(position) || position < 1) return '';
  const before = sql.slice(0, position - 1).split('\n');
  return ` at line ${before.length}, column ${before[before.length - 1]!.length + 1}`;
}
