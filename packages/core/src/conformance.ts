// The conformance kit: every adapter's own test suite calls
// describeAdapterConformance(...) so a contributor knows when an adapter is
// correct. Results are checked with raw SQL probes, never through the adapter.
import type { Client } from 'pg';
import type { Adapter } from './adapter';
import { withClient } from './connection';
import { dropOwnedDatabase } from './databases';
import { newRunId } from './naming';
import { resetDatabase } from './reset';
import { startRun } from './run';
import { migrateInto, testAdminClient, testServerUrl, withScratchDatabase } from './testing/server';
import { openWorkerSession } from './worker-session';

declare const describe: (name: string, fn: () => void) => void;
declare const it: (name: string, fn: () => Promise<void>, timeout?: number) => void;
// biome-ignore lint/suspicious/noExplicitAny: Jest's expect, typed by the test project that loads the kit
declare const expect: any;

export interface ConformanceOptions {
  /** A fresh adapter over the project's real inputs. */
  adapter: () => Adapter;
  /** The same adapter over inputs with one migration (or schema file) changed. */
  changedAdapter: () => Adapter;
  /** "schema.table" names the migrated schema must contain. */
  expectedTables: string[];
  /** Writes at least one row into the migrated database, using identity/serial columns. */
  insertRows: (client: Client) => Promise<void>;
}

const TIMEOUT_MS = 120_000;

/** Row counts of every table but the system ones, straight from the catalog. */
export async function tableRowCounts(client: Client): Promise<Map<string, number>> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables
     WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
  );
  const counts = new Map<string, number>();
  for (const { name } of rows) {
    const result = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`);
    counts.set(name, Number(result.rows[0]!.n));
  }
  return counts;
}

function bookkeepingMatcher(adapter: Adapter): (qualified: string) => boolean {
  const names = adapter.bookkeepingTables ?? [];
  return (qualified) => {
    const [schema, table] = qualified.split('.').map((part) => part.replace(/^"|"$/g, ''));
    return names.includes(`${schema}.${table}`) || names.includes(table!);
  };
}

export function describeAdapterConformance(name: string, options: ConformanceOptions): void {
  describe(`${name} adapter conformance`, () => {
    const runId = newRunId();
    /** Runs work on a scratch database the adapter has migrated. */
    const onMigratedDatabase = (adapter: Adapter, work: (url: string, database: string) => Promise<void>) =>
      withScratchDatabase(async (url, database) => {
        await migrateInto(adapter, url, database);
        await work(url, database);
      });

    it('gives the same fingerprint for the same inputs', async () => {
      const first = await options.adapter().fingerprint();
      const second = await options.adapter().fingerprint();
      expect(typeof first).toBe('string');
      expect(first.length).toBeGreaterThan(0);
      expect(second).toBe(first);
    });

    it('gives a different fingerprint when a migration changes', async () => {
      expect(await options.changedAdapter().fingerprint()).not.toBe(await options.adapter().fingerprint());
    });

    it(
      'migrates an empty database to a schema a raw probe can see, and closes its connections',
      async () => {
        await onMigratedDatabase(options.adapter(), async (url, database) => {
          const admin = await testAdminClient();
          try {
            const sessions = await admin.query(`SELECT pid FROM pg_stat_activity WHERE datname = $1`, [database]);
            expect(sessions.rows).toEqual([]);
          } finally {
            await admin.end();
          }
          await withClient(url, {}, async (target) => {
            const { rows } = await target.query<{ name: string }>(
              `SELECT table_schema || '.' || table_name AS name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')`,
            );
            const tables = rows.map((row) => row.name);
            for (const table of options.expectedTables) expect(tables).toContain(table);
          });
        });
      },
      TIMEOUT_MS,
    );

    it(
      'resets: application tables empty, identities restarted, bookkeeping rows kept',
      async () => {
        const adapter = options.adapter();
        const isBookkeeping = bookkeepingMatcher(adapter);
        await onMigratedDatabase(adapter, (url, database) =>
          withClient(url, {}, async (client) => {
            await options.insertRows(client);
            const before = await tableRowCounts(client);
            expect([...before].some(([table, count]) => !isBookkeeping(table) && count > 0)).toBe(true);
            if (adapter.reset) await adapter.reset({ url, database, client });
            else await resetDatabase(client, { bookkeepingTables: adapter.bookkeepingTables });
            const after = await tableRowCounts(client);
            for (const [table, count] of after) {
              expect([table, count]).toEqual([table, isBookkeeping(table) ? before.get(table) : 0]);
            }
            const sequences = await client.query<{ name: string; table: string; last: string | null }>(
              `SELECT format('%I.%I', sn.nspname, s.relname) AS name, format('%I.%I', tn.nspname, t.relname) AS table, ps.last_value AS last
           FROM pg_class s
           JOIN pg_namespace sn ON sn.oid = s.relnamespace
           JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
           JOIN pg_class t ON t.oid = d.refobjid
           JOIN pg_namespace tn ON tn.oid = t.relnamespace
           JOIN pg_sequences ps ON ps.schemaname = sn.nspname AND ps.sequencename = s.relname
           WHERE s.relkind = 'S'`,
            );
            for (const sequence of sequences.rows) {
              if (!isBookkeeping(sequence.table)) expect([sequence.name, sequence.last]).toEqual([sequence.name, null]);
            }
          }),
        );
      },
      TIMEOUT_MS,
    );

    it(
      'builds the template once and serves a worker from it',
      async () => {
        let migrations = 0;
        const real = options.adapter();
        const counting: Adapter = {
          ...real,
          name: real.name,
          fingerprint: () => real.fingerprint(),
          migrate: (target) => {
            migrations++;
            return real.migrate(target);
          },
        };
        if (real.reset) counting.reset = (target) => real.reset!(target);
        const config = {
          adapter: counting,
          rootDir: process.cwd(),
          baseName: `conf_${runId}`,
          env: ['DATABASE_URL'],
          server: { url: testServerUrl(), source: 'PGWORK_TEST_SERVER_URL' },
          maintenanceDatabase: 'postgres',
          rebuild: true,
        };
        const first = await startRun(config);
        await first.finish();
        const second = await startRun({ ...config, rebuild: false });
        try {
          expect(second.summary.templateBuilt).toBe(false);
          expect(migrations).toBe(1);
          const session = await openWorkerSession(second.state, 1);
          try {
            const { rows } = await withClient(session.url, {}, (client) =>
              client.query<{ name: string }>(
                `SELECT table_schema || '.' || table_name AS name FROM information_schema.tables`,
              ),
            );
            for (const table of options.expectedTables) expect(rows.map((row) => row.name)).toContain(table);
          } finally {
            await session.close();
          }
        } finally {
          await second.finish();
          const admin = await testAdminClient();
          await dropOwnedDatabase(admin, second.state.template).finally(() => admin.end());
        }
      },
      TIMEOUT_MS,
    );
  });
}
