// Raw SQL probes the conformance kit checks adapters with: never through the adapter.
import type { Client } from 'pg';

/** Row counts of every table in `schemas` (default: all but the system ones), straight from the catalog. */
export async function tableRowCounts(client: Client, schemas?: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await client.query<{ name: string; schema: string; table: string }>(
    `SELECT format('%I.%I', schemaname, tablename) AS name, schemaname AS schema, tablename AS table FROM pg_tables
     WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND ($1::text[] IS NULL OR schemaname = ANY ($1)) ORDER BY 1`,
    [schemas ?? null],
  );
  const counts = new Map<string, number>();
  for (const { name, schema, table } of rows) {
    const result = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`);
    counts.set(`${schema}.${table}`, Number(result.rows[0]!.n));
  }
  return counts;
}

/** Sequences owned by a table, with whether they were used since the last restart. */
export async function usedSequences(
  client: Client,
  schemas?: readonly string[],
): Promise<Array<{ table: string; used: boolean }>> {
  const { rows } = await client.query<{ table: string; used: boolean }>(
    `SELECT tn.nspname || '.' || t.relname AS table, ps.last_value IS NOT NULL AS used
     FROM pg_class s
     JOIN pg_namespace sn ON sn.oid = s.relnamespace
     JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
     JOIN pg_class t ON t.oid = d.refobjid
     JOIN pg_namespace tn ON tn.oid = t.relnamespace
     JOIN pg_sequences ps ON ps.schemaname = sn.nspname AND ps.sequencename = s.relname
     WHERE s.relkind = 'S' AND ($1::text[] IS NULL OR sn.nspname = ANY ($1))`,
    [schemas ?? null],
  );
  return rows;
}

/** Whether "schema.table" is one of the adapter's bookkeeping tables; under schema isolation, in `workerSchema`. */
export function bookkeepingMatcher(tables: readonly string[], workerSchema?: string): (qualified: string) => boolean {
  const names = new Set(tables.map((t) => (workerSchema ? `${workerSchema}.${t.slice(t.indexOf('.') + 1)}` : t)));
  return (qualified) => names.has(qualified);
}
