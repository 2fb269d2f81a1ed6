import { readFileSync } from 'node:fs';
import type { Client } from 'pg';
import { PgworkError, describeDatabaseError } from './errors';

// The loop every SQL-file migrator has: apply the files in order, skip those
// the tool's ledger table lists, and on failure name the file, the line and
// Postgres' words. The ledger stays the tool's own (pgwork_migrations,
// _prisma_migrations), so the tool's status commands agree with pgwork.

export interface MigrationScript {
  /** What the ledger records, e.g. "2_add_users.sql" or "20260101000000_init". */
  name: string;
  path: string;
}

export interface Ledger {
  /** CREATE TABLE IF NOT EXISTS of the ledger table. */
  create: string;
  /** A query listing the applied scripts in a column named `name`. */
  applied: string;
  /** Runs one script and records it, in the tool's order and transaction. */
  apply(client: Client, script: MigrationScript & { sql: string }): Promise<void>;
}

export async function applyScripts(client: Client, scripts: readonly MigrationScript[], ledger: Ledger): Promise<void> {
  await client.query(ledger.create);
  const applied = new Set((await client.query<{ name: string }>(ledger.applied)).rows.map((row) => row.name));
  for (const script of scripts) {
    if (applied.has(script.name)) continue;
    const sql = readFileSync(script.path, 'utf8');
    try {
      await ledger.apply(client, { ...script, sql });
    } catch (error) {
      const detail = describeDatabaseError(error, sql);
      throw new PgworkError('MIGRATION_FAILED', `migration ${script.name} failed: ${detail} (${script.path})`, {
        cause: error,
      });
    }
  }
}

/**
 * The client with every statement's text passed through `rewrite` first: runs a
 * tool that writes "public" into its SQL in a worker's schema under schema isolation.
 */
export function rewritingClient(client: Client, rewrite: (sql: string) => string): Client {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'query') return Reflect.get(target, property, receiver);
      return (query: unknown, ...rest: unknown[]) => {
        // node-postgres takes the text alone, or a config object with a text field.
        const rewritten =
          typeof query === 'string'
            ? rewrite(query)
            : typeof query === 'object' && query && 'text' in query
              ? { ...query, text: rewrite(String(query.text)) }
              : query;
        return (target.query as (...args: unknown[]) => unknown)(rewritten, ...rest);
      };
    },
  });
}
