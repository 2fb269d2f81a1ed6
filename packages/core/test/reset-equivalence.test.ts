// Fast reset must leave exactly what `TRUNCATE <all> RESTART IDENTITY` leaves.
// Random schemas and data, built twice; one copy reset by pgwork, the other by
// the plain TRUNCATE; then every table and sequence compared.
import type { Client } from 'pg';
import { connect } from '../src/shared/connection';
import { Resetter, applicationTables, qualifiedName } from '../src/worker/reset';
import { withScratchDatabase } from '../src/testing/server';

/** A small seeded PRNG (mulberry32), so a failing seed can be replayed. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: T[]) => items[Math.floor(next() * items.length)]!,
  };
}

interface Table {
  name: string;
  hasId: boolean;
  parent?: string;
  selfRef: boolean;
  partitioned: boolean;
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

function generate(seed: number): { ddl: string; fill: (round: number) => string; bookkeeping: string } {
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
    tables.push({ name, hasId: true, parent: parent?.name, selfRef, partitioned });
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
  ddl.push(`CREATE TABLE public.schema_history (id serial PRIMARY KEY, name text)`);
  ddl.push(`INSERT INTO public.schema_history (name) VALUES ('001'), ('002')`);

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
    sql.push('COMMIT');
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
  return { ddl: ddl.join(';\n'), fill, bookkeeping: 'schema_history' };
}

/** Every table's row count and every sequence's state, straight from the catalog. */
async function snapshot(client: Client): Promise<Record<string, unknown>> {
  const state: Record<string, unknown> = {};
  const tables = await client.query<{ q: string }>(
    `SELECT format('%I.%I', schemaname, tablename) AS q FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
  );
  for (const { q } of tables.rows)
    state[`table ${q}`] = Number((await client.query(`SELECT count(*) AS n FROM ${q}`)).rows[0].n);
  const sequences = await client.query<{ q: string }>(
    `SELECT format('%I.%I', schemaname, sequencename) AS q FROM pg_sequences ORDER BY 1`,
  );
  for (const { q } of sequences.rows) {
    const { rows } = await client.query(`SELECT last_value::text AS v, is_called AS c FROM ${q}`);
    state[`sequence ${q}`] = `${rows[0].v}/${rows[0].c}`;
  }
  return state;
}

async function truncateEverything(client: Client, bookkeeping: string) {
  const tables = await applicationTables(client, { keepTables: [bookkeeping] });
  await client.query(`TRUNCATE ${tables.map(qualifiedName).join(', ')} RESTART IDENTITY`);
}

const SEEDS = Array.from({ length: 12 }, (_, i) => 1000 + i * 7919);
const used = { clean: 0, delete: 0, truncate: 0, fallback: 0 };

describe('fast reset is TRUNCATE <all> RESTART IDENTITY', () => {
  it.each(SEEDS)('on random schema and data #%i', async (seed) => {
    const { ddl, fill, bookkeeping } = generate(seed);
    await withScratchDatabase((urlA) =>
      withScratchDatabase(async (urlB) => {
        const [a, b] = [await connect(urlA), await connect(urlB)];
        try {
          await a.query(ddl);
          await b.query(ddl);
          const resetter = new Resetter(a, { keepTables: [bookkeeping] });
          for (const round of [1, 2, 3]) {
            const data = fill(round);
            await a.query(data);
            await b.query(data);
            expect(await snapshot(a)).toEqual(await snapshot(b));
            await resetter.reset();
            await truncateEverything(b, bookkeeping);
            const after = await snapshot(a);
            expect(after).toEqual(await snapshot(b));
            for (const [key, value] of Object.entries(after)) {
              if (key.startsWith('table ') && !key.includes(bookkeeping) && !key.includes('audit'))
                expect([key, value]).toEqual([key, 0]);
            }
          }
          // A test that adds a table between resets.
          const late = `CREATE TABLE app.late (id serial, v text); INSERT INTO app.late (v) VALUES ('x')`;
          await a.query(late);
          await b.query(late);
          await resetter.reset();
          await truncateEverything(b, bookkeeping);
          expect(await snapshot(a)).toEqual(await snapshot(b));
          await resetter.reset(); // nothing changed since
          for (const key of Object.keys(used) as Array<keyof typeof used>) used[key] += resetter.counts[key];
        } finally {
          await a.end();
          await b.end();
        }
      }),
    );
  });
});

test('the random cases exercised every strategy but the fallback', () => {
  expect(used.clean).toBeGreaterThan(0);
  expect(used.delete).toBeGreaterThan(0);
  expect(used.truncate).toBeGreaterThan(0);
  expect(used.fallback).toBe(0);
});
