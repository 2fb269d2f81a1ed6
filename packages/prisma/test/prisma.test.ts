import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgworkError, type Adapter } from '@pgwork/core/adapter';
import { describeAdapterConformance } from '@pgwork/core/conformance';
import { migrateInto, withClient, withScratchDatabase } from '@pgwork/core/testing';
import { createAdapter, migrationDirectories, prisma, type PrismaOptions } from '../src';

const fingerprintOf = async (adapter: Adapter) => (await adapter.describe()).fingerprint;

const app = join(__dirname, 'fixtures/app');
const adapterFor = (options: PrismaOptions = {}, rootDir = app): Adapter => createAdapter(options, { rootDir });

describeAdapterConformance('prisma', {
  adapter: () => adapterFor(),
  changedAdapter: () => adapterFor({ migrations: 'changed-migrations' }),
  expectedTables: ['urls', 'clicks', '_prisma_migrations'],
  async insertRows(client) {
    await client.query(`INSERT INTO urls (slug) VALUES ('a'), ('b')`);
    await client.query('INSERT INTO clicks (url_id) VALUES (1), (2), (2)');
  },
});

// A Prisma 6 app, as most are today: classic engine, no prisma.config.ts, the
// schema path in package.json ("prisma": { "schema": "db/schema.prisma" }), its own prisma 6.
const prisma6App = join(__dirname, 'fixtures/prisma6-app');

describeAdapterConformance('prisma 6', {
  adapter: () => adapterFor({}, prisma6App),
  changedAdapter: () => adapterFor({ migrations: '../app/changed-migrations' }, prisma6App),
  expectedTables: ['urls', 'clicks', '_prisma_migrations'],
  async insertRows(client) {
    await client.query(`INSERT INTO urls (slug) VALUES ('a'), ('b')`);
    await client.query('INSERT INTO clicks (url_id) VALUES (1), (2), (2)');
  },
});

describe('a Prisma 6 app', () => {
  it('finds its schema through package.json and its migrations beside it, and fingerprints its own Prisma version', async () => {
    expect(require(join(prisma6App, 'node_modules/prisma/package.json')).version).toMatch(/^6\./);
    const six = await fingerprintOf(adapterFor({}, prisma6App));
    // Same migrations, another schema file and Prisma version: another template.
    expect(six).not.toBe(
      await fingerprintOf(adapterFor({ schema: 'prisma/schema.prisma', migrations: '../prisma6-app/db/migrations' })),
    );
    await withScratchDatabase(async (url, database) => {
      await migrateInto(adapterFor({}, prisma6App), url, database);
      const { rows } = await withClient(url, {}, (client) =>
        client.query(`SELECT migration_name FROM _prisma_migrations ORDER BY 1`),
      );
      expect(rows.map((row) => row.migration_name)).toEqual(['20260101000000_init', '20260102000000_clicks']);
    });
  });
});

describe('prisma specifics', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'pgwork-prisma-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('writes the _prisma_migrations rows prisma migrate deploy writes', async () => {
    await withScratchDatabase(async (url, database) => {
      await migrateInto(adapterFor(), url, database);
      await migrateInto(adapterFor(), url, database); // applied migrations are skipped
      const { rows } = await withClient(url, {}, (client) =>
        client.query(
          `SELECT id, checksum, migration_name, finished_at, logs, rolled_back_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name`,
        ),
      );
      expect(rows.map((row) => row.migration_name)).toEqual(['20260101000000_init', '20260102000000_clicks']);
      for (const row of rows) {
        const script = readFileSync(join(app, 'prisma/migrations', row.migration_name, 'migration.sql'));
        expect(row.checksum).toBe(createHash('sha256').update(script).digest('hex'));
        expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(row.finished_at).toBeInstanceOf(Date);
        expect([row.logs, row.rolled_back_at, row.applied_steps_count]).toEqual([null, null, 1]);
      }
    });
  });

  it('names the migration directory and quotes Postgres when a migration fails, rolling it back whole', async () => {
    const migrations = join(scratch, 'broken');
    cpSync(join(app, 'prisma/migrations'), migrations, { recursive: true });
    cpSync(join(app, 'prisma/migrations/20260101000000_init'), join(migrations, '20260103000000_bad'), {
      recursive: true,
    });
    writeFileSync(
      join(migrations, '20260103000000_bad/migration.sql'),
      'CREATE TABLE half (id int);\nALTER TABLE "nowhere" ADD COLUMN x int;\n',
    );
    await withScratchDatabase(async (url, database) => {
      const error = await migrateInto(adapterFor({ migrations }), url, database).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PgworkError);
      expect((error as Error).message).toMatch(
        /migration 20260103000000_bad failed: relation "nowhere" does not exist \(SQLSTATE 42P01\) \(.*broken\/20260103000000_bad\/migration\.sql\)/,
      );
      const { rows } = await withClient(url, {}, (client) => client.query(`SELECT to_regclass('half') AS half`));
      expect(rows).toEqual([{ half: null }]);
    });
  });

  it('reads the schema and migrations paths from prisma.config.ts', async () => {
    const project = join(scratch, 'custom');
    cpSync(join(app, 'prisma/schema.prisma'), join(project, 'db/schema.prisma'));
    cpSync(join(app, 'prisma/migrations'), join(project, 'db/history'), { recursive: true });
    writeFileSync(
      join(project, 'prisma.config.ts'),
      `export default { schema: 'db/schema.prisma', migrations: { path: 'db/history' } };\n`,
    );
    // Resolve the prisma package (and its config loader) from this package, as a project would.
    symlinkSync(join(__dirname, '..', 'node_modules'), join(project, 'node_modules'));
    await withScratchDatabase(async (url, database) => {
      await migrateInto(adapterFor({}, project), url, database);
      const { rows } = await withClient(url, {}, (client) =>
        client.query(`SELECT count(*)::int AS n FROM _prisma_migrations`),
      );
      expect(rows).toEqual([{ n: 2 }]);
    });
    expect(await fingerprintOf(adapterFor({}, project))).toBe(await fingerprintOf(adapterFor({}, project)));
  });

  it('names the schema path when the schema file cannot be read', async () => {
    await expect(fingerprintOf(adapterFor({ schema: 'prisma/missing.prisma' }))).rejects.toThrow(
      /the Prisma schema .*prisma\/missing\.prisma does not exist; fix prisma\(\{ schema \}\) or the schema path in prisma\.config\.ts/,
    );
  });

  it('rejects a non-Postgres migration lock and an empty migrations folder', () => {
    const mysql = join(scratch, 'mysql');
    cpSync(join(app, 'prisma/migrations'), mysql, { recursive: true });
    writeFileSync(join(mysql, 'migration_lock.toml'), 'provider = "mysql"\n');
    expect(() => migrationDirectories(mysql)).toThrow(/says provider "mysql"; pgwork needs "postgresql"/);
    const empty = mkdtempSync(join(scratch, 'empty-'));
    expect(() => migrationDirectories(empty)).toThrow(/no migrations in .*; create one with `prisma migrate dev`/);
  });

  it('refuses the retired mode option and gives a serialisable config helper', () => {
    expect(() => prisma({ mode: 'cli' } as never)).toThrow(
      'pgwork: prisma({ mode }) is no longer an option; pgwork applies the migrations itself, writing the rows `prisma migrate deploy` writes; remove it.',
    );
    expect(() => prisma({ migration: 'db' } as never)).toThrow(
      'pgwork: prisma({ migration }) is not an option; use config, schema or migrations.',
    );
    expect(JSON.parse(JSON.stringify(prisma({ migrations: 'db/migrations' })))).toEqual({
      module: require.resolve('../src/index.ts'),
      options: { migrations: 'db/migrations' },
    });
  });
});
