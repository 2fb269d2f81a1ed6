import { escapeIdentifier, escapeLiteral, type Client } from 'pg';

// What reset needs to know about a database, read once per connection: the
// application tables, their foreign keys and owned sequences; and the probe
// that finds, in one call, which of them a test changed.

export interface ResetOptions {
  /** Tables never emptied: "schema.table", or "table" in any schema. */
  readonly keepTables?: readonly string[];
  /** Only these schemas (schema isolation: the worker's own). Default: every non-system schema. */
  readonly schemas?: readonly string[];
  /**
   * A file for the catalog of every database cloned from one template: clones
   * share their template's OIDs, so a worker uses the catalog another worker
   * read, once the probe confirms its signature, instead of reading its own.
   */
  readonly sharedCatalog?: string;
}

export interface ApplicationTable {
  schema: string;
  name: string;
}

export interface CatalogTable extends ApplicationTable {
  oid: number;
  qualified: string;
  /**
   * A DELETE of it would fire what TRUNCATE does not, for a session in the
   * default replication role: a user trigger or rule on DELETE or UPDATE, its
   * own or (through ON DELETE CASCADE / SET NULL / SET DEFAULT) a referencing table's.
   */
  deleteUnsafe: boolean;
  /** The same, for a session in replication role "replica": only triggers and rules enabled ALWAYS or REPLICA fire (foreign-key actions do not). */
  deleteUnsafeAsReplica: boolean;
  /** A TRUNCATE of it in replication role "replica" would fire a trigger enabled REPLICA, which the default role does not. */
  truncateFiresAsReplica: boolean;
  /** Row security that applies to the reset's role: a policy may hide rows from any query, so only the table's size tells whether it is empty. */
  rowSecurity: boolean;
  /** Its rows live in its partitions. */
  partitioned: boolean;
}

export interface CatalogSequence {
  oid: number;
  qualified: string;
  /** Index of the application table that owns it (a partition's sequence: its root table). */
  table: number;
  /** CACHE > 1: the app's connections hold values that only a new relfilenode (ALTER SEQUENCE RESTART) voids. */
  cached: boolean;
}

export interface Catalog {
  signature: string;
  tables: CatalogTable[];
  /** For each table index, the indexes of the tables whose foreign keys reference it. */
  referencedBy: number[][];
  /**
   * Tables with user ON TRUNCATE triggers (the audit-log pattern): a TRUNCATE
   * of every table fires them all, so every reset does, in a TRUNCATE of these.
   */
  truncateTriggered: number[];
  /**
   * Some table has a BEFORE TRUNCATE trigger: a TRUNCATE of everything runs it
   * with every table still full, which no cheaper reset reproduces, so every
   * reset is that TRUNCATE.
   */
  beforeTruncate: boolean;
  /** The role may set session_replication_role (a superuser): reset can DELETE with user triggers and foreign-key actions held off. */
  replicaAllowed: boolean;
  sequences: CatalogSequence[];
  /** The server has pg_get_sequence_data (PostgreSQL 18+): sequences are read without a scan each. */
  sequenceData: boolean;
  /** CREATE OR REPLACE of the session's probe function (pg_temp: no other session sees it). */
  probeFunction: string;
}

/** How many rows a table may hold for reset to DELETE them rather than TRUNCATE the table. */
export const DELETE_ROW_LIMIT = 1000;

const SYSTEM_SCHEMA = `n.nspname = 'information_schema' OR n.nspname LIKE 'pg\\_%'`;

/**
 * Changes when a table, sequence, foreign key, trigger, rule or policy is
 * created: new catalog rows get new OIDs, and max(oid) is an index lookup.
 * Enabling or disabling a trigger or rule changes no OID: the catalog counts a
 * disabled one as firing (only turning one from ENABLE to ENABLE ALWAYS or
 * REPLICA, or back, mid-suite goes unseen).
 * Drops need no signature: the probe then names a missing relation and fails,
 * and reset reads the catalog again. A changed START is read live by reset.
 */
export const SIGNATURE = ['pg_class', 'pg_constraint', 'pg_trigger', 'pg_rewrite', 'pg_policy']
  .map((catalog) => `coalesce((SELECT max(oid) FROM pg_catalog.${catalog})::int8, 0)::text`)
  .join(` || ':' || `);

/**
 * Application tables: ordinary and partitioned tables in every schema but the
 * system ones, minus partitions (emptied through their parent) and tables that
 * belong to an extension (PostGIS' spatial_ref_sys and the like). Foreign keys,
 * triggers and owned sequences of partitions are attributed to their root table.
 */
const CATALOG = `
WITH role AS (
  SELECT r.rolsuper, r.rolsuper OR r.rolbypassrls AS bypass_rls FROM pg_roles r WHERE r.rolname = current_user
), tables AS (
  SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind = 'p' AS partitioned, c.relrowsecurity AS rls
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND NOT (${SYSTEM_SCHEMA})
    AND ($1::text[] IS NULL OR n.nspname = ANY ($1::text[]))
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
)
SELECT json_build_object(
  'signature', ${SIGNATURE},
  'sequenceData', to_regproc('pg_catalog.pg_get_sequence_data') IS NOT NULL,
  'replicaAllowed', coalesce((SELECT rolsuper FROM role), false),
  'tables', coalesce((SELECT json_agg(json_build_object(
      'oid', t.oid, 'schema', t.schema, 'name', t.name, 'partitioned', t.partitioned,
      'rowSecurity', NOT coalesce((SELECT bypass_rls FROM role), false) AND (t.rls OR EXISTS (
        SELECT 1 FROM pg_partition_tree(t.oid) p JOIN pg_class pc ON pc.oid = p.relid WHERE pc.relrowsecurity)),
      'fires', (SELECT coalesce(json_agg(DISTINCT x.enabled), '[]') FROM (
        SELECT g.tgenabled::text AS enabled FROM pg_trigger g
        WHERE NOT g.tgisinternal AND g.tgtype & (8 | 16) <> 0 AND coalesce(pg_partition_root(g.tgrelid), g.tgrelid) = t.oid
        UNION ALL
        SELECT r.ev_enabled::text FROM pg_rewrite r
        WHERE r.ev_type IN ('2', '4') AND coalesce(pg_partition_root(r.ev_class), r.ev_class) = t.oid) x),
      'truncateTriggers', (SELECT coalesce(json_agg(json_build_object('enabled', g.tgenabled::text, 'before', g.tgtype & 2 <> 0)), '[]')
        FROM pg_trigger g WHERE NOT g.tgisinternal AND g.tgtype & 32 <> 0
          AND coalesce(pg_partition_root(g.tgrelid), g.tgrelid) = t.oid)
    ) ORDER BY t.schema, t.name) FROM tables t), '[]'),
  'foreignKeys', coalesce((SELECT json_agg(DISTINCT jsonb_build_object(
      'from', coalesce(pg_partition_root(k.conrelid), k.conrelid)::oid::int8,
      'to', coalesce(pg_partition_root(k.confrelid), k.confrelid)::oid::int8,
      'acts', k.confdeltype IN ('c', 'n', 'd')))
    FROM pg_constraint k WHERE k.contype = 'f'), '[]'),
  'sequences', coalesce((SELECT json_agg(json_build_object(
      'oid', s.oid, 'schema', sn.nspname, 'name', s.relname, 'cached', q.seqcache > 1,
      'table', coalesce(pg_partition_root(d.refobjid), d.refobjid)::int8) ORDER BY s.oid)
    FROM pg_class s
    JOIN pg_namespace sn ON sn.oid = s.relnamespace
    JOIN pg_sequence q ON q.seqrelid = s.oid
    JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
    WHERE s.relkind = 'S'), '[]')
) AS catalog`;

interface RawCatalog {
  signature: string;
  sequenceData: boolean;
  replicaAllowed: boolean;
  tables: Array<{
    oid: number;
    schema: string;
    name: string;
    partitioned: boolean;
    rowSecurity: boolean;
    /** pg_trigger.tgenabled / pg_rewrite.ev_enabled of its DELETE and UPDATE triggers and rules: O(rigin), R(eplica), A(lways), D(isabled). */
    fires: string[];
    truncateTriggers: Array<{ enabled: string; before: boolean }>;
  }>;
  /** `acts`: ON DELETE CASCADE, SET NULL or SET DEFAULT, which write the referencing table. */
  foreignKeys: Array<{ from: number; to: number; acts: boolean }>;
  sequences: Array<{ oid: number; schema: string; name: string; cached: boolean; table: number }>;
}

export function qualifiedName(table: ApplicationTable): string {
  return `${escapeIdentifier(table.schema)}.${escapeIdentifier(table.name)}`;
}

const kept = (keep: ReadonlySet<string>, t: ApplicationTable) => keep.has(t.name) || keep.has(`${t.schema}.${t.name}`);

async function readRawCatalog(client: Client, options: ResetOptions): Promise<RawCatalog> {
  const { rows } = await client.query<{ catalog: RawCatalog }>(CATALOG, [
    options.schemas ? [...options.schemas] : null,
  ]);
  return rows[0]!.catalog;
}

/** The tables a reset empties, for tools and tests. */
export async function applicationTables(client: Client, options: ResetOptions = {}): Promise<ApplicationTable[]> {
  const keep = new Set(options.keepTables ?? []);
  return (await readRawCatalog(client, options)).tables
    .filter((t) => !kept(keep, t))
    .map(({ schema, name }) => ({ schema, name }));
}

export async function readCatalog(client: Client, options: ResetOptions): Promise<Catalog> {
  const raw = await readRawCatalog(client, options);
  const keep = new Set(options.keepTables ?? []);
  const rawTables = raw.tables.filter((t) => !kept(keep, t));
  // Whether triggers or rules in these states fire in the default role (O) or in "replica" (R): ENABLE fires in the
  // first, ENABLE REPLICA in the second, ENABLE ALWAYS in both; DISABLE counts as both, since enabling it changes no OID.
  const firesIn = (states: string[], role: 'O' | 'R') => states.some((state) => state !== (role === 'O' ? 'R' : 'O'));
  const tables: CatalogTable[] = rawTables.map(
    ({ oid, schema, name, partitioned, rowSecurity, fires, truncateTriggers }) => ({
      oid: Number(oid),
      schema,
      name,
      qualified: qualifiedName({ schema, name }),
      partitioned,
      rowSecurity,
      deleteUnsafe: firesIn(fires, 'O'),
      deleteUnsafeAsReplica: firesIn(fires, 'R'),
      truncateFiresAsReplica: firesIn(
        truncateTriggers.map((t) => t.enabled),
        'R',
      ),
    }),
  );
  const index = new Map(tables.map((t, i) => [t.oid, i]));
  const referencedBy: number[][] = tables.map(() => []);
  const actedOnBy: number[][] = tables.map(() => []);
  for (const { from, to, acts } of raw.foreignKeys) {
    const [source, target] = [index.get(Number(from)), index.get(Number(to))];
    if (source === undefined || target === undefined) continue;
    if (!referencedBy[target]!.includes(source)) referencedBy[target]!.push(source);
    if (acts && !actedOnBy[target]!.includes(source)) actedOnBy[target]!.push(source);
  }
  // A DELETE that cascades into (or sets null in) a table with triggers fires them: unsafe as well, transitively.
  for (let changed = true; changed; ) {
    changed = false;
    for (const [i, table] of tables.entries()) {
      if (!table.deleteUnsafe && actedOnBy[i]!.some((source) => tables[source]!.deleteUnsafe)) {
        table.deleteUnsafe = true;
        changed = true;
      }
    }
  }
  const sequences = raw.sequences.flatMap((s) => {
    const table = index.get(Number(s.table));
    if (table === undefined) return [];
    return [{ oid: Number(s.oid), qualified: qualifiedName(s), table, cached: s.cached }];
  });
  const truncateTriggered = rawTables.flatMap((t, i) =>
    firesIn(
      t.truncateTriggers.map((trigger) => trigger.enabled),
      'O',
    )
      ? [i]
      : [],
  );
  const beforeTruncate = rawTables.some((t) => t.truncateTriggers.some((trigger) => trigger.before));
  const { signature, sequenceData, replicaAllowed } = raw;
  const catalog = {
    signature,
    sequenceData,
    replicaAllowed,
    tables,
    referencedBy,
    truncateTriggered,
    beforeTruncate,
    sequences,
    probeFunction: '',
  };
  catalog.probeFunction = probeFunction(catalog);
  return catalog;
}

/** The session's probe: `SELECT pg_temp.pgwork_probe()`. */
export const PROBE = { name: 'pgwork_probe', text: 'SELECT pg_temp.pgwork_probe() AS probe' };

export interface ProbeResult {
  signature: string;
  /** Dirty tables: [index, rows (capped at DELETE_ROW_LIMIT + 1)] pairs, flattened. */
  dirty?: number[];
  /** Indexes of sequences not where TRUNCATE ... RESTART IDENTITY leaves them. */
  moved?: number[];
}

/** Statements in one plan: the probe re-plans a chunk, not everything, when one table changes (a TRUNCATE, an ANALYZE). */
const CHUNK = 16;

/**
 * A PL/pgSQL function of this session (pg_temp), generated from the catalog.
 * PL/pgSQL caches a plan per statement, so planning happens once per
 * connection and a changed table re-plans only its chunk. It returns early
 * when the signature moved, before touching a table that may be gone.
 */
function probeFunction(catalog: Omit<Catalog, 'probeFunction'>): string {
  const body: string[] = [];
  const chunks = <T>(items: T[]) =>
    Array.from({ length: Math.ceil(items.length / CHUNK) }, (_, k) => items.slice(k * CHUNK, (k + 1) * CHUNK));
  let offset = 0;
  for (const chunk of chunks(catalog.tables)) {
    // Under row security only the size is trustworthy; such a table is TRUNCATEd, which leaves it size 0.
    const tests = chunk.map((t) =>
      !t.rowSecurity
        ? `EXISTS (SELECT 1 FROM ${t.qualified})`
        : t.partitioned
          ? `EXISTS (SELECT 1 FROM pg_catalog.pg_partition_tree(${t.oid}::oid) p WHERE p.isleaf AND pg_catalog.pg_relation_size(p.relid) > 0)`
          : `pg_catalog.pg_relation_size(${t.oid}::oid) > 0`,
    );
    body.push(`e := ARRAY[${tests.join(', ')}];`, 'IF true = ANY (e) THEN');
    chunk.forEach((t, k) => {
      const rows = t.rowSecurity
        ? String(DELETE_ROW_LIMIT + 1)
        : `(SELECT count(*) FROM (SELECT 1 FROM ${t.qualified} LIMIT ${DELETE_ROW_LIMIT + 1}) x)`;
      body.push(`  IF e[${k + 1}] THEN dirty := dirty || ARRAY[${offset + k}, ${rows}]::int8[]; END IF;`);
    });
    body.push('END IF;');
    offset += chunk.length;
  }
  // Where TRUNCATE ... RESTART IDENTITY leaves a sequence: at its current START, not yet called.
  if (catalog.sequences.length && catalog.sequenceData) {
    // PostgreSQL 18+: one plan that reads every sequence's state without scanning it.
    const oids = `'{${catalog.sequences.map((s) => s.oid).join(',')}}'::oid[]`;
    body.push(
      `moved := ARRAY(SELECT k - 1 FROM unnest(${oids}) WITH ORDINALITY u(o, k) JOIN pg_catalog.pg_sequence q ON q.seqrelid = u.o, pg_catalog.pg_get_sequence_data(u.o) d WHERE d.is_called OR d.last_value <> q.seqstart);`,
    );
  } else {
    offset = 0;
    for (const chunk of chunks(catalog.sequences)) {
      const tests = chunk.map(
        (s) =>
          `(SELECT is_called OR last_value <> (SELECT seqstart FROM pg_catalog.pg_sequence WHERE seqrelid = ${s.oid}::oid) FROM ${s.qualified})`,
      );
      body.push(
        `e := ARRAY[${tests.join(', ')}];`,
        `FOR k IN 1..${chunk.length} LOOP IF e[k] THEN moved := moved || (${offset} + k - 1); END IF; END LOOP;`,
      );
      offset += chunk.length;
    }
  }
  const signature = escapeLiteral(catalog.signature);
  return `CREATE OR REPLACE FUNCTION pg_temp.pgwork_probe() RETURNS json LANGUAGE plpgsql AS $pgwork_probe$
DECLARE
  signature text := ${SIGNATURE};
  e bool[];
  dirty int8[] := '{}';
  moved int[] := '{}';
BEGIN
  IF signature <> ${signature} THEN RETURN json_build_object('signature', signature); END IF;
${body.map((line) => `  ${line}`).join('\n')}
  RETURN json_build_object('signature', signature, 'dirty', dirty, 'moved', moved);
END
$pgwork_probe$`;
}
