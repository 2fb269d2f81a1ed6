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
const stubCli = join(__dirname, 'fixtures/stub-cli');
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

/** The real CLI either applies both migrations or, offline, fails with the line naming the in-process mode. */
async function cliAppliesOrNamesTheEngine(adapter: Adapter): Promise<void> {
  await withScratchDatabase(async (url, database) => {
    const outcome = await migrateInto(adapter, url, database).then(
      () => 'applied',
      (error: Error) => error.message,
    );
    if (outcome === 'applied') {
      const { rows } = await withClient(url, {}, (client) =>
        client.query(`SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL`),
      );
      expect(rows).toEqual([{ n: 2 }]);
    } else {
      expect(outcome).toMatch(/could not start its schema engine .*use prisma\(\{ mode: "in-process" \}\)/);
    }
  });
}

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

  it('with its real Prisma 6 CLI: applies the migrations, or says the engine is unavailable', () =>
    cliAppliesOrNamesTheEngine(adapterFor({ mode: 'cli' }, prisma6App)));
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

  describe('cli mode', () => {
    const stubOut = () => join(scratch, 'stub.json');
    const withStub = async (behaviour: string, work: () => Promise<void>) => {
      process.env.STUB_OUT = stubOut();
      process.env.STUB_BEHAVIOUR = behaviour;
      try {
        await work();
      } finally {
        delete process.env.STUB_OUT;
        delete process.env.STUB_BEHAVIOUR;
      }
    };
    const cliAdapter = () => adapterFor({ mode: 'cli', schema: 'schema.prisma', migrations: 'migrations' }, stubCli);

    it("runs the project's prisma migrate deploy in its directory with DATABASE_URL aimed at the target", async () => {
      await withStub('ok', async () => {
        await cliAdapter().migrate({
          url: 'postgres://u:p@127.0.0.1:1/pgwork_tpl_x',
          database: 'pgwork_tpl_x',
          client: undefined as never,
        });
      });
      expect(JSON.parse(readFileSync(stubOut(), 'utf8'))).toEqual({
        argv: ['migrate', 'deploy'],
        cwd: stubCli,
        url: 'postgres://u:p@127.0.0.1:1/pgwork_tpl_x',
      });
    });

    it('names the in-process mode when the CLI cannot start its schema engine', async () => {
      await withStub('engine', async () => {
        const error = await cliAdapter()
          .migrate({ url: 'postgres://x@h/d', database: 'd', client: undefined as never })
          .catch((e: unknown) => e);
        expect((error as Error).message).toMatch(
          /the Prisma CLI could not start its schema engine \(.*ENOTFOUND binaries\.prisma\.sh\); use prisma\(\{ mode: "in-process" \}\)/,
        );
      });
    });

    it('quotes the CLI when migrate deploy fails', async () => {
      await withStub('fail', async () => {
        const error = await cliAdapter()
          .migrate({ url: 'postgres://x@h/d', database: 'd', client: undefined as never })
          .catch((e: unknown) => e);
        expect((error as Error).message).toMatch(
          /prisma migrate deploy failed \(exit code 1\): Error: P3009 migrate found failed migrations/,
        );
      });
    });

    it('passes --config when the project names its Prisma config', async () => {
      await withStub('ok', async () => {
        const adapter = createAdapter(
          { mode: 'cli', schema: 'schema.prisma', migrations: 'migrations', config: 'prisma.config.ts' },
          { rootDir: stubCli },
        );
        await adapter.migrate({ url: 'postgres://x@h/d', database: 'd', client: undefined as never });
      });
      expect(JSON.parse(readFileSync(stubOut(), 'utf8')).argv).toEqual([
        'migrate',
        'deploy',
        '--config',
        join(stubCli, 'prisma.config.ts'),
      ]);
    });

    it('with the real Prisma CLI: applies the migrations, or says the engine is unavailable', () =>
      cliAppliesOrNamesTheEngine(adapterFor({ mode: 'cli' })));
  });

  it('rejects an unknown mode and gives a serialisable config helper', () => {
    expect(() => createAdapter({ mode: 'push' as never }, { rootDir: app })).toThrow(
      /prisma\(\{ mode: "push" \}\) is not understood; use "in-process" or "cli"/,
    );
    expect(JSON.parse(JSON.stringify(prisma({ mode: 'cli' })))).toEqual({
      module: require.resolve('../src/index.ts'),
      options: { mode: 'cli' },
    });
  });
});
