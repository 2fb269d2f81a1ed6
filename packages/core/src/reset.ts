import { escapeIdentifier, type Client } from 'pg';
import { PgworkError, describeDatabaseError } from './errors';

export interface ResetOptions {
  /** Tables never emptied: "schema.table", or "table" in any schema. */
  readonly bookkeepingTables?: readonly string[];
}

export interface ApplicationTable {
  schema: string;
  name: string;
}

/**
 * The tables a reset empties: ordinary and partitioned tables in every schema
 * but the system ones, minus partitions (emptied through their parent) and
 * tables that belong to an extension (PostGIS' spatial_ref_sys and the like).
 */
const APPLICATION_TABLES = `
  SELECT n.nspname AS schema, c.relname AS name
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p')
    AND NOT c.relispartition
    AND n.nspname <> 'information_schema'
    AND n.nspname NOT LIKE 'pg\\_%'
    AND NOT EXISTS (
      SELECT 1 FROM pg_depend d
      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
    )
  ORDER BY 1, 2`;

export async function applicationTables(client: Client, options: ResetOptions = {}): Promise<ApplicationTable[]> {
  const { rows } = await client.query<ApplicationTable>(APPLICATION_TABLES);
  const keep = new Set(options.bookkeepingTables ?? []);
  return rows.filter((table) => !keep.has(table.name) && !keep.has(`${table.schema}.${table.name}`));
}

export function qualifiedName(table: ApplicationTable): string {
  return `${escapeIdentifier(table.schema)}.${escapeIdentifier(table.name)}`;
}

/**
 * Empties every application table and restarts the sequences they own, as
 * `TRUNCATE <all> RESTART IDENTITY CASCADE` would. CASCADE is left out on
 * purpose: every application table is in the list, so it could only reach a
 * bookkeeping table, and emptying one of those must fail loudly instead.
 */
export async function resetDatabase(client: Client, options: ResetOptions = {}): Promise<void> {
  const tables = await applicationTables(client, options);
  if (tables.length === 0) return;
  try {
    await client.query(`TRUNCATE ${tables.map(qualifiedName).join(', ')} RESTART IDENTITY`);
  } catch (error) {
    throw new PgworkError('RESET_FAILED', `reset could not empty the tables: ${describeDatabaseError(error)}`, { cause: error });
  }
}
