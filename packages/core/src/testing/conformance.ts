// The conformance kit: every adapter's own test suite calls
// describeAdapterConformance(...) so a contributor knows when an adapter is
// correct, in every mode it declares. Results are checked with raw SQL probes,
// never through the adapter.
import type { Client } from 'pg';
import { dropOwnedDatabase } from '../admin/databases';
import { describeAdapter, type Adapter } from '../shared/adapter';
import { withClient } from '../shared/connection';
import { EMBEDDED_SOURCE } from '../shared/errors';
import { newRunId } from '../shared/naming';
import { ISOLATION_MODES, RESET_MODES, type IsolationMode, type ResetMode } from '../shared/modes';
import { isolationOf } from '../isolation';
import { startRun, type Run, type RunConfig } from '../setup/run';
import { nodeRequire } from '../shared/node-require';
import { resetDatabase } from '../worker/reset';
import type { WorkerSession } from '../worker/session';
import type { PgModule } from '../worker/transaction';
import { listOwnedSchemas } from '../admin/schemas';
import { migrateInto, stableBaseName, testAdminClient, testRunConfig, withScratchDatabase } from './server';
import { bookkeepingMatcher, tableRowCounts, usedSequences } from './probes';

export { tableRowCounts } from './probes';

declare const describe: (name: string, fn: () => void) => void;
declare const it: (name: string, fn: () => Promise<void>, timeout?: number) => void;
// biome-ignore lint/suspicious/noExplicitAny: Jest's expect, typed by the test project that loads the kit
declare const expect: any;

export interface ConformanceOptions {
  /** A fresh adapter over the project's real inputs. */
  adapter: () => Adapter;
  /** The same adapter over inputs with one migration (or schema file) changed. */
  changedAdapter: () => Adapter;
  /** Table names ("links", not schema-qualified) the migrated schema must contain. */
  expectedTables: string[];
  /** Writes at least one row into the migrated schema (unqualified names: search_path decides), using identity/serial columns. */
  insertRows: (client: Client) => Promise<void>;
}

const TIMEOUT_MS = 120_000;

/** Fill the target, reset it, and probe: application tables empty and identities restarted, bookkeeping rows kept. */
async function expectResetKeepsBookkeeping(
  client: Client,
  reset: () => Promise<void>,
  options: ConformanceOptions,
  isBookkeeping: (qualified: string) => boolean,
  schemas?: readonly string[],
  /** Reset "transaction": the rows were written and rolled back already (expectRolledBack), their identities left advanced. */
  rolledBack = false,
  /** Where the rows are written, as the app writes them: not the worker's reset connection, where triggers are held off. */
  writer: Client = client,
): Promise<void> {
  if (!rolledBack) await options.insertRows(writer);
  const before = await tableRowCounts(client, schemas);
  if (!rolledBack) expect([...before].some(([table, count]) => !isBookkeeping(table) && count > 0)).toBe(true);
  expect([...before].some(([table, count]) => isBookkeeping(table) && count > 0)).toBe(
    [...before.keys()].some(isBookkeeping),
  );
  await reset();
  for (const [table, count] of await tableRowCounts(client, schemas)) {
    expect([table, count]).toEqual([table, isBookkeeping(table) ? before.get(table) : 0]);
  }
  for (const sequence of await usedSequences(client, schemas)) {
    if (!isBookkeeping(sequence.table)) expect(sequence).toEqual({ table: sequence.table, used: false });
  }
}

/**
 * Reset "transaction" as a test file gets it: the mode installed on the app's
 * own `pg` (the one the adapter package resolves), a test transaction begun,
 * rows written through an app `pg.Client` (what Knex and scripts open) and
 * rolled back. Raw probes on the session's own connection, with no reset in
 * between, see nothing of them meanwhile and after, and neither does the next
 * test: a rollback that commits or does nothing, or a client that commits past
 * the test's transaction, fails here.
 */
async function expectRolledBack(
  session: WorkerSession,
  rootDir: string,
  options: ConformanceOptions,
  schemas: readonly string[] | undefined,
): Promise<void> {
  const outside = nodeRequire(__filename);
  const { installTransactionMode } = outside('../worker/transaction') as typeof import('../worker/transaction');
  const { connect } = outside('../shared/connection') as typeof import('../shared/connection');
  // The app's pg as a test file's code loads it (under Jest: from this file's sandbox, as setup-after-env does).
  const pg = require(require.resolve('pg', { paths: [rootDir] })) as PgModule;
  const committed = () => tableRowCounts(session.client, schemas).then((counts) => Object.fromEntries(counts));
  const before = await committed();
  const shared = await connect(session.url, { source: session.source }, pg.Client);
  const mode = installTransactionMode(pg, shared);
  try {
    await mode.begin();
    const app = new pg.Client({ connectionString: session.url });
    await app.connect();
    await options.insertRows(app);
    await app.end();
    // The rows are there, in the test's transaction only.
    const inTransaction = await tableRowCounts(shared, schemas);
    expect([...inTransaction].some(([table, count]) => count > (before[table] ?? 0))).toBe(true);
    expect(await committed()).toEqual(before);
    await mode.rollback();
    expect(await committed()).toEqual(before);
    // And the next test, through the app's client again, starts without them: the rollback ended the transaction.
    await mode.begin();
    const next = new pg.Client({ connectionString: session.url });
    await next.connect();
    expect(Object.fromEntries(await tableRowCounts(next, schemas))).toEqual(before);
    await next.end();
    await mode.rollback();
  } finally {
    mode.uninstall();
    await shared.end().catch(() => undefined);
  }
}

export function describeAdapterConformance(name: string, options: ConformanceOptions): void {
  describe(`${name} adapter conformance`, () => {
    const runId = newRunId();
    const onMigratedDatabase = (adapter: Adapter, work: (url: string, database: string) => Promise<void>) =>
      withScratchDatabase(async (url, database) => {
        await migrateInto(adapter, url, database);
        await work(url, database);
      });

    it('describes itself: a stable fingerprint, schema-qualified bookkeeping tables, its modes', async () => {
      const first = await describeAdapter(options.adapter());
      const second = await describeAdapter(options.adapter());
      expect(second.fingerprint).toBe(first.fingerprint);
      expect(first.isolation).toContain('database');
      expect(first.reset).toContain('empty');
      for (const mode of [...ISOLATION_MODES, ...RESET_MODES]) {
        const declared = first.isolation.includes(mode as IsolationMode) || first.reset.includes(mode as ResetMode);
        // A mode left out says why, for the user who asks for it.
        if (!declared) expect(typeof first.limits?.[mode]).toBe('string');
      }
    });

    it('gives a different fingerprint when a migration changes', async () => {
      const changed = await describeAdapter(options.changedAdapter());
      expect(changed.fingerprint).not.toBe((await describeAdapter(options.adapter())).fingerprint);
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
          const tables = await withClient(url, {}, (client) => tableRowCounts(client));
          const names = [...tables.keys()].map((table) => table.slice(table.indexOf('.') + 1));
          for (const table of options.expectedTables) expect(names).toContain(table);
        });
      },
      TIMEOUT_MS,
    );

    it(
      'resets: application tables empty, identities restarted, bookkeeping rows kept',
      async () => {
        const adapter = options.adapter();
        const description = await describeAdapter(adapter);
        await onMigratedDatabase(adapter, (url, database) =>
          withClient(url, {}, async (client) => {
            const session = { url, database, client };
            const reset = adapter.reset
              ? () => adapter.reset!(session)
              : () => resetDatabase(client, { keepTables: description.bookkeepingTables });
            await expectResetKeepsBookkeeping(
              client,
              reset,
              options,
              bookkeepingMatcher(description.bookkeepingTables),
            );
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
          describe: () => real.describe(),
          migrate: (target) => {
            migrations++;
            return real.migrate(target);
          },
        };
        if (real.reset) counting.reset = (target) => real.reset!(target);
        const config = testRunConfig(counting, `conf_${runId}`, { rebuild: true });
        await (await startRun(config)).finish();
        const second = await startRun({ ...config, rebuild: false });
        try {
          expect(second.summaries[0]!.template?.built).toBe(false);
          expect(migrations).toBe(1);
        } finally {
          await second.finish();
          await dropTemplates(second);
        }
      },
      TIMEOUT_MS,
    );

    for (const mode of ISOLATION_MODES) {
      it(
        `isolation "${mode}": serves a worker its own migrated target and resets it, or is refused up front with the reason`,
        async () => {
          const adapter = options.adapter();
          const description = await describeAdapter(adapter);
          // A mode that gives a worker a server of its own (server isolation) cannot have the test
          // server's port + 1: it starts embedded ones, kept between runs (see stableBaseName).
          const tested = testRunConfig(adapter, `conf_${runId}_${mode.slice(0, 2)}`, { isolation: mode });
          const ownServers = isolationOf(mode).serverFor(tested.server, 1).url !== tested.server.url;
          const config = ownServers
            ? {
                ...tested,
                server: { url: undefined, source: EMBEDDED_SOURCE },
                baseName: stableBaseName(`conf_${mode.slice(0, 2)}`, name),
              }
            : tested;
          if (!description.isolation.includes(mode)) return expectRefused(config, mode, description.limits?.[mode]);
          await expectWorkerServed(config, options, description.bookkeepingTables);
        },
        TIMEOUT_MS,
      );
    }

    it(
      'reset "transaction": a rolled-back test leaves nothing behind, or is refused up front with the reason',
      async () => {
        const adapter = options.adapter();
        const description = await describeAdapter(adapter);
        const config = testRunConfig(adapter, `conf_${runId}_tx`, { reset: 'transaction' });
        if (!description.reset.includes('transaction')) {
          return expectRefused(config, 'transaction', description.limits?.transaction);
        }
        await expectWorkerServed(config, options, description.bookkeepingTables, true);
      },
      TIMEOUT_MS,
    );
  });
}

async function expectRefused(config: RunConfig, mode: string, reason: string | undefined): Promise<void> {
  const refusal = startRun(config).then((run) => run.finish());
  await expect(refusal).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  await expect(refusal).rejects.toThrow(
    new RegExp(`does not support \\w+ "${mode}" \\(${escapeRegExp(reason ?? '')}\\); use`),
  );
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Starts a run, opens worker 1's session and probes its target: the expected
 * tables there (and, under schema isolation, nowhere else new), then a reset
 * that keeps bookkeeping. With `inTransaction`: rows written in a test
 * transaction and rolled back first (expectRolledBack), then the reset.
 */
async function expectWorkerServed(
  config: RunConfig,
  options: ConformanceOptions,
  bookkeeping: readonly string[],
  inTransaction = false,
): Promise<void> {
  // Outside Jest's sandbox, where the embedded server's ESM module can be imported (server isolation starts one).
  const outside = nodeRequire(__filename);
  const { startRun } = outside('../setup/run') as typeof import('../setup/run');
  const { openWorkerSession } = outside('../worker/session') as typeof import('../worker/session');
  const run = await startRun(config);
  try {
    const session = await openWorkerSession(run.state, 1);
    try {
      const schemas = session.schema ? [session.schema] : undefined;
      const tables = [...(await tableRowCounts(session.client, schemas)).keys()];
      const names = tables.map((table) => table.slice(table.indexOf('.') + 1));
      for (const table of options.expectedTables) expect(names).toContain(table);
      if (session.schema) {
        // Everything migrate made is in the worker's schema: no table of the app's lands elsewhere.
        const owned = new Set((await listOwnedSchemas(session.client)).map((schema) => schema.name));
        const outside = [...(await tableRowCounts(session.client)).keys()];
        const strays = outside.filter((table) => !owned.has(table.slice(0, table.indexOf('.'))));
        for (const table of options.expectedTables)
          expect(strays.map((t) => t.slice(t.indexOf('.') + 1))).not.toContain(table);
      }
      const isBookkeeping = bookkeepingMatcher(bookkeeping, session.schema);
      // Reset "transaction": the rolled-back rows leave their sequences advanced, which the reset before each test restarts.
      if (inTransaction) await expectRolledBack(session, config.rootDir, options, schemas);
      await withClient(session.url, {}, (app) =>
        expectResetKeepsBookkeeping(
          session.client,
          () => session.reset(),
          options,
          isBookkeeping,
          schemas,
          inTransaction,
          app,
        ),
      );
    } finally {
      await session.close();
    }
  } finally {
    await run.finish();
    await dropTemplates(run);
  }
}

/** Drops the templates a run cloned from on the test server (an embedded one keeps them: see stableBaseName). */
async function dropTemplates(run: Run): Promise<void> {
  for (const { template, embedded } of run.summaries) {
    if (!template || embedded) continue;
    const admin = await testAdminClient();
    await dropOwnedDatabase(admin, template.name).finally(() => admin.end());
  }
}
