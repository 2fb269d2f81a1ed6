import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import { PgworkError, type Adapter } from '@pgwork/core/adapter';
import { describeAdapterConformance } from '@pgwork/core/conformance';
import { migrateInto, withClient, withScratchDatabase } from '@pgwork/core/testing';
import { createAdapter, sequelize, type SequelizeOptions } from '../src';

const app = join(__dirname, 'fixtures/app');
const adapterFor = (options: Partial<SequelizeOptions> = {}): Adapter =>
  createAdapter({ sequelize: 'src/db.ts', ...options }, { rootDir: app });

async function insertRows(client: Client) {
  await client.query(`INSERT INTO urls (slug, target) VALUES ('a', 'https://a.example'), ('b', 'https://b.example')`);
  await client.query('INSERT INTO clicks (url_id) VALUES (1), (2)');
}

describeAdapterConformance('sequelize (migrations)', {
  adapter: () => adapterFor(),
  changedAdapter: () => adapterFor({ migrations: 'migrations-changed' }),
  expectedTables: ['urls', 'clicks', 'SequelizeMeta'],
  insertRows,
});

describeAdapterConformance('sequelize (sync)', {
  adapter: () => adapterFor({ migrate: 'sync' }),
  changedAdapter: () => adapterFor({ sequelize: 'src/db-changed.ts', migrate: 'sync' }),
  expectedTables: ['urls', 'clicks'],
  insertRows,
});

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as Error,
  );
const tablesIn = (client: Client, schema: string) =>
  client
    .query(`SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1`, [schema])
    .then(({ rows }) => rows.map((row) => row.tablename));

describe('sequelize specifics', () => {
  it('requires the peer floors it is tested on: sequelize 6.29.0, umzug 3.0.0', () => {
    const peers = require('../package.json').peerDependencies;
    for (const name of ['sequelize', 'umzug']) {
      const installed = require(require.resolve(`${name}/package.json`, { paths: [app] })).version;
      expect(peers[name]).toMatch(new RegExp(`^>=${installed.replaceAll('.', '\\.')} <`));
    }
    expect(require(require.resolve('sequelize/package.json', { paths: [app] })).version).toBe('6.29.0');
    expect(require(require.resolve('umzug/package.json', { paths: [app] })).version).toBe('3.0.0');
  });

  it('records each migration by file name in public.SequelizeMeta, and has no bookkeeping under sync()', async () => {
    const adapter = adapterFor();
    expect((await adapter.describe()).bookkeepingTables).toEqual(['public.SequelizeMeta']);
    // No migrations folder: sync(), and no bookkeeping.
    const withoutFolder = createAdapter({ sequelize: 'db.ts' }, { rootDir: join(app, 'src') });
    expect((await withoutFolder.describe()).bookkeepingTables).toEqual([]);
    await withScratchDatabase(async (url, database) => {
      await migrateInto(adapter, url, database);
      const { rows } = await withClient(url, {}, (client) =>
        client.query('SELECT name FROM "SequelizeMeta" ORDER BY 1'),
      );
      expect(rows).toEqual([
        { name: '20240101000000-create-urls.js' },
        { name: '20240102000000-create-clicks.js' },
        { name: '20240103000000-add-created-at.js' },
      ]);
    });
  });

  it('runs TypeScript migrations (export default) for a JavaScript module, through the project loader, not .d.ts files', async () => {
    const adapter = adapterFor({ sequelize: 'src/db-plain.js', migrations: 'ts-migrations' });
    await withScratchDatabase(async (url, database) => {
      await migrateInto(adapter, url, database);
      const { rows } = await withClient(url, {}, (client) => client.query('SELECT name FROM "SequelizeMeta"'));
      expect(rows).toEqual([{ name: '20240101000000-create-urls.ts' }]);
    });
  });

  it('migrates into the worker schema under schema isolation, bookkeeping included', async () => {
    await withScratchDatabase(async (url, database) => {
      await withClient(url, {}, (client) => client.query('CREATE SCHEMA w1'));
      const inSchema = new URL(url);
      inSchema.searchParams.set('options', '-c search_path=w1');
      for (const options of [{}, { migrate: 'sync' as const }]) {
        await withClient(url, {}, (client) => client.query('DROP SCHEMA w1 CASCADE; CREATE SCHEMA w1'));
        await migrateInto(adapterFor(options), inSchema.toString(), database, 'w1');
        const [own, pub] = await withClient(url, {}, (c) => Promise.all([tablesIn(c, 'w1'), tablesIn(c, 'public')]));
        expect(own).toEqual(options.migrate ? ['clicks', 'urls'] : ['SequelizeMeta', 'clicks', 'urls']);
        expect(pub).toEqual([]);
      }
      const ownOptions = adapterFor({ sequelize: 'src/db-own-options.ts' });
      await expect(migrateInto(ownOptions, inSchema.toString(), database, 'w1')).rejects.toThrow(
        /^pgwork: src\/db-own-options\.ts connects with search_path "public", not DATABASE_URL's "w1"; pass the URL itself/,
      );
    });
  });

  it('names the failing migration file and Postgres message, keeping the ones before it', async () => {
    await withScratchDatabase(async (url, database) => {
      const error = await rejection(migrateInto(adapterFor({ migrations: 'failing-migrations' }), url, database));
      expect(error).toBeInstanceOf(PgworkError);
      expect(error).toMatchObject({ code: 'MIGRATION_FAILED' });
      expect(error?.message).toMatch(
        /^pgwork: Sequelize migration failing-migrations\/20240102000000-broken\.js failed: relation "public\.nowhere" does not exist \(SQLSTATE 42P01\)/,
      );
      expect(error?.message).not.toContain('\n');
      const { rows } = await withClient(url, {}, (client) => client.query('SELECT name FROM "SequelizeMeta"'));
      expect(rows).toEqual([{ name: '20240101000000-create-urls.js' }]);
    });
  });

  it('refuses a module whose instance does not take its database from DATABASE_URL', async () => {
    await withScratchDatabase(async (url, database) => {
      const adapter = adapterFor({ sequelize: 'src/db-elsewhere.ts', migrate: 'sync' });
      await expect(migrateInto(adapter, url, database)).rejects.toThrow(
        `pgwork: src/db-elsewhere.ts gives a Sequelize instance on database "my_dev_db", not DATABASE_URL's "${database}"; build it with new Sequelize(process.env.DATABASE_URL, ...)`,
      );
    });
  });

  it('leaves schema isolation out when the instance or a model sets a schema, which Sequelize writes into table names', async () => {
    const description = await adapterFor({ sequelize: 'src/db-pinned.ts', migrate: 'sync' }).describe();
    expect(description.isolation).toEqual(['database', 'server']);
    expect(description.limits?.schema).toBe('Sequelize writes schema audit (the schema option) into table names');
    expect((await adapterFor().describe()).isolation).toEqual(['database', 'schema', 'server']);
    const instanceSchema = await adapterFor({ sequelize: 'src/db-schema.ts' }).describe();
    expect(instanceSchema).toMatchObject({
      bookkeepingTables: ['app.SequelizeMeta'],
      isolation: ['database', 'server'],
    });
  });

  it('explains bad options and modules in one line naming the fix', async () => {
    expect(() => createAdapter({} as SequelizeOptions, { rootDir: app })).toThrow(
      'pgwork: sequelize({ sequelize }) needs the path of the module that exports your Sequelize instance, e.g. "src/db.ts".',
    );
    expect(() => adapterFor({ migrate: 'push' as never })).toThrow(
      /sequelize\(\{ migrate: "push" \}\) is not understood; use "migrations" or "sync"/,
    );
    expect(() => adapterFor({ sequelize: 'src/nope.ts' })).toThrow(
      `pgwork: sequelize({ sequelize }) points at ${join(app, 'src/nope.ts')}, which is not a file; create it or fix the sequelize({ sequelize }) option.`,
    );
    expect(() => adapterFor({ migrations: 'db/migrations' })).toThrow(
      /sequelize\(\{ migrations \}\) points at .*db\/migrations, which is not a directory/,
    );
    const broken = await rejection(Promise.resolve(adapterFor({ sequelize: 'src/db-broken.ts' }).describe()));
    expect(broken).toBeInstanceOf(PgworkError);
    expect(broken?.message).toBe(
      'pgwork: cannot load the Sequelize instance from src/db-broken.ts: the configuration service is not ready.',
    );
    await expect(adapterFor({ sequelize: 'src/two-instances.ts' }).describe()).rejects.toThrow(
      `the module exports 2 Sequelize instances; name one with sequelize({ export: "..." })`,
    );
    await expect(
      adapterFor({ sequelize: 'src/two-instances.ts', export: 'replica' }).describe(),
    ).resolves.toMatchObject({
      reset: ['empty', 'transaction'],
    });
    // No umzug 3 where the project resolves it (none, or sequelize-cli's umzug 2 hoisted by npm): said up front.
    // In plain Node without pnpm's NODE_PATH (its .pnpm/node_modules holds an umzug 3): Jest's resolver sees it too.
    const bare = mkdtempSync(join(tmpdir(), 'pgwork-sequelize-'));
    try {
      writeFileSync(join(bare, 'db.js'), '');
      mkdirSync(join(bare, 'migrations'));
      const create = `createAdapter({ sequelize: 'db.js' }, { rootDir: ${JSON.stringify(bare)} })`;
      const script = `require(${JSON.stringify(join(__dirname, '../dist'))}).${create}`;
      const env = { ...process.env, NODE_PATH: '' };
      expect(spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env }).stderr).toContain(
        'pgwork: Sequelize migrations need umzug 3, found none; install it.',
      );
      expect(() => createAdapter({ sequelize: 'db.js', migrate: 'sync' }, { rootDir: bare })).not.toThrow();
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  it('fingerprints which export holds the instance', async () => {
    const [primary, replica] = await Promise.all(
      ['primary', 'replica'].map((name) => adapterFor({ sequelize: 'src/two-instances.ts', export: name }).describe()),
    );
    expect(primary.fingerprint).not.toBe(replica.fingerprint);
  });

  it('gives a serialisable config helper that refuses unknown options', () => {
    expect(JSON.parse(JSON.stringify(sequelize({ sequelize: 'src/db.ts', migrate: 'sync' })))).toEqual({
      module: require.resolve('../src/index.ts'),
      options: { sequelize: 'src/db.ts', migrate: 'sync' },
    });
    expect(() => sequelize({ sequelize: 'src/db.ts', schema: 'app' } as never)).toThrow(
      'pgwork: sequelize({ schema }) is not an option; use sequelize, export, migrate or migrations.',
    );
  });
});
