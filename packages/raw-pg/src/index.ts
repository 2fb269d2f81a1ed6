import { join, resolve } from 'node:path';
import {
  adapterHelper,
  applyScripts,
  hashFiles,
  hashParts,
  listFiles,
  requireDirectory,
  type Adapter,
  type AdapterContext,
  type Ledger,
} from '@pgwork/core/adapter';

export interface RawPgOptions {
  /** Directory of *.sql files, applied in natural name order (2_x before 10_x). Relative to the project root. Default "migrations". */
  migrations?: string;
}

const VERSION: string = require('../package.json').version;
/** Records applied files, so a file is never applied twice. Reset never empties it. */
export const MIGRATIONS_TABLE = 'pgwork_migrations';

/** For the runner config: `withPgwork(config, { adapter: rawPg({ migrations: 'migrations' }) })`. */
export const rawPg = adapterHelper<RawPgOptions>(__filename, 'rawPg', ['migrations']);

const LEDGER: Ledger = {
  create: `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
    name text PRIMARY KEY,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`,
  applied: `SELECT name FROM ${MIGRATIONS_TABLE}`,
  // One transaction per file: a failed file leaves nothing behind and is not recorded.
  async apply(client, { name, sql }) {
    await client.query('BEGIN');
    try {
      await client.query(sql);
      await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (name, checksum) VALUES ($1, $2)`, [name, hashParts([sql])]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  },
};

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
      await applyScripts(
        client,
        files.map((name) => ({ name, path: join(dir, name) })),
        LEDGER,
      );
    },
  };
}
