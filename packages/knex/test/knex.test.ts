import { join } from 'node:path';
import { PgworkError, type Adapter } from '@pgwork/core/adapter';
import { describeAdapterConformance } from '@pgwork/core/conformance';
import { migrateInto, withClient, withScratchDatabase } from '@pgwork/core/testing';
import { createAdapter, knex, type KnexOptions } from '../src';

const app = join(__dirname, 'fixtures/app');
const adapterFor = (options: KnexOptions = {}, rootDir = app): Adapter => createAdapter(options, { rootDir });
const describeOf = (options: KnexOptions) => Promise.resolve(adapterFor(options).describe());
const query = (url: string, sql: string) => withClient(url, {}, (client) => client.query(sql)).then((r) => r.rows);

describeAdapterConformance('knex (knexfile.ts, TypeScript migrations)', {
  adapter: () => adapterFor(),
  changedAdapter: () => adapterFor({ knexfile: 'knexfile-changed.ts' }),
  expectedTables: ['urls', 'clicks'],
  async insertRows(client) {
    await client.query(`INSERT INTO urls (slug) VALUES ('a'), ('b')`);
    await client.query('INSERT INTO clicks (url_id) VALUES (1), (2)');
  },
});

describe('knex specifics', () => {
  it('keeps the peer range floor at the knex these tests run', () => {
    const version = require('knex/package.json').version;
    expect(version).toBe('2.5.1');
    expect(require('../package.json').peerDependencies.knex).toBe(`>=${version} <4`);
  });

  it('records every migration in knex_migrations, one batch, and keeps both bookkeeping tables', async () => {
    const adapter = adapterFor();
    expect((await adapter.describe()).bookkeepingTables).toEqual([
      'public.knex_migrations',
      'public.knex_migrations_lock',
    ]);
    await withScratchDatabase(async (url, database) => {
      await migrateInto(adapter, url, database);
      expect(await query(url, 'SELECT name, batch FROM knex_migrations ORDER BY id')).toEqual([
        { name: '20240101000000_urls.ts', batch: 1 },
        { name: '20240102000000_clicks.ts', batch: 1 },
      ]);
      expect(await query(url, 'SELECT is_locked FROM knex_migrations_lock')).toEqual([{ is_locked: 0 }]);
      expect(await query(url, 'SELECT count(*)::int AS n FROM urls')).toEqual([{ n: 0 }]);
    });
  });

  it('runs the seeds only when asked, and counts them in the fingerprint', async () => {
    const seeded = adapterFor({ seeds: true });
    expect((await seeded.describe()).fingerprint).not.toBe((await describeOf({})).fingerprint);
    await withScratchDatabase(async (url, database) => {
      await migrateInto(seeded, url, database);
      expect(await query(url, 'SELECT slug FROM urls ORDER BY id')).toEqual([{ slug: 'home' }, { slug: 'docs' }]);
    });
  });

  it('honours a JavaScript knexfile with TypeScript migrations and its own tableName', async () => {
    const adapter = adapterFor({ knexfile: 'knexfile-plain.js' });
    expect((await adapter.describe()).bookkeepingTables).toEqual(['public.history', 'public.history_lock']);
    await withScratchDatabase(async (url, database) => {
      await migrateInto(adapter, url, database);
      expect(await query(url, 'SELECT count(*)::int AS n FROM history')).toEqual([{ n: 2 }]);
    });
  });

  it("under schema isolation puts tables and bookkeeping in the worker's schema, nothing in public", async () => {
    await withScratchDatabase(async (url, database) => {
      await query(url, 'CREATE SCHEMA worker_1');
      const inSchema = new URL(url);
      inSchema.searchParams.set('options', '-c search_path=worker_1');
      await migrateInto(adapterFor(), inSchema.toString(), database, 'worker_1');
      const tables = `SELECT table_schema || '.' || table_name AS t FROM information_schema.tables
        WHERE table_schema IN ('public', 'worker_1') ORDER BY 1`;
      expect((await query(url, tables)).map((row) => row.t)).toEqual([
        'worker_1.clicks',
        'worker_1.knex_migrations',
        'worker_1.knex_migrations_lock',
        'worker_1.urls',
      ]);
    });
  });

  it('leaves schema isolation out when the knexfile pins a schema, and puts bookkeeping there', async () => {
    const description = await describeOf({ knexfile: 'knexfile-pinned.ts' });
    expect(description.isolation).toEqual(['database', 'server']);
    expect(description.limits?.schema).toBe(
      `the knexfile sets migrations.schemaName "audit", which Knex uses over the worker's schema`,
    );
    expect(description.bookkeepingTables).toEqual(['audit.schema_history', 'audit.schema_history_lock']);
    expect((await describeOf({})).isolation).toEqual(['database', 'schema', 'server']);
  });

  it("names a failing migration's file and Postgres' message in one line, and leaves nothing of its batch", async () => {
    await withScratchDatabase(async (url, database) => {
      const failing = migrateInto(adapterFor({ knexfile: 'knexfile-failing.ts' }), url, database);
      await expect(failing).rejects.toMatchObject({ code: 'MIGRATION_FAILED' });
      await expect(failing).rejects.toThrow(
        /^pgwork: Knex migrate\.latest\(\) failed in migration 20240102000000_broken\.ts: alter table "nowhere" add column "x" integer - relation "nowhere" does not exist \(SQLSTATE 42P01\); fix that migration\.?$/,
      );
      // Knex runs a batch in one transaction on Postgres: the migration before the broken one is rolled back too.
      expect(await query(url, 'SELECT name FROM knex_migrations')).toEqual([]);
      expect(await query(url, `SELECT to_regclass('urls') AS urls`)).toEqual([{ urls: null }]);
    });
  });

  it('explains bad options and knexfiles in one line with the fix', async () => {
    expect(() => adapterFor({ seeds: 'yes' as never })).toThrow('knex({ seeds: "yes" }) needs a boolean.');
    expect(() => adapterFor({ environment: 3 as never })).toThrow('knex({ environment: 3 }) needs a string.');
    await expect(describeOf({ knexfile: 'nope.ts' })).rejects.toThrow(
      /knex\(\{ knexfile \}\) points at .*nope\.ts, which is not a file; create it or fix the knex\(\{ knexfile \}\) option/,
    );
    await expect(Promise.resolve(adapterFor({}, __dirname).describe())).rejects.toThrow(
      /knex\(\{ knexfile \}\) points at .*test\/knexfile\.ts, which is not a file; create it or fix the knex\(\{ knexfile \}\) option/,
    );
    const missing = describeOf({ environment: 'staging' });
    await expect(missing).rejects.toBeInstanceOf(PgworkError);
    await expect(missing).rejects.toThrow(
      'cannot load the knexfile knexfile.ts: it has no "staging" environment (it has development, test); name one with knex({ environment })',
    );
    await expect(describeOf({ knexfile: 'knexfile-mysql.js' })).rejects.toThrow(
      'cannot load the knexfile knexfile-mysql.js: its client is "mysql2"; pgwork needs "pg"',
    );
  });

  it('reads the same knexfile section with NODE_ENV unset (the pgwork CLI, node:test, Mocha) as under Jest', async () => {
    const underJest = (await describeOf({})).fingerprint;
    const nodeEnv = process.env.NODE_ENV;
    delete process.env.NODE_ENV;
    try {
      expect((await describeOf({})).fingerprint).toBe(underJest);
    } finally {
      process.env.NODE_ENV = nodeEnv;
    }
    expect((await describeOf({ environment: 'development' })).fingerprint).not.toBe(underJest);
  });

  it('gives a serialisable config helper that refuses unknown options', () => {
    expect(JSON.parse(JSON.stringify(knex({ knexfile: 'db/knexfile.ts', seeds: true })))).toEqual({
      module: require.resolve('../src/index.ts'),
      options: { knexfile: 'db/knexfile.ts', seeds: true },
    });
    expect(() => knex({ directory: 'migrations' } as never)).toThrow(
      'knex({ directory }) is not an option; use knexfile, environment or seeds.',
    );
  });
});
