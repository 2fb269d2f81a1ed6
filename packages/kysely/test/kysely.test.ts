import { join } from 'node:path';
import { PgworkError, installedPackage, type Adapter } from '@pgwork/core/adapter';
import { describeAdapterConformance } from '@pgwork/core/conformance';
import { migrateInto, withClient, withScratchDatabase } from '@pgwork/core/testing';
import { createAdapter, kysely, type KyselyOptions } from '../src';

// kysely and pg resolve from here to the adapter's devDependencies: kysely 0.27.0, the peer range's floor.
const app = join(__dirname, 'fixtures/app');
const adapterFor = (options: KyselyOptions = {}): Adapter => createAdapter(options, { rootDir: app });

const insertRows = async (client: { query(sql: string): Promise<unknown> }) => {
  await client.query(`INSERT INTO urls (slug) VALUES ('a'), ('b')`);
  await client.query(`INSERT INTO clicks (url_id) VALUES (1), (2)`);
};

describeAdapterConformance('kysely (Migrator)', {
  adapter: () => adapterFor(),
  changedAdapter: () => adapterFor({ migrations: 'migrations-changed' }),
  expectedTables: ['urls', 'clicks', 'kysely_migration', 'kysely_migration_lock'],
  insertRows,
});

describeAdapterConformance('kysely (tables of its own schema)', {
  adapter: () => adapterFor({ migrationTableSchema: 'bookkeeping', migrationTableName: 'applied' }),
  changedAdapter: () => adapterFor({ migrationTableSchema: 'bookkeeping', migrationTableName: 'applied_migrations' }),
  expectedTables: ['urls', 'clicks'],
  insertRows,
});

const rowsOf = (url: string, sql: string) => withClient(url, {}, async (client) => (await client.query(sql)).rows);

describe('kysely specifics', () => {
  it('tests the peer range floor: the installed devDependency', () => {
    const installed = installedPackage('kysely', app)!.version;
    expect(installed).toBe('0.27.0');
    expect(require('../package.json').peerDependencies.kysely).toMatch(
      new RegExp(`^>=${installed.replaceAll('.', '\\.')} `),
    );
  });

  it("records each migration in Kysely's tables, .ts and .js alike, .d.ts skipped", async () => {
    const adapter = adapterFor();
    expect((await adapter.describe()).bookkeepingTables).toEqual([
      'public.kysely_migration',
      'public.kysely_migration_lock',
    ]);
    await withScratchDatabase(async (url, database) => {
      await migrateInto(adapter, url, database);
      expect(await rowsOf(url, 'SELECT name FROM public.kysely_migration ORDER BY name')).toEqual([
        { name: '0001_urls' },
        { name: '0002_clicks' },
      ]);
      expect(await rowsOf(url, 'SELECT id, is_locked FROM public.kysely_migration_lock')).toEqual([
        { id: 'migration_lock', is_locked: 0 },
      ]);
    });
  });

  it('keeps a pinned migrationTableSchema under database isolation, and the worker schema under schema isolation', async () => {
    const adapter = adapterFor({ migrationTableSchema: 'bookkeeping', migrationLockTableName: 'lock' });
    expect((await adapter.describe()).bookkeepingTables).toEqual(['bookkeeping.kysely_migration', 'bookkeeping.lock']);
    await withScratchDatabase(async (url, database) => {
      await migrateInto(adapter, url, database);
      const tables = `SELECT table_schema || '.' || table_name AS name FROM information_schema.tables
                      WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`;
      expect(await rowsOf(url, tables)).toEqual(
        ['bookkeeping.kysely_migration', 'bookkeeping.lock', 'public.clicks', 'public.urls'].map((name) => ({ name })),
      );
      // Two workers' schemas in one database, migrated in turn: each gets its own bookkeeping, pinned or not
      // (unpinned, Kysely's Migrator finds a kysely_migration in any schema and would take w1's for w2's).
      await rowsOf(url, 'DROP SCHEMA bookkeeping CASCADE; DROP TABLE clicks, urls; CREATE SCHEMA w1; CREATE SCHEMA w2');
      for (const [schema, workerAdapter] of [
        ['w1', adapter],
        ['w2', adapterFor()],
      ] as const) {
        const inSchema = `${url}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
        await withClient(inSchema, {}, (client) => workerAdapter.migrate({ url: inSchema, database, client, schema }));
      }
      expect((await rowsOf(url, tables)).map((row) => row.name)).toEqual([
        ...['w1.clicks', 'w1.kysely_migration', 'w1.lock', 'w1.urls'],
        ...['w2.clicks', 'w2.kysely_migration', 'w2.kysely_migration_lock', 'w2.urls'],
      ]);
    });
  });

  it('names the failing migration and its file, with every migration of the run rolled back', async () => {
    await withScratchDatabase(async (url, database) => {
      const failed = await migrateInto(adapterFor({ migrations: 'failing-migrations' }), url, database).catch(
        (error: unknown) => error,
      );
      expect(failed).toBeInstanceOf(PgworkError);
      expect((failed as PgworkError).code).toBe('MIGRATION_FAILED');
      expect((failed as Error).message).toBe(
        `pgwork: Kysely's Migrator failed on migration 0002_broken (failing-migrations/0002_broken.ts): relation "nowhere" does not exist (SQLSTATE 42P01); Kysely rolled back every migration of this run; fix it and run the tests again.`,
      );
      expect(await rowsOf(url, `SELECT to_regclass('urls') AS urls, count(*)::int AS n FROM kysely_migration`)).toEqual(
        [{ urls: null, n: 0 }],
      );
    });
  });

  it('names a migration file that fails to load', async () => {
    await withScratchDatabase(async (url, database) => {
      await expect(migrateInto(adapterFor({ migrations: 'unloadable-migrations' }), url, database)).rejects.toThrow(
        `Kysely's Migrator failed on unloadable-migrations: cannot load migration unloadable-migrations/0001_unloadable.ts: the settings module is not ready; fix it`,
      );
    });
  });

  it('refuses bad options with the fix', async () => {
    expect(() => adapterFor({ migrationTableName: 'public.kysely_migration' })).toThrow(
      'pgwork: kysely({ migrationTableName: "public.kysely_migration" }) is not understood; use a name without dots or spaces, such as "kysely_migration".',
    );
    expect(() => adapterFor({ migrationTableSchema: '' })).toThrow(/migrationTableSchema: "" \}\) is not understood/);
    expect(() => adapterFor({ migrations: 3 as never })).toThrow('kysely({ migrations }) takes a folder path');
    expect(() => adapterFor({ migrations: 'nowhere' }).describe()).toThrow(
      `kysely({ migrations }) points at ${join(app, 'nowhere')}, which is not a directory; create it or fix the kysely({ migrations }) option.`,
    );
  });

  it('gives a serialisable config helper that refuses unknown options', () => {
    expect(JSON.parse(JSON.stringify(kysely({ migrations: 'db/migrations', migrationTableSchema: 'meta' })))).toEqual({
      module: require.resolve('../src/index.ts'),
      options: { migrations: 'db/migrations', migrationTableSchema: 'meta' },
    });
    expect(() => kysely({ migrationsFolder: 'db' } as never)).toThrow(
      'kysely({ migrationsFolder }) is not an option; use migrations, migrationTableName, migrationLockTableName or migrationTableSchema.',
    );
  });
});
