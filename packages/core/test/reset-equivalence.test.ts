// Fast reset must leave exactly what `TRUNCATE <all> RESTART IDENTITY` leaves.
// Random schemas and data, built twice; one copy reset by pgwork, the other by
// the plain TRUNCATE; then every table and sequence compared.
import type { Client } from 'pg';
import { connect } from '../src/shared/connection';
import { nodeRequire } from '../src/shared/node-require';
import { Resetter, type ResetStrategy } from '../src/worker/reset';
import { testAdminClient, testServerUrl, withScratchDatabase } from '../src/testing/server';
import { installedOlderPostgres, startInstalledPostgres } from './helpers';

// The shape of a real app (scripts/bench/real-shape.mjs, what `pnpm bench` measures) and its seeded PRNG.
const realShape = nodeRequire(__filename)('../../../scripts/bench/real-shape.mjs') as {
  realShapeSchema(): { ddl: string; dirtyRelated: string; dirtyAll: string };
  prng(seed: number): { next(): number; int(lo: number, hi: number): number; pick<T>(items: T[]): T };
};

/** Seeded (mulberry32), so a failing seed can be replayed. */
function random(seed: number) {
  const r = realShape.prng(seed);
  return { next: r.next, int: (n: number) => r.int(0, n - 1), pick: r.pick };
}

interface Table {
  name: string;
  hasId: boolean;
  parent?: string;
  selfRef: boolean;
  partitioned: boolean;
  identity: boolean;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

function generate(seed: number): {
  ddl: string;
  fill: (round: number) => string;
  alter: string;
  bookkeeping: string;
} {
  const r = random(seed);
  const schemas = ['public', 'app', 'Billing Dept'];
  const tables: Table[] = [];
  const ddl: string[] = [`CREATE SCHEMA app`, `CREATE SCHEMA ${quote('Billing Dept')}`];
  const count = 3 + r.int(8);
  for (let i = 0; i < count; i++) {
    const schema = r.pick(schemas);
    const base = r.pick(['items', 'Orders', 'line_items', 'Users', 'events', 'tags']);
    const name = `${quote(schema)}.${quote(`${base}_${i}`)}`;
    const idKind = r.pick(['identity always', 'identity default', 'serial', 'bigserial', 'identity always']);
    const partitioned = r.next() < 0.15;
    const parent =
      tables.length && r.next() < 0.6 ? r.pick(tables.filter((t) => t.hasId && !t.partitioned)) : undefined;
    const selfRef = !partitioned && r.next() < 0.2;
    const action = r.pick(['CASCADE', 'SET NULL', 'NO ACTION', 'RESTRICT']);
    const id =
      idKind === 'serial'
        ? 'id serial'
        : idKind === 'bigserial'
          ? 'id bigserial'
          : `id int GENERATED ${idKind === 'identity always' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY`;
    const columns = [
      partitioned ? `${id}, bucket int NOT NULL` : `${id} PRIMARY KEY`,
      'label text',
      parent ? `parent_id int REFERENCES ${parent.name}(id) ON DELETE ${action}` : '',
      selfRef ? `self_id int REFERENCES ${name}(id) ON DELETE ${action}` : '',
    ].filter(Boolean);
    ddl.push(`CREATE TABLE ${name} (${columns.join(', ')})${partitioned ? ' PARTITION BY RANGE (bucket)' : ''}`);
    if (partitioned) {
      ddl.push(
        `CREATE TABLE ${quote(schema)}.${quote(`${base}_${i}_low`)} PARTITION OF ${name} FOR VALUES FROM (0) TO (50)`,
      );
      ddl.push(
        `CREATE TABLE ${quote(schema)}.${quote(`${base}_${i}_high`)} PARTITION OF ${name} FOR VALUES FROM (50) TO (100)`,
      );
    }
    tables.push({
      name,
      hasId: true,
      parent: parent?.name,
      selfRef,
      partitioned,
      identity: idKind.startsWith('identity'),
    });
  }
  // A foreign-key cycle between two tables, deferred so both can be filled.
  const plain = tables.filter((t) => !t.partitioned);
  if (plain.length >= 2 && r.next() < 0.5) {
    const [a, b] = [plain[0]!, plain[plain.length - 1]!];
    ddl.push(`ALTER TABLE ${a.name} ADD COLUMN cycle_id int REFERENCES ${b.name}(id) DEFERRABLE INITIALLY DEFERRED`);
  }
  // A user trigger: DELETE would fire it, so reset must TRUNCATE that table.
  if (r.next() < 0.4) {
    const target = r.pick(plain);
    ddl.push(`CREATE TABLE app.audit (note text)`);
    ddl.push(
      `CREATE FUNCTION app.audit_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO app.audit VALUES ('deleted'); RETURN OLD; END $$`,
    );
    ddl.push(
      `CREATE TRIGGER audit_delete AFTER DELETE ON ${target.name} FOR EACH ROW EXECUTE FUNCTION app.audit_delete()`,
    );
  }
  // The audit-log pattern: a TRUNCATE of every table fires it each time, whatever the test wrote.
  // On one or two tables, logging into one serial: they must fire in the same order on every reset.
  ddl.push(`CREATE TABLE app.truncations (id bigserial PRIMARY KEY, note text)`);
  ddl.push(
    `CREATE FUNCTION app.log_truncate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO app.truncations (note) VALUES (TG_WHEN || ' T:' || TG_TABLE_NAME); RETURN NULL; END $$`,
  );
  const later: string[] = [];
  if (r.next() < 0.5) {
    for (const table of new Set([r.pick(plain), r.pick(plain)]))
      ddl.push(
        `CREATE TRIGGER log_truncate AFTER TRUNCATE ON ${table.name} FOR EACH STATEMENT EXECUTE FUNCTION app.log_truncate()`,
      );
    // One disabled from the start, enabled by a test: enabling a trigger changes no OID.
    const disabled = r.pick(plain);
    ddl.push(
      `CREATE TRIGGER late_truncate AFTER TRUNCATE ON ${disabled.name} FOR EACH STATEMENT EXECUTE FUNCTION app.log_truncate()`,
      `ALTER TABLE ${disabled.name} DISABLE TRIGGER late_truncate`,
    );
    later.push(`ALTER TABLE ${disabled.name} ENABLE TRIGGER late_truncate`);
  }
  // BEFORE TRUNCATE: a TRUNCATE of everything runs it while every table is still full, and then empties what it wrote.
  if (r.next() < 0.15)
    ddl.push(
      `CREATE TRIGGER before_truncate BEFORE TRUNCATE ON ${r.pick(plain).name} FOR EACH STATEMENT EXECUTE FUNCTION app.log_truncate()`,
    );
  // Triggers enabled REPLICA fire only in replication role "replica": pgwork's DELETE and TRUNCATE there must not fire them.
  if (r.next() < 0.4) {
    const [deleting, truncating] = [r.pick(plain), r.pick(plain)];
    ddl.push(`CREATE TABLE app.replica_log (note text)`);
    ddl.push(
      `CREATE FUNCTION app.log_replica() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO app.replica_log VALUES (TG_OP || ':' || TG_TABLE_NAME); RETURN NULL; END $$`,
    );
    ddl.push(
      `CREATE TRIGGER log_replica_delete AFTER DELETE ON ${deleting.name} FOR EACH ROW EXECUTE FUNCTION app.log_replica()`,
      `ALTER TABLE ${deleting.name} ENABLE REPLICA TRIGGER log_replica_delete`,
      `CREATE TRIGGER log_replica_truncate AFTER TRUNCATE ON ${truncating.name} FOR EACH STATEMENT EXECUTE FUNCTION app.log_replica()`,
      `ALTER TABLE ${truncating.name} ENABLE REPLICA TRIGGER log_replica_truncate`,
    );
  }
  // Row triggers that write another table, as real schemas have on many tables.
  const counted = plain.filter(() => r.next() < 0.5);
  ddl.push(`CREATE TABLE app.counters (tbl text PRIMARY KEY, n int NOT NULL)`);
  ddl.push(
    `CREATE FUNCTION app.count_rows() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO app.counters VALUES (TG_TABLE_NAME, 1) ON CONFLICT (tbl) DO UPDATE SET n = app.counters.n + 1; RETURN NULL; END $$`,
  );
  for (const table of counted)
    ddl.push(
      `CREATE TRIGGER count_rows AFTER INSERT OR UPDATE OR DELETE ON ${table.name} FOR EACH ROW EXECUTE FUNCTION app.count_rows()`,
    );
  // A DELETE trigger enabled ALWAYS: it fires in replication role "replica" too.
  if (r.next() < 0.5) {
    const always = r.pick(plain);
    ddl.push(`CREATE TABLE app.always_log (note text)`);
    ddl.push(
      `CREATE FUNCTION app.log_always() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO app.always_log VALUES ('deleted'); RETURN NULL; END $$`,
    );
    ddl.push(`CREATE TRIGGER log_always AFTER DELETE ON ${always.name} FOR EACH ROW EXECUTE FUNCTION app.log_always()`);
    ddl.push(`ALTER TABLE ${always.name} ENABLE ALWAYS TRIGGER log_always`);
  }
  // A parent whose DELETE cascades into a table with a statement-level DELETE trigger: it fires even on no rows.
  ddl.push(`CREATE TABLE app.parents (id serial PRIMARY KEY, v text)`);
  ddl.push(
    `CREATE TABLE app.children (id serial PRIMARY KEY, parent_id int REFERENCES app.parents(id) ON DELETE CASCADE)`,
  );
  ddl.push(`CREATE TABLE app.statement_log (note text)`);
  ddl.push(
    `CREATE FUNCTION app.log_statement() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO app.statement_log VALUES (TG_OP); RETURN NULL; END $$`,
  );
  ddl.push(
    `CREATE TRIGGER log_statement AFTER DELETE ON app.children FOR EACH STATEMENT EXECUTE FUNCTION app.log_statement()`,
  );
  ddl.push(`CREATE TABLE public.schema_history (id serial PRIMARY KEY, name text)`);
  ddl.push(`INSERT INTO public.schema_history (name) VALUES ('001'), ('002')`);
  // The same name as the bookkeeping table, in another schema: an application table like any other.
  ddl.push(`CREATE TABLE app.schema_history (id serial PRIMARY KEY, name text)`);
  // A partition attached later that owns its own serial, written to directly.
  ddl.push(`CREATE TABLE app.readings (bucket int NOT NULL, n int, v text) PARTITION BY RANGE (bucket)`);
  ddl.push(`CREATE TABLE app.readings_low (bucket int NOT NULL, n serial, v text)`);
  ddl.push(`ALTER TABLE app.readings ATTACH PARTITION app.readings_low FOR VALUES FROM (0) TO (100)`);
  // An identity whose values the app's connection caches 20 at a time.
  ddl.push(`CREATE TABLE app.cached (id int GENERATED BY DEFAULT AS IDENTITY (CACHE 20) PRIMARY KEY, v text)`);
  // A sequence two tables draw from, owned by one; and a sequence no table owns (TRUNCATE leaves it alone).
  ddl.push(`CREATE SEQUENCE app.shared_seq`);
  ddl.push(`CREATE TABLE app.shared_a (id int DEFAULT nextval('app.shared_seq') PRIMARY KEY, v text)`);
  ddl.push(`CREATE TABLE app.shared_b (id int DEFAULT nextval('app.shared_seq') PRIMARY KEY, v text)`);
  ddl.push(`ALTER SEQUENCE app.shared_seq OWNED BY app.shared_a.id`);
  ddl.push(`CREATE SEQUENCE app.free_seq`);
  ddl.push(`CREATE TABLE app.numbered (id int DEFAULT nextval('app.free_seq'), v text)`);
  // Multi-tenant row security: the owner itself only sees its tenant's rows.
  ddl.push(`CREATE TABLE app.tenant_notes (id serial PRIMARY KEY, tenant text NOT NULL, v text)`);
  ddl.push(`ALTER TABLE app.tenant_notes ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY`);
  ddl.push(`CREATE POLICY own_tenant ON app.tenant_notes USING (tenant = 'mine') WITH CHECK (true)`);
  const serials = tables.filter((t) => !t.partitioned).map((t) => t.name);
  const identities = tables.filter((t) => !t.partitioned && t.identity).map((t) => t.name);
  if (identities.length === 0) {
    ddl.push(`CREATE TABLE app.identified (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text)`);
    identities.push('app.identified');
  }

  const fill = (round: number) => {
    const f = random(seed * 31 + round);
    const sql: string[] = ['BEGIN'];
    for (const table of tables) {
      const action = f.next();
      if (action < 0.3) continue; // stays clean
      const rows = action > 0.93 ? 1200 : 1 + f.int(30); // sometimes too many rows to DELETE
      const bucket = table.partitioned ? 'bucket, ' : '';
      const bucketValue = table.partitioned ? `(g % 100), ` : '';
      const parentValue = table.parent ? `, (SELECT min(id) FROM ${table.parent})` : '';
      sql.push(
        `INSERT INTO ${table.name} (${bucket}label${table.parent ? ', parent_id' : ''}) SELECT ${bucketValue}'r' || g${parentValue} FROM generate_series(1, ${rows}) g`,
      );
      if (table.selfRef) sql.push(`UPDATE ${table.name} SET self_id = (SELECT min(id) FROM ${table.name})`);
    }
    if (f.next() < 0.6) sql.push(`INSERT INTO app.schema_history (name) VALUES ('user row')`);
    if (f.next() < 0.6) sql.push(`INSERT INTO app.parents (v) VALUES ('p'), ('q')`);
    if (f.next() < 0.6)
      sql.push(`INSERT INTO app.readings_low (bucket, v) SELECT g, 'direct' FROM generate_series(1, 3) g`);
    if (f.next() < 0.6) sql.push(`INSERT INTO app.shared_b (v) VALUES ('b'), ('b')`);
    if (f.next() < 0.6) sql.push(`INSERT INTO app.numbered (v) VALUES ('n')`);
    // Often only rows the owner's own policy hides: a probe that reads the table sees it empty.
    const tenants = f.next();
    if (tenants < 0.5) sql.push(`INSERT INTO app.tenant_notes (tenant, v) VALUES ('other', 'hidden')`);
    else if (tenants < 0.8)
      sql.push(`INSERT INTO app.tenant_notes (tenant, v) VALUES ('other', 'hidden'), ('mine', 'seen')`);
    sql.push('COMMIT');
    // Sequences moved without being called: TRUNCATE ... RESTART IDENTITY puts them back all the same.
    if (f.next() < 0.5) sql.push(`SELECT setval(pg_get_serial_sequence('${f.pick(serials)}', 'id'), 500, false)`);
    if (f.next() < 0.5) sql.push(`ALTER TABLE ${f.pick(identities)} ALTER COLUMN id RESTART WITH 77`);
    // Rolled-back inserts advance sequences of tables that end up empty.
    for (const table of tables) {
      if (f.next() < 0.3) {
        const bucket = table.partitioned ? 'bucket, ' : '';
        sql.push(
          `BEGIN; INSERT INTO ${table.name} (${bucket}label) VALUES (${table.partitioned ? '1, ' : ''}'gone'); ROLLBACK`,
        );
      }
    }
    return sql.join(';\n');
  };
  // What a test may change in the schema between resets: a rule that turns DELETE into nothing, a new START.
  const alter = [
    `CREATE RULE keep_rows AS ON DELETE TO ${r.pick(serials)} DO INSTEAD NOTHING`,
    `ALTER TABLE ${r.pick(identities)} ALTER COLUMN id SET START WITH 1000`,
    ...later,
  ].join(';\n');
  return { ddl: ddl.join(';\n'), fill, alter, bookkeeping: 'public.schema_history' };
}

/** Every table's row count and every sequence's state, straight from the catalog. */
async function snapshot(client: Client): Promise<Record<string, unknown>> {
  const state: Record<string, unknown> = {};
  const tables = await client.query<{ q: string }>(
    `SELECT format('%I.%I', schemaname, tablename) AS q FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
  );
  for (const { q } of tables.rows) {
    const { rows } = await client.query(
      `SELECT count(*)::int AS n, md5(string_agg(t::text, ',' ORDER BY t::text)) AS rows FROM ${q} t`,
    );
    state[`table ${q}`] = rows[0].n === 0 ? 0 : `${rows[0].n} rows ${rows[0].rows}`;
  }
  const sequences = await client.query<{ q: string }>(
    `SELECT format('%I.%I', schemaname, sequencename) AS q FROM pg_sequences ORDER BY 1`,
  );
  for (const { q } of sequences.rows) {
    const { rows } = await client.query(`SELECT last_value::text AS v, is_called AS c FROM ${q}`);
    state[`sequence ${q}`] = `${rows[0].v}/${rows[0].c}`;
  }
  return state;
}

/**
 * The reference: every table but partitions and the bookkeeping table, read here without pgwork's catalog,
 * in the order pgwork's catalog lists them (ON TRUNCATE triggers fire in the order of the list).
 */
async function truncateEverything(client: Client, bookkeeping: string) {
  const { rows } = await client.query<{ q: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS q FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname NOT LIKE 'pg\\_%' AND format('%s.%s', n.nspname, c.relname) <> $1
     ORDER BY n.nspname, c.relname`,
    [bookkeeping],
  );
  await client.query(`TRUNCATE ${rows.map((row) => row.q).join(', ')} RESTART IDENTITY`);
}

const SEEDS = Array.from({ length: 12 }, (_, i) => 1000 + i * 7919);
const used = new Map<string, Record<ResetStrategy, number>>();

// The app's role: it owns everything, as an app that runs its own migrations does, and is no superuser, so row security applies to it.
const ROLE = 'pgwork_equivalence_owner';
const asRole = (url: string) => {
  const parsed = new URL(url);
  parsed.username = ROLE;
  parsed.password = ROLE;
  return parsed.toString();
};

// The embedded test server (PostgreSQL 18), and an older major when the machine has one
// installed: before 18 the probe reads each sequence itself (no pg_get_sequence_data).
const older = installedOlderPostgres();
let olderServer: { url: string; stop(): Promise<void> } | undefined;
const servers: Array<[string, () => string]> = [
  ['the test server', () => testServerUrl()],
  ...(older ? [[`an installed PostgreSQL ${older.major}`, () => olderServer!.url] as [string, () => string]] : []),
];

beforeAll(async () => {
  if (older) olderServer = await startInstalledPostgres(older.bin);
  for (const [, url] of servers) {
    const admin = await testAdminClient(url());
    try {
      await admin.query(
        `DO $$ BEGIN CREATE ROLE ${ROLE} LOGIN PASSWORD '${ROLE}'; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
      );
    } finally {
      await admin.end();
    }
  }
}, 60_000);
afterAll(() => olderServer?.stop());

// The app's role cannot hold triggers off, so reset takes the foreign-key-order DELETE and TRUNCATE; a
// superuser's own connection (what the embedded server gives pgwork) DELETEs in replication role "replica".
const resetters = [
  "the app's role",
  'a superuser on a connection of its own',
  'a superuser on a shared connection',
] as const;
const cases = servers.flatMap(([server, url]) => resetters.map((by) => [server, by, url] as const));

describe.each(cases)('fast reset is TRUNCATE <all> RESTART IDENTITY, on %s, reset by %s', (_server, by, serverUrl) => {
  it.each(SEEDS)('on random schema and data #%i', async (seed) => {
    const { ddl, fill, alter, bookkeeping } = generate(seed);
    await withScratchDatabase(
      (urlA) =>
        withScratchDatabase(async (urlB) => {
          // Per side: the superuser that looks (sees every row) and the app's role, twice (reset's and the app's connection).
          const open = async (url: string) => {
            const superuser = await connect(url);
            await superuser.query(
              `GRANT CREATE ON DATABASE ${superuser.database} TO ${ROLE}; GRANT ALL ON SCHEMA public TO ${ROLE}`,
            );
            return {
              superuser,
              owner: await connect(asRole(url)),
              app: await connect(asRole(url)),
              reset: await connect(by === resetters[0] ? asRole(url) : url),
            };
          };
          const [a, b] = [await open(urlA), await open(urlB)];
          const both = async (sql: string, on: 'owner' | 'app' = 'owner') => {
            await a[on].query(sql);
            await b[on].query(sql);
          };
          const same = async () => {
            const state = await snapshot(a.superuser);
            expect(state).toEqual(await snapshot(b.superuser));
            return state;
          };
          try {
            await both(ddl);
            const resetter = new Resetter(a.reset, { keepTables: [bookkeeping], ownConnection: by === resetters[1] });
            for (const round of [1, 2, 3]) {
              await both(fill(round));
              await both(`INSERT INTO app.cached (v) VALUES ('app')`, 'app');
              await same();
              await resetter.reset();
              await truncateEverything(b.superuser, bookkeeping);
              for (const [key, value] of Object.entries(await same())) {
                if (key.startsWith('table ') && !key.includes(bookkeeping) && !/audit|truncations/.test(key))
                  expect([key, value]).toEqual([key, 0]);
              }
              // The app's connection takes its next id after the reset: a cached value would differ from the twin's.
              await both(`INSERT INTO app.cached (v) VALUES ('after reset')`, 'app');
              await same();
              if (round === 2) await both(alter);
            }
            // A test that adds a table between resets.
            await both(`CREATE TABLE app.late (id serial, v text); INSERT INTO app.late (v) VALUES ('x')`);
            await resetter.reset();
            await truncateEverything(b.superuser, bookkeeping);
            await same();
            await resetter.reset(); // nothing changed since
            await truncateEverything(b.superuser, bookkeeping);
            await same();
            const counts = used.get(by) ?? { clean: 0, delete: 0, truncate: 0, fallback: 0 };
            for (const key of Object.keys(counts) as ResetStrategy[]) counts[key] += resetter.counts[key];
            used.set(by, counts);
          } finally {
            for (const side of [a, b]) for (const client of Object.values(side)) await client.end();
          }
        }, serverUrl()),
      serverUrl(),
    );
  });
});

// The real shape: 500+ tables in 10 schemas, row triggers that write other tables on 40% of them,
// self-references, partitions, every ON DELETE action.
const { realShapeSchema } = realShape;

describe.each(resetters)('on a schema of a real app, reset by %s', (by) => {
  it('is TRUNCATE <all> RESTART IDENTITY after a test that wrote related tables, and after one that wrote every table', async () => {
    const { ddl, dirtyRelated, dirtyAll } = realShapeSchema();
    await withScratchDatabase(
      (urlA) =>
        withScratchDatabase(async (urlB) => {
          // The app's role owns what it migrates, as in the random cases; the superuser migrates as itself.
          const asApp = by === resetters[0];
          const open = async (url: string) => {
            if (asApp) {
              const superuser = await connect(url);
              await superuser
                .query(
                  `GRANT CREATE ON DATABASE ${superuser.database} TO ${ROLE}; GRANT ALL ON SCHEMA public TO ${ROLE}`,
                )
                .finally(() => superuser.end());
            }
            return connect(asApp ? asRole(url) : url);
          };
          const [a, b] = [await open(urlA), await open(urlB)];
          const reset = await connect(asApp ? asRole(urlA) : urlA);
          try {
            await a.query(ddl);
            await b.query(ddl);
            const resetter = new Resetter(reset, { ownConnection: by === resetters[1] });
            for (const dirty of [dirtyRelated, dirtyAll, dirtyRelated]) {
              await a.query(dirty);
              await b.query(dirty);
              await resetter.reset();
              await truncateEverything(b, '-');
              expect(await snapshot(a)).toEqual(await snapshot(b));
            }
            // Where the role may hold triggers off, no reset here needs a TRUNCATE; the app's role cannot DELETE past them.
            if (!asApp) expect(resetter.counts).toMatchObject({ delete: 3, truncate: 0 });
            else expect(resetter.counts.truncate).toBeGreaterThan(0);
          } finally {
            for (const client of [a, b, reset]) await client.end();
          }
        }, testServerUrl()),
      testServerUrl(),
    );
  }, 120_000);
});

test('the older server, when there is one, takes the probe path without pg_get_sequence_data', async () => {
  if (!olderServer) return expect(older).toBeUndefined();
  const admin = await testAdminClient(olderServer.url);
  try {
    const { rows } = await admin.query(`SELECT to_regproc('pg_catalog.pg_get_sequence_data') IS NULL AS before18`);
    expect(rows).toEqual([{ before18: true }]);
  } finally {
    await admin.end();
  }
});

test.each(resetters)('the random cases reset by %s took every path but the fallback', (by) => {
  expect(used.get(by)).toMatchObject({
    clean: expect.any(Number),
    delete: expect.any(Number),
    truncate: expect.any(Number),
    fallback: 0,
  });
  for (const strategy of ['clean', 'delete', 'truncate'] as const) expect(used.get(by)![strategy]).toBeGreaterThan(0);
});
