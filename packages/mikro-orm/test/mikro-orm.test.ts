import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PgworkError, type Adapter } from '@pgwork/core/adapter';
import { describeAdapterConformance } from '@pgwork/core/conformance';
import { migrateInto, withClient, withScratchDatabase } from '@pgwork/core/testing';
import { createAdapter, mikroOrm, type MikroOrmOptions } from '../src';

const app = join(__dirname, 'fixtures/app');
const adapterFor = (options: MikroOrmOptions = {}, rootDir = app): Adapter => createAdapter(options, { rootDir });
const describeWith = (options: MikroOrmOptions) => Promise.resolve(adapterFor(options).describe());

async function insertRows(client: { query(sql: string): Promise<unknown> }) {
  await client.query(`INSERT INTO urls (slug, target) VALUES ('a', 'https://a'), ('b', 'https://b')`);
  await client.query('INSERT INTO clicks (url_id) VALUES (1), (2)');
}

// The default config (src/mikro-orm.config.ts) and its ./migrations folder: the Migrator.
describeAdapterConformance('mikro-orm (migrations)', {
  adapter: () => adapterFor(),
  changedAdapter: () => adapterFor({ config: 'src/changed.config.ts' }),
  expectedTables: ['urls', 'clicks', 'mikro_orm_migrations'],
  insertRows,
});

// A config exported as an async function, built by the SchemaGenerator from its entities.
describeAdapterConformance('mikro-orm (schema)', {
  adapter: () => adapterFor({ config: 'src/async.config.ts', migrate: 'schema' }),
  changedAdapter: () => adapterFor({ config: 'src/changed.config.ts', migrate: 'schema' }),
  expectedTables: ['urls', 'clicks'],
  insertRows,
});

describe('mikro-orm specifics', () => {
  it('declares the installed MikroORM (6.1.0) as the floor of every peer range', async () => {
    // The devDependencies are the oldest MikroORM the peer ranges allow: these tests run on the floor.
    const version = require('@mikro-orm/core/package.json').version;
    const peers = require('../package.json').peerDependencies;
    for (const name of ['@mikro-orm/core', '@mikro-orm/postgresql', '@mikro-orm/migrations']) {
      expect([name, peers[name]]).toEqual([name, `>=${version} <7`]);
    }
    expect(version).toBe('6.1.0');
  });

  it('runs the migrations folder with the Migrator, records them, and keeps its table out of reset', async () => {
    const adapter = adapterFor();
    const description = await adapter.describe();
    expect(description.bookkeepingTables).toEqual(['public.mikro_orm_migrations']);
    const folder = readdirSync(join(app, 'migrations'));
    await withScratchDatabase(async (url, database) => {
      await migrateInto(adapter, url, database);
      const { rows } = await withClient(url, {}, (client) => client.query('SELECT name FROM mikro_orm_migrations'));
      expect(rows).toEqual([{ name: 'Migration20250101000000_Init' }]);
    });
    // No .snapshot-<database>.json left in the user's folder (it would change the fingerprint every run).
    expect(readdirSync(join(app, 'migrations'))).toEqual(folder);
  });

  it('picks the strategy from the migrations folder, and builds entities alone with "schema"', async () => {
    const schema = await describeWith({ migrate: 'schema' });
    expect(schema.bookkeepingTables).toEqual([]);
    expect(schema.fingerprint).not.toBe((await describeWith({})).fingerprint);
    await withScratchDatabase(async (url, database) => {
      await migrateInto(adapterFor({ migrate: 'schema' }), url, database);
      const { rows } = await withClient(url, {}, (client) =>
        client.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`),
      );
      expect(rows).toEqual([{ table_name: 'clicks' }, { table_name: 'urls' }]);
    });
  });

  it('names the failing migration and Postgres message, rolling every migration back', async () => {
    await withScratchDatabase(async (url, database) => {
      const failed = await migrateInto(adapterFor({ config: 'src/failing.config.ts' }), url, database).catch(
        (e: unknown) => e,
      );
      expect(failed).toBeInstanceOf(PgworkError);
      expect(failed).toMatchObject({ code: 'MIGRATION_FAILED' });
      expect((failed as Error).message).toBe(
        'pgwork: MikroORM migration Migration20250102000000_Broken failed: relation "nowhere" does not exist',
      );
      const { rows } = await withClient(url, {}, (client) =>
        client.query(`SELECT count(*)::int AS n FROM pg_tables WHERE tablename IN ('urls', 'clicks')`),
      );
      expect(rows).toEqual([{ n: 0 }]);
    });
  });

  it('refuses a non-Postgres config, and explains a config module that fails to load', async () => {
    await expect(describeWith({ config: 'src/mysql.config.ts' })).rejects.toThrow(
      /the config's driver is MySqlDriver; pgwork needs PostgreSqlDriver from @mikro-orm\/postgresql/,
    );
    await expect(describeWith({ config: 'src/broken.config.ts' })).rejects.toThrow(
      /cannot load the MikroORM config .*broken\.config\.ts: the configuration service is not ready/,
    );
  });

  it('refuses MIKRO_ORM_* connection variables from a .env, which would aim the app elsewhere', async () => {
    const dotenv = adapterFor({}, join(__dirname, 'fixtures/dotenv-app'));
    await expect(Promise.resolve(dotenv.describe())).rejects.toThrow(
      /: MIKRO_ORM_CLIENT_URL \(set in the environment or \.env\) overrides the config's clientUrl; unset it for tests\.$/,
    );
  });

  it('leaves schema isolation out when an entity names its own schema', async () => {
    const description = await describeWith({ config: 'src/qualified.config.ts', migrate: 'schema' });
    expect(description.isolation).toEqual(['database', 'server']);
    expect(description.limits?.schema).toBe(
      'the config or an entity sets schema "audit", which MikroORM writes into table names',
    );
    expect((await describeWith({})).isolation).toEqual(['database', 'schema', 'server']);
  });

  it('explains bad options in one line naming the fix', () => {
    expect(() => adapterFor({ migrate: 'push' as never })).toThrow(
      'pgwork: mikroOrm({ migrate: "push" }) is not understood; use "migrations" or "schema".',
    );
    expect(() => adapterFor({ config: 'src/nope.ts' })).toThrow(
      /mikroOrm\(\{ config \}\) points at .*src\/nope\.ts, which is not a file; create it or fix the mikroOrm\(\{ config \}\) option/,
    );
    expect(() => adapterFor({}, __dirname)).toThrow(
      /no MikroORM config in .*test \(src\/mikro-orm\.config\.ts, mikro-orm\.config\.ts, .*\); create one or name it with mikroOrm\(\{ config: "\.\.\." \}\)/,
    );
  });

  it('gives a serialisable config helper that refuses unknown options', () => {
    expect(JSON.parse(JSON.stringify(mikroOrm({ config: 'src/orm.ts', migrate: 'schema' })))).toEqual({
      module: require.resolve('../src/index.ts'),
      options: { config: 'src/orm.ts', migrate: 'schema' },
    });
    expect(mikroOrm().options).toEqual({});
    expect(() => mikroOrm({ dataSource: 'x' } as never)).toThrow(
      'pgwork: mikroOrm({ dataSource }) is not an option; use config, export or migrate.',
    );
  });
});
