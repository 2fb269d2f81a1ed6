import type { Client } from 'pg';
import { isolationOf } from '../isolation';
import { connect } from '../shared/connection';
import { describeDatabaseError, maskUrl, sqlState } from '../shared/errors';
import type { RunState, WorkerTarget } from '../shared/run-state';

// PGWORK_KEEP=failed: a failing test's database, kept as it was. It cannot be
// cloned (CREATE DATABASE ... TEMPLATE needs a source no session is on, and the
// app's pools are), so the copy is logical: a clone of the run's template, then
// every table's rows and every sequence's position read from the worker's
// database and written into it. Only a failure pays for it.

/** Table rows as one JSON array each, columns by name: no per-type code, and generated columns left to the server. */
const TABLES = `
  SELECT c.oid::regclass::text AS name,
         array_agg(quote_ident(a.attname) ORDER BY a.attnum) FILTER (WHERE a.attgenerated = '') AS columns
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  GROUP BY c.oid`;

const SEQUENCES = `
  SELECT format('%I.%I', schemaname, sequencename) AS name, last_value::text AS value
  FROM pg_sequences WHERE last_value IS NOT NULL`;

/**
 * Copies the worker's database, as `reader` sees it (in transaction mode the
 * app's connection, whose test transaction is still open), into a new kept
 * database; returns where it is, or why nothing was kept.
 */
export async function keepFailedDatabase(
  state: RunState,
  workerId: number,
  reader: Client,
  failedTest: string,
): Promise<{ kept: WorkerTarget } | { skipped: string }> {
  const isolation = isolationOf(state.mode);
  if (!isolation.keptCopy)
    return {
      skipped: `PGWORK_KEEP=failed keeps databases, and isolation "${state.mode}" gives a worker none of its own`,
    };
  const kept = await isolation.keptCopy(state as never, workerId, failedTest);
  const writer = await connect(kept.url, { source: kept.source });
  try {
    await copyInto(reader, writer);
  } finally {
    await writer.end().catch(() => undefined);
  }
  return { kept };
}

async function copyInto(reader: Client, writer: Client): Promise<void> {
  const { rows: tables } = await reader.query<{ name: string; columns: string[] | null }>(TABLES);
  await writer.query('BEGIN');
  try {
    // Foreign keys and triggers off where the role may (a superuser: the embedded server's);
    // elsewhere tables are written in passes until each one's references are in.
    const unchecked = await writer.query('SET LOCAL session_replication_role = replica').then(
      () => true,
      async (error: unknown) => {
        if (sqlState(error) !== '42501') throw error;
        await writer.query('ROLLBACK');
        await writer.query('BEGIN');
        return false;
      },
    );
    if (tables.length) await writer.query(`TRUNCATE ${tables.map((table) => table.name).join(', ')}`);
    // Each table's rows read once; those not written in a pass wait for the next.
    let pending: Array<{ name: string; columns: string; rows: string; error?: unknown }> = [];
    for (const table of tables) {
      if (!table.columns?.length) continue;
      const { rows } = await reader.query<{ rows: string }>(
        `SELECT coalesce(json_agg(t), '[]')::text AS rows FROM ${table.name} t`,
      );
      if (rows[0]!.rows !== '[]')
        pending.push({ name: table.name, columns: table.columns.join(', '), rows: rows[0]!.rows });
    }
    while (pending.length) {
      const left: typeof pending = [];
      for (const table of pending) {
        await writer.query('SAVEPOINT pgwork_copy');
        try {
          await writer.query(
            `INSERT INTO ${table.name} (${table.columns}) OVERRIDING SYSTEM VALUE SELECT ${table.columns} FROM json_populate_recordset(null::${table.name}, $1::json)`,
            [table.rows],
          );
          await writer.query('RELEASE SAVEPOINT pgwork_copy');
        } catch (error) {
          await writer.query('ROLLBACK TO SAVEPOINT pgwork_copy');
          if (unchecked) throw error;
          left.push({ ...table, error });
        }
      }
      if (left.length === pending.length) {
        throw new Error(`the rows of ${left[0]!.name} could not be copied: ${describeDatabaseError(left[0]!.error)}`);
      }
      pending = left;
    }
    const { rows: sequences } = await reader.query<{ name: string; value: string }>(SEQUENCES);
    for (const { name, value } of sequences)
      await writer.query('SELECT setval($1::regclass, $2::bigint)', [name, value]);
    await writer.query('COMMIT');
  } catch (error) {
    await writer.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** The line a worker prints for a kept copy: a URL psql takes (the embedded server's socket one has no password). */
export function keptLine(failedTest: string, kept: WorkerTarget): string {
  return `pgwork: kept the database of failed test "${failedTest}" as ${kept.database}: psql ${JSON.stringify(maskUrl(kept.url))} (pgwork clean drops it)`;
}
