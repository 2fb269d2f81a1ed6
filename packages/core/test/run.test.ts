import { join } from 'node:path';
import { escapeIdentifier, escapeLiteral } from 'pg';
import { connect } from '../src/shared/connection';
import { dropOwnedDatabase, ensureDatabase } from '../src/admin/databases';
import { formatMarker } from '../src/admin/marker';
import { withScratchDatabase } from '../src/testing/server';
import { PgworkError } from '../src/shared/errors';
import { lock } from '../src/shared/locks';
import { databaseUrl, newRunId } from '../src/shared/naming';
import { ownedDatabases } from '../src/admin/databases';
import { reclaimDeadRuns } from '../src/admin/owned';
import type { DatabaseRunState } from '../src/shared/run-state';
import { startRun, type Run } from '../src/setup/run';
import { openWorkerSession } from '../src/worker/session';

const databaseState = (run: Run) => run.state as DatabaseRunState;
import {
  databaseExists,
  rows,
  runConfig,
  serverUrl,
  sqlAdapter,
  uniqueBase,
  withAdmin,
  dropOwnedWithBase,
} from './helpers';

const SCHEMA = `
  CREATE TABLE urls (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, slug text UNIQUE NOT NULL);
  CREATE TABLE schema_log (id serial PRIMARY KEY, note text);
  INSERT INTO schema_log (note) VALUES ('v1');`;

describe('templates keyed by fingerprint', () => {
  it('builds the template once, reuses it on the next run, and rebuilds on a new fingerprint or rebuild', async () => {
    const baseName = uniqueBase('reuse');
    const adapter = sqlAdapter(SCHEMA);
    try {
      const first = await startRun(runConfig(adapter, baseName));
      await first.finish();
      const second = await startRun(runConfig(adapter, baseName));
      await second.finish();
      expect(adapter.migrations).toBe(1);
      expect(first.summaries[0]!.template?.built).toBe(true);
      expect(second.summaries[0]!.template?.built).toBe(false);
      expect(databaseState(second).template).toBe(databaseState(first).template);

      const rebuilt = await startRun(runConfig(adapter, baseName, { rebuild: true }));
      await rebuilt.finish();
      expect(adapter.migrations).toBe(2);
      expect(databaseState(rebuilt).template).toBe(databaseState(first).template);

      const changed = sqlAdapter(`${SCHEMA} CREATE TABLE extra (id int);`);
      const third = await startRun(runConfig(changed, baseName));
      await third.finish();
      expect(changed.migrations).toBe(1);
      expect(databaseState(third).template).not.toBe(databaseState(first).template);

      const sealed = await withAdmin((admin) =>
        admin.query('SELECT datistemplate, datallowconn FROM pg_database WHERE datname = $1', [
          databaseState(third).template,
        ]),
      );
      expect(sealed.rows).toEqual([{ datistemplate: true, datallowconn: false }]);
    } finally {
      await dropOwnedWithBase(baseName);
    }
  });

  it('builds a template once when two runs start at the same time', async () => {
    const baseName = uniqueBase('concurrent');
    const adapter = sqlAdapter(`${SCHEMA} SELECT pg_sleep(0.3);`);
    try {
      const runs = await Promise.all([startRun(runConfig(adapter, baseName)), startRun(runConfig(adapter, baseName))]);
      expect(adapter.migrations).toBe(1);
      expect(databaseState(runs[0]).template).toBe(databaseState(runs[1]).template);
      expect(runs[0].state.runId).not.toBe(runs[1].state.runId);
      await Promise.all(runs.map((run) => run.finish()));
    } finally {
      await dropOwnedWithBase(baseName);
    }
  });

  it('leaves no template behind when a migration fails, and names the adapter and the Postgres error', async () => {
    const baseName = uniqueBase('broken');
    const adapter = sqlAdapter('CREATE TABLE ok (id int); CREATE TABLE broken (id int REFERENCES nowhere(id));');
    const error = await startRun(runConfig(adapter, baseName)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PgworkError);
    expect((error as PgworkError).code).toBe('MIGRATION_FAILED');
    expect((error as Error).message).toContain(`adapter sql could not migrate the template ${baseName}_tpl_`);
    expect((error as Error).message).toMatch(/relation "nowhere" does not exist \(SQLSTATE 42P01\)/);
    const left = await withAdmin((admin) =>
      admin.query(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`${baseName}%`]),
    );
    expect(left.rows).toEqual([]);
    // The next run with a fixed migration builds a fresh template and works.
    const fixed = sqlAdapter('CREATE TABLE ok (id int);');
    const run = await startRun(runConfig(fixed, baseName));
    await run.finish();
    expect(fixed.migrations).toBe(1);
    await dropOwnedWithBase(baseName);
  });
});

describe('a run and its workers', () => {
  it('clones one database per worker, resets it, and drops only its own at the end', async () => {
    const baseName = uniqueBase('workers');
    const run = await startRun(runConfig(sqlAdapter(SCHEMA), baseName));
    const other = await startRun(runConfig(sqlAdapter(SCHEMA), baseName));
    try {
      const sessions = await Promise.all([1, 2].map((worker) => openWorkerSession(run.state, worker)));
      const otherSession = await openWorkerSession(other.state, 1);
      expect(sessions.map((s) => s.created)).toEqual([true, true]);
      expect(new Set([...sessions, otherSession].map((s) => s.database)).size).toBe(3);

      await rows(sessions[0]!.url, `INSERT INTO urls (slug) VALUES ('a'), ('b')`);
      await rows(otherSession.url, `INSERT INTO urls (slug) VALUES ('kept')`);
      await sessions[0]!.reset();
      expect(await rows(sessions[0]!.url, 'SELECT count(*)::int AS n FROM urls')).toEqual([{ n: 0 }]);
      expect(await rows(sessions[0]!.url, `INSERT INTO urls (slug) VALUES ('c') RETURNING id`)).toEqual([{ id: 1 }]);
      expect(await rows(otherSession.url, 'SELECT slug FROM urls')).toEqual([{ slug: 'kept' }]);

      // Opening again in the same run reuses the database.
      const again = await openWorkerSession(run.state, 1);
      expect(again.created).toBe(false);
      expect(await rows(again.url, 'SELECT slug FROM urls')).toEqual([{ slug: 'c' }]);
      await Promise.all([...sessions, again, otherSession].map((s) => s.close()));

      const result = await run.finish();
      expect(result.dropped).toBe(true);
      expect([...result.databases].sort()).toEqual(sessions.map((s) => s.database).sort());
      for (const session of sessions) expect(await databaseExists(session.database)).toBe(false);
      expect(await databaseExists(otherSession.database)).toBe(true);
    } finally {
      await other.finish();
      await dropOwnedWithBase(baseName);
    }
  });

  it('prewarms worker databases in the background; workers that arrive meanwhile get them', async () => {
    const baseName = uniqueBase('prewarm');
    const run = await startRun(runConfig(sqlAdapter(SCHEMA), baseName, { workerIds: [1, 2, 3] }));
    try {
      // Arrive while the clones are still running: each worker waits for its own, none clones twice.
      const sessions = await Promise.all([1, 2, 3].map((worker) => openWorkerSession(run.state, worker)));
      expect(new Set(sessions.map((s) => s.database)).size).toBe(3);
      const later = await openWorkerSession(run.state, 2);
      expect(later.created).toBe(false);
      for (const session of [...sessions, later]) {
        expect(await rows(session.url, 'SELECT count(*)::int AS n FROM urls')).toEqual([{ n: 0 }]);
        await session.close();
      }
      const result = await run.finish();
      expect([...result.databases].sort()).toEqual(sessions.map((s) => s.database).sort());
    } finally {
      await dropOwnedWithBase(baseName);
    }
  });

  it('shares one database between workers when isolation is off', async () => {
    const baseName = uniqueBase('shared');
    const run = await startRun(runConfig(sqlAdapter(SCHEMA), baseName, { disable: true }));
    try {
      const [a, b] = await Promise.all([openWorkerSession(run.state, 1), openWorkerSession(run.state, 2)]);
      expect(a!.database).toBe(b!.database);
      expect(a!.database).toBe(databaseState(run).shared);
      await Promise.all([a!.close(), b!.close()]);
    } finally {
      await run.finish();
      await dropOwnedWithBase(baseName);
    }
    expect(await databaseExists(databaseState(run).shared!)).toBe(false);
  });

  it('keeps its databases with keep, and a later run reclaims them once the run is gone', async () => {
    const baseName = uniqueBase('keep');
    const run = await startRun(runConfig(sqlAdapter(SCHEMA), baseName, { keep: true }));
    const session = await openWorkerSession(run.state, 1);
    await session.close();
    const result = await run.finish();
    expect(result).toEqual({ databases: [session.database], dropped: false, left: [] });
    // Runs starting in parallel test files reclaim dead runs too: this one or another got it.
    const next = await startRun(runConfig(sqlAdapter(SCHEMA), baseName));
    try {
      expect(await databaseExists(session.database)).toBe(false);
    } finally {
      await next.finish();
      await dropOwnedWithBase(baseName);
    }
  });
});

describe('roles', () => {
  it('runs the whole flow as a role with CREATEDB and nothing more, as on a managed server', async () => {
    const role = uniqueBase('role');
    await withAdmin((admin) => admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw' CREATEDB NOSUPERUSER`));
    const url = new URL(serverUrl());
    url.username = role;
    url.password = 'pw';
    const server = { url: url.toString(), source: 'DATABASE_URL' };
    try {
      for (const round of [1, 2]) {
        const run = await startRun(runConfig(sqlAdapter(SCHEMA), role, { workerIds: [1, 2], server }));
        expect(run.summaries[0]!.template?.built).toBe(round === 1);
        const session = await openWorkerSession(run.state, 2);
        try {
          await session.client.query(
            `INSERT INTO urls (slug) VALUES ('a'), ('b'); INSERT INTO schema_log (note) VALUES ('x')`,
          );
          await session.reset();
          const { rows: after } = await session.client.query(
            `SELECT (SELECT count(*) FROM urls)::int AS urls, (SELECT count(*) FROM schema_log)::int AS log`,
          );
          expect(after).toEqual([{ urls: 0, log: 0 }]);
        } finally {
          await session.close();
        }
        await run.finish();
        expect(await databaseExists(session.database)).toBe(false);
      }
    } finally {
      await withAdmin(async (admin) => {
        const owned = await admin.query<{ datname: string }>(
          'SELECT datname FROM pg_database WHERE datdba = (SELECT oid FROM pg_roles WHERE rolname = $1)',
          [role],
        );
        for (const { datname } of owned.rows) {
          await admin.query(`ALTER DATABASE ${escapeIdentifier(datname)} WITH IS_TEMPLATE false`);
          await admin.query(`DROP DATABASE ${escapeIdentifier(datname)} WITH (FORCE)`);
        }
        await admin.query(`DROP ROLE ${role}`);
      });
    }
  });
  it('names CREATEDB as the fix before anything is created when the role lacks it', async () => {
    const role = uniqueBase('role');
    await withAdmin((admin) => admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw' NOCREATEDB`));
    try {
      const url = new URL(serverUrl());
      url.username = role;
      url.password = 'pw';
      const error = await startRun(
        runConfig(sqlAdapter(SCHEMA), role, { server: { url: url.toString(), source: 'DATABASE_URL' } }),
      ).catch((e: unknown) => e);
      expect((error as PgworkError).code).toBe('NO_CREATEDB');
      expect((error as Error).message).toBe(
        `pgwork: role "${role}" cannot create databases; run ALTER ROLE "${role}" CREATEDB as a superuser, or connect as a role that has CREATEDB.`,
      );
    } finally {
      await withAdmin((admin) => admin.query(`DROP ROLE ${role}`));
    }
  });
  it('under schema isolation, names GRANT CREATE as the fix when the role may not create schemas there', async () => {
    const role = uniqueBase('role');
    await withAdmin((admin) => admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`));
    try {
      const url = new URL(databaseUrl(serverUrl(), 'postgres'));
      url.username = role;
      url.password = 'pw';
      const error = await startRun(
        runConfig(sqlAdapter(SCHEMA), role, {
          isolation: 'schema',
          workerIds: [1],
          server: { url: url.toString(), source: 'DATABASE_URL' },
        }),
      ).catch((e: unknown) => e);
      expect((error as PgworkError).code).toBe('NO_CREATE_SCHEMA');
      expect((error as Error).message).toBe(
        `pgwork: role "${role}" cannot create schemas in database "postgres"; run GRANT CREATE ON DATABASE "postgres" TO "${role}" as its owner, or point the URL at a database the role may create schemas in.`,
      );
    } finally {
      await withAdmin((admin) => admin.query(`DROP ROLE ${role}`));
    }
  });
});

describe('connection budget', () => {
  it('refuses up front, with the numbers and the fix, when workers would exhaust the server', async () => {
    const baseName = uniqueBase('budget');
    const max = Number(
      (await withAdmin((admin) => admin.query(`SELECT current_setting('max_connections') AS m`))).rows[0].m,
    );
    const error = await startRun(
      runConfig(sqlAdapter(SCHEMA), baseName, { workers: max, connectionsPerWorker: 10 }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PgworkError);
    expect((error as PgworkError).code).toBe('CONNECTION_BUDGET');
    expect((error as Error).message).toMatch(
      new RegExp(
        `^pgwork: ${max} workers x \\(10 app connections \\+ 2 of pgwork's\\) need ${max * 12} connections, but the server at PGWORK_TEST_SERVER_URL allows ${max} \\(\\d+ reserved, \\d+ in use, \\d+ free\\); lower maxWorkers to \\d+,`,
      ),
    );
    // Nothing was created.
    const left = await withAdmin((admin) =>
      admin.query('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${baseName}%`]),
    );
    expect(left.rows).toEqual([]);
    const fine = await startRun(runConfig(sqlAdapter(SCHEMA), baseName, { workers: 4, connectionsPerWorker: 5 }));
    await fine.finish();
    await dropOwnedWithBase(baseName);
  });
});

describe('seed data and kept tables', () => {
  const COUNTRIES = `${SCHEMA} CREATE TABLE countries (code text PRIMARY KEY, name text NOT NULL);`;
  const seeds = join(__dirname, 'fixtures/seeds');

  it('seeds the template once; kept tables keep their rows through reset, others are emptied', async () => {
    const baseName = uniqueBase('seed');
    const adapter = sqlAdapter(COUNTRIES);
    const config = runConfig(adapter, baseName, { rootDir: seeds, seed: 'countries.sql', keepTables: ['countries'] });
    try {
      const run = await startRun(config);
      const session = await openWorkerSession(run.state, 1);
      expect(await rows(session.url, 'SELECT code FROM countries ORDER BY code')).toEqual([
        { code: 'FR' },
        { code: 'JP' },
      ]);
      expect(await rows(session.url, 'SELECT slug FROM urls')).toEqual([{ slug: 'seeded' }]);
      await session.reset();
      expect(await rows(session.url, 'SELECT count(*)::int AS n FROM countries')).toEqual([{ n: 2 }]);
      expect(await rows(session.url, 'SELECT count(*)::int AS n FROM urls')).toEqual([{ n: 0 }]);
      await session.close();
      await run.finish();
      // Same seed, same template: reused. Another seed: a new template.
      const again = await startRun(config);
      await again.finish();
      expect(again.summaries[0]!.template?.built).toBe(false);
      const other = await startRun({ ...config, seed: 'countries.js' });
      await other.finish();
      expect(databaseState(other).template).not.toBe(databaseState(run).template);
      expect(adapter.migrations).toBe(2);
    } finally {
      await dropOwnedWithBase(baseName);
    }
  });

  it('runs a seed module with a client on the template', async () => {
    const baseName = uniqueBase('seedmod');
    const run = await startRun(
      runConfig(sqlAdapter(COUNTRIES), baseName, {
        rootDir: seeds,
        seed: 'countries.js',
        keepTables: ['public.countries'],
      }),
    );
    try {
      const session = await openWorkerSession(run.state, 1);
      expect(await rows(session.url, 'SELECT code FROM countries')).toEqual([{ code: 'DE' }]);
      expect(await rows(session.url, 'SELECT slug FROM urls')).toEqual([{ slug: 'from-module-in-template' }]);
      await session.close();
    } finally {
      await run.finish();
      await dropOwnedWithBase(baseName);
    }
  });

  it('fails like a migration when the seed fails, leaving no template', async () => {
    const baseName = uniqueBase('seedbad');
    for (const [seed, message] of [
      ['broken.js', /seed broken\.js failed: relation "no_such_table" does not exist/],
      ['missing.sql', /the seed option points at .*missing\.sql, which cannot be read/],
    ] as const) {
      const error = await startRun(runConfig(sqlAdapter(COUNTRIES), baseName, { rootDir: seeds, seed })).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PgworkError);
      expect((error as Error).message).toMatch(message);
    }
    const left = await withAdmin((admin) =>
      admin.query('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${baseName}%`]),
    );
    expect(left.rows).toEqual([]);
  });
});

describe('schema isolation', () => {
  it('migrates a schema per worker, reclaims schemas of dead runs, and never touches unmarked or live ones', async () => {
    await withScratchDatabase(async (url) => {
      const dead = newRunId();
      const alive = newRunId();
      const holder = await connect(databaseUrl(serverUrl(), 'postgres'));
      await lock(holder, `run:${alive}`);
      const marked = (run: string) =>
        formatMarker({ kind: 'worker', run, state: 'ready', created: new Date().toISOString() });
      // Another project's, ended with PGWORK_KEEP=1.
      const kept = (run: string) =>
        formatMarker({ kind: 'worker', run, created: new Date().toISOString(), kept: new Date().toISOString() });
      // Named as the run's base name ("sch") would name them, but for the neighbour's: another project's, kept.
      const schemas = { dead: `sch_${dead}_w1`, alive: `sch_${alive}_w1`, neighbour: `sib_${dead}_w1` };
      await rows(
        url,
        `CREATE SCHEMA ${schemas.dead}; COMMENT ON SCHEMA ${schemas.dead} IS ${escapeLiteral(marked(dead))};
         CREATE SCHEMA ${schemas.alive}; COMMENT ON SCHEMA ${schemas.alive} IS ${escapeLiteral(marked(alive))};
         CREATE SCHEMA ${schemas.neighbour}; COMMENT ON SCHEMA ${schemas.neighbour} IS ${escapeLiteral(kept(dead))};
         CREATE SCHEMA s_user;`,
      );
      try {
        const run = await startRun(
          runConfig(sqlAdapter(SCHEMA), 'sch', {
            server: { url, source: 'test' },
            isolation: 'schema',
            workerIds: [1, 2],
          }),
        );
        expect(run.summaries[0]!.reclaimed).toEqual([schemas.dead]);
        // Schema isolation clones no template: its summary names none (no stand-in for one).
        expect(run.summaries[0]!.template).toBeUndefined();
        const [one, two] = await Promise.all([openWorkerSession(run.state, 1), openWorkerSession(run.state, 2)]);
        await rows(one.url, `INSERT INTO urls (slug) VALUES ('only-in-one')`);
        expect(await rows(two.url, 'SELECT count(*)::int AS n FROM urls')).toEqual([{ n: 0 }]);
        await two.reset();
        expect(await rows(one.url, 'SELECT count(*)::int AS n FROM urls')).toEqual([{ n: 1 }]);
        await one.reset();
        expect(await rows(one.url, `INSERT INTO urls (slug) VALUES ('again') RETURNING id`)).toEqual([{ id: 1 }]);
        await Promise.all([one.close(), two.close()]);
        const result = await run.finish();
        expect([...result.databases].sort()).toEqual([`sch_${run.state.runId}_w1`, `sch_${run.state.runId}_w2`]);
        const left = await rows<{ nspname: string }>(
          url,
          `SELECT nspname FROM pg_namespace WHERE nspname LIKE 's\\_%' OR nspname LIKE 'sch%' OR nspname LIKE 'sib%'`,
        );
        expect(left.map((row) => row.nspname).sort()).toEqual([schemas.alive, 's_user', schemas.neighbour].sort());
      } finally {
        await holder.end();
      }
    });
  });
});

describe('reclaiming dead runs', () => {
  it("drops databases of runs whose lease is free, never those of a live run, unmarked ones or another project's kept ones", async () => {
    const dead = newRunId();
    const alive = newRunId();
    const base = uniqueBase('reclaim');
    const names = {
      dead: `${base}_${dead}_w1`,
      alive: `${base}_${alive}_w1`,
      decoy: `${base}_${newRunId()}_w1`,
      building: `${base}_tpl_0123456789abcdef`,
      // Another project's run, ended with PGWORK_KEEP=1: kept for someone to look at.
      neighbour: `${uniqueBase('neighbour')}_${dead}_w1`,
      // Another project's run that was killed: serves no one.
      neighbourKilled: `${uniqueBase('neighbour')}_${dead}_w2`,
    };
    const holder = await connect(databaseUrl(serverUrl(), 'postgres'));
    await lock(holder, `run:${alive}`);
    try {
      await withAdmin(async (admin) => {
        const created = new Date().toISOString();
        await ensureDatabase(admin, names.dead, { marker: { kind: 'worker', run: dead, created } });
        await ensureDatabase(admin, names.alive, { marker: { kind: 'worker', run: alive, created } });
        await ensureDatabase(admin, names.building, {
          marker: { kind: 'template', run: dead, state: 'building', created },
        });
        await ensureDatabase(admin, names.neighbour, {
          marker: { kind: 'worker', run: dead, created, kept: created },
        });
        await ensureDatabase(admin, names.neighbourKilled, { marker: { kind: 'worker', run: dead, created } });
        await admin.query(`CREATE DATABASE ${escapeIdentifier(names.decoy)}`);
        const reclaimed = await reclaimDeadRuns(admin, ownedDatabases, newRunId(), base);
        // A run starting in a parallel test file may reclaim the dead ones first: gone either way (below).
        for (const name of [names.alive, names.decoy, names.neighbour]) expect(reclaimed).not.toContain(name);
      });
      expect(await databaseExists(names.neighbourKilled)).toBe(false);
      expect(await databaseExists(names.dead)).toBe(false);
      expect(await databaseExists(names.building)).toBe(false);
      expect(await databaseExists(names.alive)).toBe(true);
      expect(await databaseExists(names.decoy)).toBe(true);
      expect(await databaseExists(names.neighbour)).toBe(true);
    } finally {
      await holder.end();
      await withAdmin(async (admin) => {
        await dropOwnedDatabase(admin, names.alive);
        await dropOwnedDatabase(admin, names.neighbour);
        await admin.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(names.decoy)}`);
      });
    }
  });
});
