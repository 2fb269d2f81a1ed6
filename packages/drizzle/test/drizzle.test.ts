import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgworkError, runProcess, type Adapter } from '@pgwork/core/adapter';
import { describeAdapterConformance } from '@pgwork/core/conformance';
import { migrateInto, withClient, withScratchDatabase } from '@pgwork/core/testing';
import { createAdapter, drizzle, type DrizzleOptions } from '../src';

const fingerprintOf = async (adapter: Adapter) => (await adapter.describe()).fingerprint;

const app = join(__dirname, 'fixtures/app');
const adapterFor = (options: DrizzleOptions = {}, rootDir = app): Adapter => createAdapter(options, { rootDir });
const rows = {
  async insertRows(client: import('pg').Client) {
    await client.query(`INSERT INTO urls (slug) VALUES ('a'), ('b')`);
    await client.query('INSERT INTO clicks (url_id) VALUES (1), (2), (2)');
  },
};

describeAdapterConformance('drizzle (push)', {
  adapter: () => adapterFor(),
  changedAdapter: () => adapterFor({ config: 'drizzle.changed.config.ts' }),
  expectedTables: ['urls', 'clicks'],
  ...rows,
});

describeAdapterConformance('drizzle (migrations)', {
  adapter: () => adapterFor({ mode: 'migrations' }),
  changedAdapter: () => adapterFor({ mode: 'migrations', migrations: 'drizzle-other' }),
  expectedTables: ['urls', 'clicks', '__drizzle_migrations'],
  ...rows,
});

// An app on the oldest drizzle-orm and drizzle-kit the peer ranges allow (its own node_modules):
// the adapter uses the project's drizzle, so the floor of each range is built and reset too.
const floorApp = join(__dirname, 'fixtures/floor-app');
for (const mode of ['push', 'migrations'] as const) {
  describeAdapterConformance(`drizzle-orm 0.36 and drizzle-kit 0.30 (${mode})`, {
    adapter: () => adapterFor({ mode }, floorApp),
    changedAdapter: () => adapterFor({ mode: mode === 'push' ? 'migrations' : 'push' }, floorApp),
    expectedTables: mode === 'push' ? ['urls', 'clicks'] : ['urls', 'clicks', '__drizzle_migrations'],
    ...rows,
  });
}

describe('drizzle specifics', () => {
  it('the floor app has the oldest versions the peer ranges allow', () => {
    const peers = require('../package.json').peerDependencies;
    const installed = (name: string) => require(join(floorApp, 'node_modules', name, 'package.json')).version;
    for (const name of ['drizzle-orm', 'drizzle-kit']) expect(peers[name]).toBe(`>=${installed(name)} <1`);
  });

  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'pgwork-drizzle-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const columns = (url: string) =>
    withClient(url, {}, async (client) =>
      (
        await client.query(
          `SELECT table_name || '.' || column_name || ':' || is_identity AS c FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1`,
        )
      ).rows.map((r) => r.c),
    );

  it('push and the migrations folder build the same tables', async () => {
    let pushed: string[] = [];
    let migrated: string[] = [];
    await withScratchDatabase(async (url, database) => {
      await migrateInto(adapterFor(), url, database);
      pushed = await columns(url);
    });
    await withScratchDatabase(async (url, database) => {
      const adapter = adapterFor({ mode: 'migrations' });
      expect((await adapter.describe()).bookkeepingTables).toEqual(['drizzle.__drizzle_migrations']);
      await migrateInto(adapter, url, database);
      migrated = await columns(url);
    });
    expect(pushed).toEqual(['clicks.id:YES', 'clicks.url_id:NO', 'urls.id:YES', 'urls.slug:NO']);
    expect(migrated).toEqual(pushed);
  });

  it('push mode builds exactly what the real `drizzle-kit push --force` builds (enums, defaults, checks, pgSchema filtered)', async () => {
    const project = join(scratch, 'rich');
    cpSync(app, project, { recursive: true });
    symlinkModules(project);
    writeFileSync(
      join(project, 'src/rich.ts'),
      `import { sql } from 'drizzle-orm';
import { check, index, integer, jsonb, pgEnum, pgSchema, pgTable, serial, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
export const status = pgEnum('status', ['draft', 'live', 'gone']);
export const audit = pgSchema('audit');
export const trail = audit.table('trail', { id: serial('id').primaryKey() });
export const pages = pgTable('pages', {
  id: serial('id').primaryKey(),
  title: text('title').notNull().default('untitled'),
  state: status('state').notNull().default('draft'),
  meta: jsonb('meta').default({}),
  views: integer('views').notNull().default(0),
  createdAt: timestamp('created_at', { withTimezone: true }).defaultNow(),
}, (t) => [check('views_positive', sql\`\${t.views} >= 0\`), uniqueIndex('pages_title_state').on(t.title, t.state), index('pages_created').on(t.createdAt)]);
`,
    );
    writeFileSync(
      join(project, 'rich.config.ts'),
      `export default { dialect: 'postgresql', schema: './src/rich.ts', dbCredentials: { url: process.env.DATABASE_URL } };\n`,
    );
    const catalog = (url: string) =>
      withClient(url, {}, async (client) =>
        (
          await client.query(`
            SELECT n.nspname || '.' || c.relname || ' ' || c.relkind::text AS o FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
            UNION ALL SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
              WHERE connamespace::regnamespace::text NOT IN ('pg_catalog', 'information_schema')
            UNION ALL SELECT concat_ws(' ', table_schema, table_name, column_name, data_type, udt_name, column_default, is_nullable, is_identity)
              FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
            UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
            UNION ALL SELECT t.typname || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e
              JOIN pg_type t ON t.oid = e.enumtypid GROUP BY t.typname
            ORDER BY 1`)
        ).rows.map((r) => r.o as string),
      );
    let byCli: string[] = [];
    let byAdapter: string[] = [];
    await withScratchDatabase(async (url) => {
      const kit = join(__dirname, '..', 'node_modules/drizzle-kit/bin.cjs');
      const args = [kit, 'push', '--force', '--config', 'rich.config.ts'];
      const { code, output } = await runProcess(process.execPath, args, {
        cwd: project,
        env: { ...process.env, DATABASE_URL: url },
      });
      expect({ code, output: code === 0 ? '' : output }).toEqual({ code: 0, output: '' });
      byCli = await catalog(url);
    });
    await withScratchDatabase(async (url, database) => {
      await migrateInto(adapterFor({ config: 'rich.config.ts' }, project), url, database);
      byAdapter = await catalog(url);
    });
    expect(byCli).toContain('public.pages r');
    expect(byCli.some((o) => o.startsWith('audit.'))).toBe(false); // push's default schemaFilter is ["public"]
    expect(byCli.length).toBeGreaterThan(15);
    expect(byAdapter).toEqual(byCli);
  });

  it('quotes Postgres when a migration of the folder fails', async () => {
    const project = join(scratch, 'broken');
    cpSync(app, project, { recursive: true });
    writeFileSync(
      join(project, 'drizzle/0000_init.sql'),
      'CREATE TABLE "urls" ("id" integer REFERENCES "nowhere"("id"));',
    );
    symlinkModules(project);
    await withScratchDatabase(async (url, database) => {
      const error = await migrateInto(adapterFor({ mode: 'migrations' }, project), url, database).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PgworkError);
      expect((error as Error).message).toMatch(
        /drizzle-orm's migrator failed on .*drizzle: relation "nowhere" does not exist \(SQLSTATE 42P01\)/,
      );
    });
  });

  it('explains a missing config, a non-Postgres dialect and a schema that matches nothing', async () => {
    await expect(fingerprintOf(adapterFor({ config: 'missing.config.ts' }))).rejects.toThrow(
      /drizzle\(\{ config \}\) points at .*missing\.config\.ts, which is not a file; create it or fix the drizzle\(\{ config \}\) option/,
    );
    const project = join(scratch, 'odd');
    cpSync(app, project, { recursive: true });
    symlinkModules(project);
    writeFileSync(
      join(project, 'sqlite.config.ts'),
      `export default { dialect: 'sqlite', schema: './src/schema.ts' };\n`,
    );
    await expect(fingerprintOf(adapterFor({ config: 'sqlite.config.ts' }, project))).rejects.toThrow(
      /has dialect "sqlite"; pgwork needs "postgresql"/,
    );
    writeFileSync(
      join(project, 'empty.config.ts'),
      `export default { dialect: 'postgresql', schema: './nothing/*.ts' };\n`,
    );
    await expect(fingerprintOf(adapterFor({ config: 'empty.config.ts' }, project))).rejects.toThrow(
      /matches no file; fix it in the config/,
    );
    expect(() => adapterFor({ mode: 'generate' as never })).toThrow(/is not understood; use "push" or "migrations"/);
  });

  it('gives a serialisable config helper', () => {
    expect(JSON.parse(JSON.stringify(drizzle({ mode: 'migrations' })))).toEqual({
      module: require.resolve('../src/index.ts'),
      options: { mode: 'migrations' },
    });
    expect(() => drizzle({ out: 'drizzle' } as never)).toThrow(
      'pgwork: drizzle({ out }) is not an option; use mode, config or migrations.',
    );
  });
});

/** A copied project resolves drizzle-orm and drizzle-kit like the original. */
function symlinkModules(project: string) {
  require('node:fs').symlinkSync(join(__dirname, '..', 'node_modules'), join(project, 'node_modules'));
}
