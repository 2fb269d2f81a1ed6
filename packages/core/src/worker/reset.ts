import { createHash } from 'node:crypto';
import { escapeIdentifier, type Client } from 'pg';
import { PgworkError, describeDatabaseError, sqlState } from '../shared/errors';

export interface ResetOptions {
  /** Tables never emptied: "schema.table", or "table" in any schema. */
  readonly keepTables?: readonly string[];
  /** Only these schemas (schema isolation: the worker's own). Default: every non-system schema. */
  readonly schemas?: readonly string[];
}

export interface ApplicationTable {
  schema: string;
  name: string;
}

interface CatalogTable extends ApplicationTable {
  oid: number;
  qualified: string;
  /** User triggers, rules or row security: DELETE would not be what TRUNCATE is. */
  deleteUnsafe: boolean;
}

interface Catalog {
  signature: string;
  tables: CatalogTable[];
  /** For each table index, the indexes of the tables whose foreign keys reference it. */
  referencedBy: number[][];
  sequences: Array<{ oid: number; start: string; table: number }>;
  probe: { name: string; text: string };
}

/** How many rows a table may hold for reset to DELETE them rather than TRUNCATE the table. */
export const DELETE_ROW_LIMIT = 1000;

const SYSTEM_SCHEMA = `n.nspname = 'information_schema' OR n.nspname LIKE 'pg\\_%'`;

/** Changes whenever tables, sequences, foreign keys or user triggers come or go. */
const SIGNATURE = `(
  SELECT count(*) || ':' || coalesce(max(c.oid::int8), 0) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT (${SYSTEM_SCHEMA})
) || ':' || (SELECT count(*) FROM pg_constraint WHERE contype = 'f') || ':' || (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal)`;

/**
 * Application tables: ordinary and partitioned tables in every schema but the
 * system ones, minus partitions (emptied through their parent) and tables that
 * belong to an extension (PostGIS' spatial_ref_sys and the like). Foreign keys
 * and triggers of partitions are attributed to their root table.
 */
const CATALOG = `
WITH tables AS (
  SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relhasrules OR c.relrowsecurity AS rules
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND NOT (${SYSTEM_SCHEMA})
    AND ($1::text[] IS NULL OR n.nspname = ANY ($1::text[]))
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
)
SELECT json_build_object(
  'signature', ${SIGNATURE},
  'tables', coalesce((SELECT json_agg(json_build_object(
      'oid', t.oid, 'schema', t.schema, 'name', t.name,
      'deleteUnsafe', t.rules OR EXISTS (
        SELECT 1 FROM pg_trigger g WHERE NOT g.tgisinternal AND coalesce(pg_partition_root(g.tgrelid), g.tgrelid) = t.oid)
    ) ORDER BY t.schema, t.name) FROM tables t), '[]'),
  'foreignKeys', coalesce((SELECT json_agg(DISTINCT jsonb_build_object(
      'from', coalesce(pg_partition_root(k.conrelid), k.conrelid)::oid::int8,
      'to', coalesce(pg_partition_root(k.confrelid), k.confrelid)::oid::int8))
    FROM pg_constraint k WHERE k.contype = 'f'), '[]'),
  'sequences', coalesce((SELECT json_agg(json_build_object('oid', s.oid, 'start', q.seqstart::text, 'table', d.refobjid) ORDER BY s.oid)
    FROM pg_class s
    JOIN pg_sequence q ON q.seqrelid = s.oid
    JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
    WHERE s.relkind = 'S'), '[]')
) AS catalog`;

interface RawCatalog {
  signature: string;
  tables: Array<{ oid: number; schema: string; name: string; deleteUnsafe: boolean }>;
  foreignKeys: Array<{ from: number; to: number }>;
  sequences: Array<{ oid: number; start: string; table: number }>;
}

export function qualifiedName(table: ApplicationTable): string {
  return `${escapeIdentifier(table.schema)}.${escapeIdentifier(table.name)}`;
}

/**
 * Resets a database to empty application tables with restarted identities,
 * exactly as `TRUNCATE <every application table> RESTART IDENTITY` would, but
 * touching only what changed. One probe (a prepared statement) finds the
 * tables that hold rows and the sequences that advanced; a clean database costs
 * that one round trip. Small tables are emptied with DELETE in foreign-key order
 * (TRUNCATE costs milliseconds per table even when empty); big tables, tables
 * with user triggers, rules or row security, and foreign-key cycles go through
 * TRUNCATE of the dirty tables and every table referencing them. The catalog is
 * cached per connection and re-read when the schema changes.
 */
export type ResetStrategy = 'clean' | 'delete' | 'truncate' | 'fallback';

export class Resetter {
  /** How often each strategy ran: for benchmarks and tests. */
  readonly counts: Record<ResetStrategy, number> = { clean: 0, delete: 0, truncate: 0, fallback: 0 };
  private catalog: Catalog | undefined;
  private readonly keep: ReadonlySet<string>;
  private readonly schemas: readonly string[] | null;

  constructor(
    private readonly client: Client,
    options: ResetOptions = {},
  ) {
    this.keep = new Set(options.keepTables ?? []);
    this.schemas = options.schemas ? [...options.schemas] : null;
  }

  async reset(): Promise<void> {
    try {
      await this.resetOnce();
    } catch (error) {
      if (error instanceof PgworkError) throw error;
      // The schema changed under the cached catalog (a renamed table, a new
      // foreign key): read it again and empty everything the plain way.
      try {
        this.catalog = await this.readCatalog();
        await this.truncateAll();
        this.counts.fallback++;
      } catch (retryError) {
        throw resetError(retryError);
      }
    }
  }

  private async resetOnce(): Promise<void> {
    this.catalog ??= await this.readCatalog();
    let probe = await this.probe(this.catalog);
    if (probe.signature !== this.catalog.signature) {
      this.catalog = await this.readCatalog();
      probe = await this.probe(this.catalog);
    }
    const catalog = this.catalog;
    const dirty = catalog.tables.flatMap((_, i) => (probe.rows[i]! > 0 ? [i] : []));
    const advanced = catalog.sequences.filter((_, i) => probe.advanced[i]);
    if (dirty.length === 0 && advanced.length === 0) {
      this.counts.clean++;
      return;
    }

    const deletable = dirty.every((i) => probe.rows[i]! <= DELETE_ROW_LIMIT && !catalog.tables[i]!.deleteUnsafe);
    const order = deletable ? deleteOrder(dirty, catalog.referencedBy) : undefined;
    const statements: string[] = [];
    let truncated = new Set<number>();
    if (order) {
      for (const i of order) statements.push(`DELETE FROM ${catalog.tables[i]!.qualified}`);
    } else {
      truncated = referencingClosure(dirty, catalog.referencedBy);
      statements.push(
        `TRUNCATE ${[...truncated].map((i) => catalog.tables[i]!.qualified).join(', ')} RESTART IDENTITY`,
      );
    }
    const restart = advanced.filter((sequence) => !truncated.has(sequence.table));
    if (restart.length)
      statements.push(`SELECT ${restart.map((s) => `pg_catalog.setval(${s.oid}::oid, ${s.start}, false)`).join(', ')}`);
    // One simple-protocol script: one round trip, one implicit transaction.
    await this.client.query(statements.join(';\n'));
    this.counts[order ? 'delete' : 'truncate']++;
  }

  private async truncateAll(): Promise<void> {
    const tables = this.catalog!.tables;
    if (tables.length)
      await this.client.query(`TRUNCATE ${tables.map((t) => t.qualified).join(', ')} RESTART IDENTITY`);
  }

  private async probe(catalog: Catalog): Promise<{ signature: string; rows: number[]; advanced: boolean[] }> {
    const { rows } = await this.client.query<{ signature: string; rows: string[]; advanced: boolean[] }>(catalog.probe);
    return { signature: rows[0]!.signature, rows: rows[0]!.rows.map(Number), advanced: rows[0]!.advanced };
  }

  private async readCatalog(): Promise<Catalog> {
    const { rows } = await this.client.query<{ catalog: RawCatalog }>(CATALOG, [this.schemas]);
    const raw = rows[0]!.catalog;
    const tables: CatalogTable[] = raw.tables
      .filter((t) => !this.keep.has(t.name) && !this.keep.has(`${t.schema}.${t.name}`))
      .map((t) => ({ ...t, qualified: qualifiedName(t) }));
    const index = new Map(tables.map((t, i) => [Number(t.oid), i]));
    const referencedBy: number[][] = tables.map(() => []);
    for (const { from, to } of raw.foreignKeys) {
      const [source, target] = [index.get(Number(from)), index.get(Number(to))];
      if (source !== undefined && target !== undefined && !referencedBy[target]!.includes(source))
        referencedBy[target]!.push(source);
    }
    const sequences = raw.sequences.flatMap((s) => {
      const table = index.get(Number(s.table));
      return table === undefined ? [] : [{ oid: Number(s.oid), start: String(BigInt(s.start)), table }];
    });
    // EXISTS first: counting (capped) only runs for tables that hold rows, which
    // keeps a clean probe over 100 tables under a millisecond.
    const rowsSql = tables.map(
      (t) =>
        `CASE WHEN EXISTS (SELECT 1 FROM ${t.qualified}) THEN (SELECT count(*) FROM (SELECT 1 FROM ${t.qualified} LIMIT ${DELETE_ROW_LIMIT + 1}) x) ELSE 0 END`,
    );
    const seqSql = sequences.map((s) => `pg_catalog.pg_sequence_last_value(${s.oid}::oid) IS NOT NULL`);
    const text = `SELECT ${SIGNATURE} AS signature, ARRAY[${rowsSql.join(', ')}]::int8[] AS rows, ARRAY[${seqSql.join(', ')}]::bool[] AS advanced`;
    // Named, so Postgres plans the probe once per connection.
    const name = `pgwork_probe_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
    return { signature: raw.signature, tables, referencedBy, sequences, probe: { name, text } };
  }
}

/**
 * Dirty tables ordered so that every table comes before the tables it
 * references (children first), or undefined when their foreign keys form a
 * cycle (a self-reference included), which only TRUNCATE handles safely.
 */
function deleteOrder(dirty: number[], referencedBy: number[][]): number[] | undefined {
  const inSet = new Set(dirty);
  const order: number[] = [];
  const state = new Map<number, 'visiting' | 'done'>();
  const visit = (table: number): boolean => {
    if (state.get(table) === 'done') return true;
    if (state.get(table) === 'visiting') return false;
    state.set(table, 'visiting');
    for (const child of referencedBy[table]!) if (inSet.has(child) && !visit(child)) return false;
    state.set(table, 'done');
    order.push(table);
    return true;
  };
  for (const table of dirty) if (!visit(table)) return undefined;
  return order;
}

/** The tables and every table that references them, transitively: TRUNCATE needs them all in one statement. */
function referencingClosure(tables: number[], referencedBy: number[][]): Set<number> {
  const closure = new Set<number>();
  const pending = [...tables];
  while (pending.length) {
    const table = pending.pop()!;
    if (closure.has(table)) continue;
    closure.add(table);
    pending.push(...referencedBy[table]!);
  }
  return closure;
}

function resetError(error: unknown): PgworkError {
  if (sqlState(error) === '55P03') {
    return new PgworkError(
      'RESET_FAILED',
      `reset waited too long for a lock: ${describeDatabaseError(error)}; a connection of your app still holds a transaction open on this database (commit or roll it back, or close the pool, at the end of each test).`,
      { cause: error },
    );
  }
  return new PgworkError('RESET_FAILED', `reset could not empty the tables: ${describeDatabaseError(error)}`, {
    cause: error,
  });
}

/** The tables a reset empties, for tools and tests. */
export async function applicationTables(client: Client, options: ResetOptions = {}): Promise<ApplicationTable[]> {
  const { rows } = await client.query<{ catalog: RawCatalog }>(CATALOG, [
    options.schemas ? [...options.schemas] : null,
  ]);
  const keep = new Set(options.keepTables ?? []);
  return rows[0]!.catalog.tables
    .filter((t) => !keep.has(t.name) && !keep.has(`${t.schema}.${t.name}`))
    .map(({ schema, name }) => ({ schema, name }));
}

/** One reset without a cached catalog. Worker sessions keep a Resetter instead. */
export async function resetDatabase(client: Client, options: ResetOptions = {}): Promise<void> {
  await new Resetter(client, options).reset();
}
