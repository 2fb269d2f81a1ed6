// A run's end on a managed server, as a role with CREATEDB and nothing more:
// another role's session still on a worker database must not cost the rest.
import { escapeIdentifier, type Client } from 'pg';
import { connect } from '../src/shared/connection';
import { databaseUrl, workerDatabaseName } from '../src/shared/naming';
import { startRun, type Run } from '../src/setup/run';
import { finishRunnerRun } from '../src/setup/runner-run';
import { withScratchDatabase } from '../src/testing/server';
import { openWorkerSession } from '../src/worker/session';
import { databaseExists, rows, runConfig, serverUrl, sqlAdapter, uniqueBase, waitUntil, withAdmin } from './helpers';

const SCHEMA = 'CREATE TABLE items (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);';

/** A login role's URL on the test server. */
function roleUrl(role: string): string {
  const url = new URL(serverUrl());
  url.username = role;
  url.password = 'pw';
  return url.toString();
}

/**
 * The run's role (CREATEDB, not a superuser) and another login role, made for
 * one test and dropped after it with everything the first one owns.
 */
async function withRoles(work: (runner: string, other: string) => Promise<void>): Promise<void> {
  const runner = uniqueBase('runner');
  const other = uniqueBase('other');
  await withAdmin(async (admin) => {
    await admin.query(`CREATE ROLE ${runner} LOGIN PASSWORD 'pw' CREATEDB NOSUPERUSER`);
    await admin.query(`CREATE ROLE ${other} LOGIN PASSWORD 'pw' NOSUPERUSER`);
  });
  try {
    await work(runner, other);
  } finally {
    await withAdmin(async (admin) => {
      const owned = await admin.query<{ datname: string; datistemplate: boolean }>(
        'SELECT datname, datistemplate FROM pg_database WHERE datdba = (SELECT oid FROM pg_roles WHERE rolname = $1)',
        [runner],
      );
      // A parallel test file's run start may be dropping one right now (reclaiming every
      // dead run's): Postgres marks it invalid first, and ALTER DATABASE on an invalid one
      // ends the session, so only templates are altered; the DROP waits for that other one.
      for (const { datname, datistemplate } of owned.rows) {
        if (datistemplate) await admin.query(`ALTER DATABASE ${escapeIdentifier(datname)} WITH IS_TEMPLATE false`);
        await admin.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(datname)} WITH (FORCE)`);
      }
      await admin.query(`DROP ROLE ${runner}`);
      await admin.query(`DROP ROLE ${other}`);
    });
  }
}

/** A run as `role` with three workers, each database made (opened and closed as a worker would). */
async function runWithWorkers(role: string): Promise<{ run: Run; databases: string[] }> {
  const server = { url: roleUrl(role), source: 'DATABASE_URL' };
  const run = await startRun(runConfig(sqlAdapter(SCHEMA), role, { workerIds: [1, 2, 3], server }));
  const databases: string[] = [];
  for (const worker of [1, 2, 3]) {
    const session = await openWorkerSession(run.state, worker);
    databases.push(session.database);
    await session.close();
  }
  return { run, databases };
}

/** A session of `role` left open on `database`, as another tool or a colleague's psql would. */
async function foreignSession(role: string, database: string): Promise<Client> {
  const client = await connect(databaseUrl(roleUrl(role), database));
  expect((await client.query('SELECT current_user AS who')).rows).toEqual([{ who: role }]);
  return client;
}

/** Whether a session of `role` is still on `database` (a backend outlives its client's end by a moment). */
async function sessionOn(role: string, database: string): Promise<boolean> {
  return withAdmin(
    async (admin) =>
      (await admin.query('SELECT 1 FROM pg_stat_activity WHERE usename = $1 AND datname = $2', [role, database]))
        .rowCount !== 0,
  );
}

describe("a run's end with another role's session on a worker database", () => {
  it('drops every other database, says in one line what is left and why, and the next run reclaims it', async () => {
    await withRoles(async (runner, other) => {
      const { run, databases } = await runWithWorkers(runner);
      const [blocked, ...rest] = databases as [string, ...string[]];
      const held = await foreignSession(other, blocked);
      let lines: string[] = [];
      try {
        let written = '';
        await finishRunnerRun(run, undefined, (text) => {
          written += text;
        });
        lines = written.split('\n').filter(Boolean);
        for (const name of rest) expect([name, await databaseExists(name)]).toEqual([name, false]);
        // Still there: the session on it lives (a drop, by anyone, would have ended it).
        expect((await held.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      } finally {
        await held.end();
      }
      // A closed client's backend may still be exiting: until it has, the next run's start may not drop under it.
      await waitUntil(async () => !(await sessionOn(other, blocked)));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`pgwork: run ${run.state.runId} used 3 database(s)`);
      expect(lines[0]).toContain(blocked);
      for (const name of rest) expect(lines[0]).not.toContain(name);
      // Postgres' reason, and what becomes of it.
      expect(lines[0]).toMatch(/SQLSTATE 42501.*pg_signal_backend/);
      expect(lines[0]).toMatch(/next run/);

      // The next run's start takes it (or one starting in a parallel test file did already: gone either way).
      const next = await startRun(
        runConfig(sqlAdapter(SCHEMA), runner, { workerIds: [1], server: { url: roleUrl(runner), source: 'x' } }),
      );
      try {
        expect(await databaseExists(blocked)).toBe(false);
      } finally {
        await next.finish();
      }
    });
  });

  it('drops it too when the session closes while the end waits for it', async () => {
    await withRoles(async (runner, other) => {
      const { run, databases } = await runWithWorkers(runner);
      const [blocked, ...rest] = databases as [string, ...string[]];
      const held = await foreignSession(other, blocked);
      let written = '';
      let settled = false;
      // Its failure, if any: awaited below, after the session is closed.
      const finishing = finishRunnerRun(run, undefined, (text) => {
        written += text;
      })
        .then(
          () => undefined,
          (error: unknown) => error,
        )
        .finally(() => {
          settled = true;
        });
      try {
        // The others go first; the blocked one, tried before them (name order), waits for its retry.
        await waitUntil(
          async () => settled || (!(await databaseExists(rest[0]!)) && !(await databaseExists(rest[1]!))),
        );
      } finally {
        await held.end();
      }
      expect(await finishing).toBeUndefined();
      for (const name of databases) expect([name, await databaseExists(name)]).toEqual([name, false]);
      expect(written).toBe(`pgwork: run ${run.state.runId} used 3 database(s), now dropped\n`);
    });
  });
});

describe("a run's end with another session's transaction open on a worker schema", () => {
  it('drops the other schemas, gives that one up after the bound, says so in one line, and the next run reclaims it', async () => {
    await withScratchDatabase(async (url) => {
      const baseName = uniqueBase('held');
      const config = (workerIds: number[]) =>
        runConfig(sqlAdapter(SCHEMA), baseName, { server: { url, source: 'test' }, isolation: 'schema', workerIds });
      const run = await startRun(config([1, 2, 3]));
      const [blocked, ...rest] = [1, 2, 3].map((id) => workerDatabaseName(baseName, run.state.runId, id)) as [
        string,
        ...string[],
      ];
      const existing = async () =>
        (await rows<{ name: string }>(url, 'SELECT nspname AS name FROM pg_namespace ORDER BY 1'))
          .map(({ name }) => name)
          .filter((name) => name === blocked || rest.includes(name));
      // Its locks hold DROP SCHEMA off for as long as it stays open.
      const holder = await connect(url);
      let written = '';
      try {
        await holder.query(`BEGIN; SELECT count(*) FROM ${blocked}.items`);
        // Bounded: a drop that waited for the transaction would never end (failing here, not at the test's timeout).
        const bound = new Promise((_, reject) => setTimeout(() => reject(new Error('the run never ended')), 60_000));
        await Promise.race([
          finishRunnerRun(run, undefined, (text) => {
            written += text;
          }),
          bound,
        ]);
        expect(await existing()).toEqual([blocked]);
      } finally {
        await holder.end();
      }
      const lines = written.split('\n').filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`pgwork: run ${run.state.runId} used 3 schema(s)`);
      expect(lines[0]).toContain(blocked);
      expect(lines[0]).toMatch(/SQLSTATE 55P03/);
      expect(lines[0]).toMatch(/next run/);

      const next = await startRun(config([1]));
      try {
        expect(await existing()).toEqual([]);
      } finally {
        await next.finish();
      }
    });
  });
});
