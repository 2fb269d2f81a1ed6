import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgworkError, type Adapter } from '@pgwork/core/adapter';
import { describeAdapterConformance } from '@pgwork/core/conformance';
import { migrateInto, withClient, withScratchDatabase } from '@pgwork/core/testing';
import { createAdapter, migrationFiles, rawPg } from '../src';

const fixtures = join(__dirname, 'fixtures');
const adapterFor = (migrations: string): Adapter => createAdapter({ migrations }, { rootDir: fixtures });

describeAdapterConformance('raw-pg', {
  adapter: () => adapterFor('migrations'),
  changedAdapter: () => adapterFor('changed'),
  expectedTables: ['urls', 'clicks'],
  async insertRows(client) {
    await client.query(`INSERT INTO urls (slug, target) VALUES ('a', 'https://a'), ('b', 'https://b')`);
    await client.query('INSERT INTO clicks (url_id) VALUES (1), (2), (2)');
  },
});

describe('raw-pg specifics', () => {
  let scratch: string;

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'raw-pg-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('orders files naturally and ignores other files', () => {
    writeFileSync(join(scratch, '10_c.sql'), '');
    writeFileSync(join(scratch, '2_b.sql'), '');
    writeFileSync(join(scratch, '1_a.sql'), '');
    writeFileSync(join(scratch, 'README.md'), '');
    expect(migrationFiles(scratch)).toEqual(['1_a.sql', '2_b.sql', '10_c.sql']);
  });

  it('records each file and never applies one twice', async () => {
    await withScratchDatabase(async (url, database) => {
      const adapter = adapterFor('migrations');
      await migrateInto(adapter, url, database);
      await migrateInto(adapter, url, database);
      const applied = await withClient(url, {}, (client) =>
        client.query('SELECT name FROM pgwork_migrations ORDER BY applied_at, name'),
      );
      expect(applied.rows.map((row) => row.name).sort()).toEqual(['10_stats.sql', '1_urls.sql', '2_clicks.sql']);
    });
  });

  it('names the failing file, the line, and quotes Postgres, and keeps earlier files applied', async () => {
    const dir = mkdtempSync(join(scratch, 'bad-'));
    writeFileSync(join(dir, '1_ok.sql'), 'CREATE TABLE ok (id int);');
    writeFileSync(join(dir, '2_bad.sql'), 'CREATE TABLE fine (id int);\nCREATE TABLE broken (id int,, name text);\n');
    await withScratchDatabase(async (url, database) => {
      const adapter = createAdapter({ migrations: dir }, { rootDir: '/' });
      const error = await migrateInto(adapter, url, database).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PgworkError);
      expect((error as Error).message).toMatch(
        /^pgwork: migration 2_bad\.sql failed: syntax error at or near "," \(SQLSTATE 42601\) at line 2, column 29/,
      );
      const tables = await withClient(url, {}, (client) =>
        client.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`),
      );
      expect(tables.rows.map((row) => row.tablename)).toEqual(['ok', 'pgwork_migrations']);
    });
  });

  it('reports a missing migrations directory with the option to fix', () => {
    const adapter = createAdapter({ migrations: 'nowhere' }, { rootDir: scratch });
    expect(() => adapter.describe()).toThrow(/rawPg\(\{ migrations \}\) points at .*nowhere, which is not a directory/);
  });

  it('gives a config helper that Jest can pass between processes', () => {
    const reference = rawPg({ migrations: 'db/migrations' });
    expect(JSON.parse(JSON.stringify(reference))).toEqual({
      module: require.resolve('../src/index.ts'),
      options: { migrations: 'db/migrations' },
    });
  });
});
