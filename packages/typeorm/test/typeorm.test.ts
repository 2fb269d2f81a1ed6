import { join } from 'node:path';
import { PgworkError, type Adapter } from '@pgwork/core/adapter';
import { describeAdapterConformance } from '@pgwork/core/conformance';
import { migrateInto, withClient, withScratchDatabase } from '@pgwork/core/testing';
import { createAdapter, typeorm, workerDataSourceOptions, type TypeormOptions } from '../src';

const fingerprintOf = async (adapter: Adapter) => (await adapter.describe()).fingerprint;

const app = join(__dirname, 'fixtures/app');
const adapterFor = (options: Partial<TypeormOptions> = {}, rootDir = app): Adapter =>
  createAdapter({ dataSource: 'src/data-source.ts', ...options }, { rootDir });

describeAdapterConformance('typeorm (synchronize)', {
  adapter: () => adapterFor(),
  changedAdapter: () => adapterFor({ dataSource: 'src/data-source-changed.ts' }),
  expectedTables: ['urls', 'clicks'],
  async insertRows(client) {
    await client.query(`INSERT INTO urls (slug) VALUES ('a'), ('b')`);
    await client.query(`INSERT INTO clicks ("urlId") VALUES (1), (2)`);
  },
});

describeAdapterConformance('typeorm (migrations)', {
  adapter: () => adapterFor({ dataSource: 'src/data-source-migrations.ts' }),
  changedAdapter: () => adapterFor({ dataSource: 'src/data-source-migrations.ts', migrate: 'synchronize' }),
  expectedTables: ['urls', 'clicks', 'schema_history'],
  async insertRows(client) {
    await client.query(`INSERT INTO urls (slug) VALUES ('a')`);
  },
});

// An app on TypeORM 0.3.17, the peer range's floor (its own node_modules): the adapter loads the project's typeorm.
const app03 = join(__dirname, 'fixtures/typeorm03-app');

describeAdapterConformance('typeorm 0.3 (synchronize)', {
  adapter: () => adapterFor({}, app03),
  changedAdapter: () => adapterFor({ migrate: 'migrations' }, app03),
  expectedTables: ['urls', 'clicks'],
  async insertRows(client) {
    await client.query(`INSERT INTO urls (slug) VALUES ('a'), ('b')`);
    await client.query(`INSERT INTO clicks (visitor, "urlId") VALUES ('v', 1), ('w', 2)`);
  },
});

describe('typeorm specifics', () => {
  it('builds a TypeORM 0.3 app with its own typeorm, column types from decorator metadata', async () => {
    // The oldest TypeORM the peer range allows.
    const version = require(join(app03, 'node_modules/typeorm/package.json')).version;
    expect(require('../package.json').peerDependencies.typeorm).toBe(`>=${version} <2`);
    expect(await fingerprintOf(adapterFor({}, app03))).not.toBe(await fingerprintOf(adapterFor()));
    await withScratchDatabase(async (url, database) => {
      await migrateInto(adapterFor({}, app03), url, database);
      const { rows } = await withClient(url, {}, (client) =>
        client.query(
          `SELECT table_name, column_name, data_type FROM information_schema.columns
           WHERE table_schema = 'public' AND column_name IN ('slug', 'visitor', 'createdAt') ORDER BY 1, 2`,
        ),
      );
      expect(rows).toEqual([
        { table_name: 'clicks', column_name: 'visitor', data_type: 'character varying' },
        { table_name: 'urls', column_name: 'createdAt', data_type: 'timestamp without time zone' },
        { table_name: 'urls', column_name: 'slug', data_type: 'character varying' },
      ]);
    });
  });

  it('runs the declared migrations and keeps their table out of reset', async () => {
    const adapter = adapterFor({ dataSource: 'src/data-source-migrations.ts' });
    expect((await adapter.describe()).bookkeepingTables).toEqual(['public.schema_history', 'public.typeorm_metadata']);
    await withScratchDatabase(async (url, database) => {
      await migrateInto(adapter, url, database);
      const { rows } = await withClient(url, {}, (client) => client.query('SELECT name FROM schema_history'));
      expect(rows).toEqual([{ name: 'Init1700000000000' }]);
    });
  });

  it('names the statement a failing migration ran, rolling that migration back', async () => {
    await withScratchDatabase(async (url, database) => {
      const adapter = adapterFor({ dataSource: 'src/data-source-failing.ts' });
      await expect(migrateInto(adapter, url, database)).rejects.toThrow(
        /^TypeORM runMigrations failed: relation "nowhere" does not exist \(while running: ALTER TABLE "nowhere" ADD COLUMN "x" integer\)$/,
      );
      const { rows } = await withClient(url, {}, (client) => client.query('SELECT count(*)::int AS n FROM migrations'));
      expect(rows).toEqual([{ n: 0 }]);
    });
  });

  it('explains a DataSource module that fails to load, and a non-Postgres DataSource', async () => {
    const broken = await Promise.resolve(fingerprintOf(adapterFor({ dataSource: 'src/data-source-broken.ts' }))).catch(
      (e: unknown) => e,
    );
    expect(broken).toBeInstanceOf(PgworkError);
    expect((broken as Error).message).toMatch(
      /cannot load the DataSource from src\/data-source-broken\.ts: the configuration service is not ready/,
    );
    await expect(fingerprintOf(adapterFor({ dataSource: 'src/data-source-mysql.ts' }))).rejects.toThrow(
      /is type "mysql"; pgwork needs "postgres"/,
    );
    expect(() => createAdapter({} as TypeormOptions, { rootDir: app })).toThrow(
      /typeorm\(\{ dataSource \}\) needs the path/,
    );
    expect(() => adapterFor({ migrate: 'push' as never })).toThrow(
      /typeorm\(\{ migrate: "push" \}\) is not understood; use "synchronize" or "migrations"/,
    );
  });

  it('aims DataSource options at the worker database only under pgwork', () => {
    const options = { type: 'postgres', host: 'db', port: 5432, database: 'app_dev', entities: [] };
    expect(workerDataSourceOptions(options, {})).toBe(options);
    const state = {
      version: 1,
      mode: 'database',
      runId: 'abcd1234',
      server: { url: 'postgres://u:p@127.0.0.1:5/postgres', source: 'test' },
      baseName: 'app',
      protectedDatabases: [],
    };
    const aimed = workerDataSourceOptions(options, { PGWORK_RUN: JSON.stringify(state), JEST_WORKER_ID: '3' });
    expect(aimed).toMatchObject({
      type: 'postgres',
      url: 'postgres://u:p@127.0.0.1:5/app_abcd1234_w3',
      host: undefined,
      database: undefined,
      synchronize: false,
    });
  });

  it('gives a serialisable config helper', () => {
    expect(JSON.parse(JSON.stringify(typeorm({ dataSource: 'src/ds.ts' })))).toEqual({
      module: require.resolve('../src/index.ts'),
      options: { dataSource: 'src/ds.ts' },
    });
    expect(() => typeorm({ dataSource: 'src/ds.ts', reset: 'rebuild' } as never)).toThrow(
      `pgwork: typeorm({ reset }) is no longer an option; use withPgwork's reset: "transaction", which rolls back a test's schema changes too.`,
    );
  });
});
