import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Adapter } from '@pgwork/core/adapter';
import { describeAdapterConformance } from '@pgwork/core/conformance';
import { migrateInto, withClient, withScratchDatabase } from '@pgwork/core/testing';
import { createAdapter, nodePgMigrate, type NodePgMigrateOptions } from '../src';

// A project with SQL, TypeScript and JavaScript migrations, on node-pg-migrate 7 (the peer floor, CommonJS).
const app = join(__dirname, 'fixtures/app');
const adapterFor = (options: NodePgMigrateOptions = {}): Adapter => createAdapter(options, { rootDir: app });

describeAdapterConformance('node-pg-migrate (SQL, TS and JS migrations)', {
  adapter: () => adapterFor(),
  changedAdapter: () => adapterFor({ migrations: 'migrations-changed' }),
  expectedTables: ['urls', 'clicks', 'pgmigrations'],
  async insertRows(client) {
    await client.query(`INSERT INTO urls (slug) VALUES ('a'), ('b')`);
    await client.query(`INSERT INTO clicks (url_id, visitor) VALUES (1, 'v'), (2, 'w')`);
  },
});

const appliedNames = (url: string, table: string) =>
  withClient(url, {}, async (client) => (await client.query(`SELECT name FROM ${table} ORDER BY id`)).rows);

describe('node-pg-migrate specifics', () => {
  it('is tested on the oldest node-pg-migrate its peer range allows', () => {
    const installed = require('node-pg-migrate/package.json').version;
    expect(installed).toBe('7.0.0');
    expect(require('../package.json').peerDependencies['node-pg-migrate']).toBe(`>=${installed} <10`);
  });

  it('records every migration in pgmigrations, which it declares as bookkeeping', async () => {
    const adapter = adapterFor();
    expect((await adapter.describe()).bookkeepingTables).toEqual(['public.pgmigrations']);
    await withScratchDatabase(async (url, database) => {
      await migrateInto(adapter, url, database);
      expect(await appliedNames(url, 'public.pgmigrations')).toEqual([
        { name: '1700000000000_urls' },
        { name: '1700000000001_clicks' },
        { name: '1700000000002_visitor' },
      ]);
    });
  });

  it('keeps its table where migrationsTable and migrationsSchema say, and refuses schema isolation then', async () => {
    const adapter = adapterFor({ migrationsTable: 'history', migrationsSchema: 'meta' });
    const description = await adapter.describe();
    expect(description.bookkeepingTables).toEqual(['meta.history']);
    expect(description.isolation).toEqual(['database', 'server']);
    expect(description.limits?.schema).toBe(
      `migrationsSchema "meta" keeps the migrations table out of a worker's schema; use isolation "database", or leave it out`,
    );
    expect(description.fingerprint).not.toBe((await adapterFor().describe()).fingerprint);
    await withScratchDatabase(async (url, database) => {
      await migrateInto(adapter, url, database);
      expect(await appliedNames(url, 'meta.history')).toHaveLength(3);
      const { rows } = await withClient(url, {}, (client) => client.query(`SELECT to_regclass('public.urls') AS t`));
      expect(rows).toEqual([{ t: 'urls' }]);
    });
  });

  it("builds workers' schemas side by side in one database, each with its own pgmigrations", async () => {
    await withScratchDatabase(async (url, database) => {
      const schemas = ['w1', 'w2', 'w3', 'w4'];
      await withClient(url, {}, (client) => client.query(schemas.map((s) => `CREATE SCHEMA ${s};`).join('')));
      // At once, as schema isolation builds them: node-pg-migrate's one advisory lock would fail all but one.
      await Promise.all(schemas.map((schema) => migrateInto(adapterFor(), url, database, schema)));
      const { rows } = await withClient(url, {}, (client) =>
        client.query(`SELECT table_schema AS schema, count(*)::int AS tables FROM information_schema.tables
                      WHERE table_name IN ('urls', 'clicks', 'pgmigrations') GROUP BY 1 ORDER BY 1`),
      );
      expect(rows).toEqual(schemas.map((schema) => ({ schema, tables: 3 })));
      for (const schema of schemas) expect(await appliedNames(url, `${schema}.pgmigrations`)).toHaveLength(3);
    });
  });

  it("names a failing migration, with Postgres' words and where in the file, and rolls every migration back", async () => {
    await withScratchDatabase(async (url, database) => {
      await expect(migrateInto(adapterFor({ migrations: 'migrations-failing' }), url, database)).rejects.toThrow(
        /^pgwork: node-pg-migrate failed in \S+migrations-failing: migration 1700000000001_broken failed: column "nope" of relation "urls" does not exist \(SQLSTATE 42703\) at line 3, column 25$/,
      );
      expect(await appliedNames(url, 'pgmigrations')).toEqual([]);
      const { rows } = await withClient(url, {}, (client) => client.query(`SELECT to_regclass('urls') AS t`));
      expect(rows).toEqual([{ t: null }]);
    });
  });

  it('names a migration whose own code throws', async () => {
    await withScratchDatabase(async (url, database) => {
      const error = await migrateInto(adapterFor({ migrations: 'migrations-throwing' }), url, database).catch(
        (e: unknown) => e as Error & { code?: string },
      );
      expect(error?.code).toBe('MIGRATION_FAILED');
      expect(error?.message).toMatch(/: migration 1700000000001_seed failed: the seed file is missing$/);
    });
  });

  it('explains bad options in one line naming the fix', () => {
    expect(() => adapterFor({ migrations: 'nowhere' }).describe()).toThrow(
      /^pgwork: nodePgMigrate\(\{ migrations \}\) points at \S+nowhere, which is not a directory; create it or fix the nodePgMigrate\(\{ migrations \}\) option\.$/,
    );
    expect(() => adapterFor({ migrationsTable: '' })).toThrow(
      'pgwork: nodePgMigrate({ migrationsTable: "" }) needs a name, e.g. "pgmigrations".',
    );
    expect(() => adapterFor({ migrations: 3 as never })).toThrow(
      'pgwork: nodePgMigrate({ migrations: 3 }) needs a name, e.g. "db/migrations".',
    );
    // A project without node-pg-migrate, in a Node without the NODE_PATH `pnpm exec` sets (which reaches every package).
    const bare = mkdtempSync(join(tmpdir(), 'pgwork-npm-'));
    mkdirSync(join(bare, 'migrations'));
    const script = `require(${JSON.stringify(join(__dirname, '../dist'))}).createAdapter({}, { rootDir: ${JSON.stringify(bare)} }).describe()`;
    const run = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      env: { ...process.env, NODE_PATH: '' },
    });
    expect(run.stderr).toContain(
      `pgwork: nodePgMigrate() needs node-pg-migrate in ${bare}; install it (pnpm add -D node-pg-migrate).`,
    );
    rmSync(bare, { recursive: true });
  });

  it('gives a serialisable config helper that refuses unknown options', () => {
    expect(JSON.parse(JSON.stringify(nodePgMigrate({ migrations: 'db/migrations' })))).toEqual({
      module: require.resolve('../src/index.ts'),
      options: { migrations: 'db/migrations' },
    });
    expect(() => nodePgMigrate({ dir: 'migrations' } as never)).toThrow(
      'pgwork: nodePgMigrate({ dir }) is not an option; use migrations, migrationsTable or migrationsSchema.',
    );
  });
});
