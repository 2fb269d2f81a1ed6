import { Client, Pool } from 'pg';
import * as pg from 'pg';
import { connect } from '../src/shared/connection';
import { installTransactionMode, type TransactionMode } from '../src/worker/transaction';
import { withScratchDatabase } from '../src/testing/server';

const SCHEMA = `CREATE TABLE urls (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, slug text UNIQUE NOT NULL)`;
const LINKS = `CREATE TABLE links (id int PRIMARY KEY, url_id int REFERENCES urls(id) DEFERRABLE INITIALLY DEFERRED)`;
const LINK_VIOLATION = /^insert or update on table "links" violates foreign key constraint "links_url_id_fkey"$/;

/** What a test of the harness below may reach besides the app's pool. */
interface Scratch {
  url: string;
  /** The connection transaction mode routes the app to. */
  shared: Client;
  mode: TransactionMode;
}

/**
 * Runs work with transaction mode installed on a scratch database, inside one
 * test transaction. `outside` is a connection of pgwork's own: never routed, it
 * sees only what was committed.
 */
async function inTransactionMode(
  work: (pool: Pool, outside: Client, scratch: Scratch) => Promise<void>,
  afterRollback?: (outside: Client) => Promise<void>,
) {
  await withScratchDatabase(async (url) => {
    const shared = await connect(url);
    const outside = await connect(url);
    await outside.query(SCHEMA);
    const mode: TransactionMode = installTransactionMode(pg as never, shared);
    const pool = new Pool({ connectionString: url });
    try {
      await mode.begin();
      await work(pool, outside, { url, shared, mode });
      await mode.rollback();
      // Nothing of the test was ever committed.
      expect((await outside.query('SELECT count(*)::int AS n FROM urls')).rows).toEqual([{ n: 0 }]);
      await afterRollback?.(outside);
    } finally {
      mode.uninstall();
      await pool.end();
      await shared.end();
      await outside.end();
    }
  });
}

const count = async (pool: Pool) => (await pool.query('SELECT count(*)::int AS n FROM urls')).rows[0].n;

describe('transaction mode', () => {
  it('routes a transaction sent as one string, and rolls all of it back when a statement in it fails', async () => {
    await inTransactionMode(async (pool, outside) => {
      await pool.query(`BEGIN; INSERT INTO urls (slug) VALUES ('one; string'); COMMIT`);
      expect(await count(pool)).toBe(1);
      expect((await outside.query('SELECT count(*)::int AS n FROM urls')).rows).toEqual([{ n: 0 }]);
      await expect(
        pool.query(
          `BEGIN; INSERT INTO urls (slug) VALUES ('half'); INSERT INTO urls (slug) VALUES ('one; string'); COMMIT`,
        ),
      ).rejects.toThrow(/duplicate key/);
      // The failed string left nothing behind, and the next statement does not wait for it.
      expect(await count(pool)).toBe(1);
      await pool.query('COMMIT'); // no transaction open: a no-op, not the end of the test's transaction
      expect(await count(pool)).toBe(1);
      // A backslash-escaped quote in an E'' string does not end the string, so its ';' splits nothing.
      await pool.query(String.raw`BEGIN; INSERT INTO urls (slug) VALUES (E'it\'s; one'); COMMIT`);
      expect((await pool.query(`SELECT slug FROM urls WHERE slug LIKE 'it%'`)).rows).toEqual([{ slug: "it's; one" }]);
      expect((await outside.query('SELECT count(*)::int AS n FROM urls')).rows).toEqual([{ n: 0 }]);
    });
  });

  it("fires deferred constraints at the app's COMMIT, and keeps them deferred for the next transaction", async () => {
    await inTransactionMode(async (pool, outside) => {
      await outside.query(LINKS);
      const client = await pool.connect();
      await client.query('BEGIN');
      await client.query('INSERT INTO links VALUES (1, 999)');
      await expect(client.query('COMMIT')).rejects.toThrow(LINK_VIOLATION);
      expect((await client.query('SELECT count(*)::int AS n FROM links')).rows).toEqual([{ n: 0 }]);
      // Still deferred: inside a transaction the violation waits for COMMIT, where it is fixed first.
      await client.query('BEGIN');
      await client.query('INSERT INTO links VALUES (2, 1)');
      await client.query(`INSERT INTO urls (slug) OVERRIDING SYSTEM VALUE VALUES ('fix')`);
      await client.query('UPDATE links SET url_id = (SELECT id FROM urls)');
      await client.query('COMMIT');
      expect((await client.query('SELECT count(*)::int AS n FROM links')).rows).toEqual([{ n: 1 }]);
      client.release();
    });
  });

  it('fails a statement outside an app transaction that leaves a deferred constraint violated, as its commit would', async () => {
    await inTransactionMode(async (pool, outside) => {
      await outside.query(LINKS);
      await expect(pool.query('INSERT INTO links VALUES (1, 999)')).rejects.toThrow(LINK_VIOLATION);
      // Statements sent as one string are one implicit transaction: checked at its end, so a later one may fix an earlier one.
      await pool.query(
        `INSERT INTO links VALUES (2, 1); INSERT INTO urls (id, slug) OVERRIDING SYSTEM VALUE VALUES (1, 'fix')`,
      );
      await expect(pool.query('INSERT INTO links VALUES (3, 998); SELECT 1')).rejects.toThrow(LINK_VIOLATION);
      // The failed statements left nothing behind, and the constraint is still deferred inside an app transaction.
      const client = await pool.connect();
      await client.query('BEGIN');
      await client.query('INSERT INTO links VALUES (4, 2)');
      await client.query(`INSERT INTO urls (id, slug) OVERRIDING SYSTEM VALUE VALUES (2, 'later')`);
      await client.query('COMMIT');
      client.release();
      expect((await pool.query('SELECT id FROM links ORDER BY id')).rows).toEqual([{ id: 2 }, { id: 4 }]);
    });
  });

  it('fails a one-string transaction whose COMMIT finds a deferred constraint violated, as a real COMMIT would', async () => {
    await inTransactionMode(async (pool, outside) => {
      await outside.query(LINKS);
      await expect(pool.query('BEGIN; INSERT INTO links VALUES (1, 999); COMMIT')).rejects.toThrow(LINK_VIOLATION);
      expect((await pool.query('SELECT count(*)::int AS n FROM links')).rows).toEqual([{ n: 0 }]);
      // A second transaction in the same string is deferred again after the first one's COMMIT checked it,
      // and the app gets one result per statement it sent, as from a real connection.
      const results = (await pool.query(
        `BEGIN; INSERT INTO links VALUES (2, 1); INSERT INTO urls (id, slug) OVERRIDING SYSTEM VALUE VALUES (1, 'a'); COMMIT;
         BEGIN; INSERT INTO links VALUES (3, 2); INSERT INTO urls (id, slug) OVERRIDING SYSTEM VALUE VALUES (2, 'b'); COMMIT`,
      )) as unknown as pg.QueryResult[];
      expect(results.map((result) => result.rowCount)).toEqual([null, 1, 1, null, null, 1, 1, null]);
      expect((await pool.query('SELECT id FROM links ORDER BY id')).rows).toEqual([{ id: 2 }, { id: 3 }]);
    });
  });

  it("checks deferred constraints at the test's end: rolls back, then fails the test with Postgres' message", async () => {
    await inTransactionMode(async (pool, outside, { shared, mode }) => {
      await outside.query(LINKS);
      await pool.query(`INSERT INTO urls (slug) VALUES ('kept until the rollback')`);
      // Written past pgwork's checks (on the shared connection itself, deferred as a transaction starts):
      // only the test's end sees it.
      await shared.query('SET CONSTRAINTS ALL DEFERRED; INSERT INTO links VALUES (1, 999)');
      await expect(mode.rollback()).rejects.toThrow(
        /^pgwork: the test left a deferred constraint violated, which a real COMMIT refuses: insert or update on table "links" violates foreign key constraint "links_url_id_fkey" \(SQLSTATE 23503\)/,
      );
      // Rolled back all the same: a new test transaction starts clean.
      await mode.begin();
      expect(await count(pool)).toBe(0);
      expect((await pool.query('SELECT count(*)::int AS n FROM links')).rows).toEqual([{ n: 0 }]);
    });
  });

  it('keeps up with constraints a test adds or drops: deferred inside its transactions, never named once gone', async () => {
    await inTransactionMode(async (pool) => {
      await pool.query('SELECT 1'); // the initially deferred constraints read: none yet
      await pool.query(LINKS);
      const client = await pool.connect();
      await client.query('BEGIN');
      await client.query('INSERT INTO links VALUES (1, 1)');
      await client.query(`INSERT INTO urls (id, slug) OVERRIDING SYSTEM VALUE VALUES (1, 'after')`);
      await client.query('COMMIT');
      await client.query('ALTER TABLE links DROP CONSTRAINT links_url_id_fkey');
      await client.query('BEGIN; INSERT INTO links VALUES (2, 999); COMMIT');
      await client.query('INSERT INTO links VALUES (3, 998)');
      client.release();
      expect((await pool.query('SELECT id FROM links ORDER BY id')).rows).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    });
  });

  it('reads the deferred constraints again when another connection dropped one it named', async () => {
    await inTransactionMode(async (pool, outside) => {
      // Another run's worker schema in the same database, say: dropped while this test runs.
      await outside.query(`CREATE SCHEMA other; CREATE TABLE other.a (id int PRIMARY KEY);
        CREATE TABLE other.b (a_id int REFERENCES other.a DEFERRABLE INITIALLY DEFERRED)`);
      await pool.query(`INSERT INTO urls (slug) VALUES ('before')`);
      await outside.query('DROP SCHEMA other CASCADE');
      await pool.query(`INSERT INTO urls (slug) VALUES ('after')`);
      await pool.query(`BEGIN; INSERT INTO urls (slug) VALUES ('script'); COMMIT`);
      expect(await count(pool)).toBe(3);
    });
  });

  it('refuses what cannot take effect inside the test transaction, naming why', async () => {
    await inTransactionMode(async (pool, _outside, { url }) => {
      const client = new Client({ connectionString: url });
      await client.connect();
      await expect(client.query('LISTEN jobs')).rejects.toThrow(
        /^pgwork: reset "transaction" runs LISTEN inside the test's transaction, where it never takes effect/,
      );
      // pg-cursor and pg-query-stream are such query objects: they read over several round trips.
      const cursor = { text: 'SELECT 1', submit: () => undefined };
      expect(() => client.query(cursor as never)).toThrow(
        /cannot route a query object .* \(pg-cursor, pg-query-stream\)/,
      );
      expect(() => pool.query(cursor as never)).toThrow(/cannot route a query object/);
      await client.end();
      expect(await count(pool)).toBe(0);
    });
  });

  it("rolls back a test's schema changes too: DDL is transactional in Postgres", async () => {
    const columns = `SELECT string_agg(column_name, ',' ORDER BY column_name) AS c FROM information_schema.columns
      WHERE table_name = 'urls'`;
    await inTransactionMode(
      async (pool) => {
        await pool.query('CREATE TABLE stray (id int)');
        await pool.query('ALTER TABLE urls ADD COLUMN extra int, DROP COLUMN slug');
        await pool.query('INSERT INTO urls (extra) VALUES (1)');
        expect((await pool.query(columns)).rows).toEqual([{ c: 'extra,id' }]);
      },
      async (outside) => {
        expect((await outside.query(`SELECT to_regclass('stray') AS t`)).rows).toEqual([{ t: null }]);
        expect((await outside.query(columns)).rows).toEqual([{ c: 'id,slug' }]);
      },
    );
  });

  it('routes the app pool into the test transaction, invisible to other connections', async () => {
    await inTransactionMode(async (pool, outside) => {
      await pool.query(`INSERT INTO urls (slug) VALUES ('a'), ('b')`);
      expect(await count(pool)).toBe(2);
      expect((await outside.query('SELECT count(*)::int AS n FROM urls')).rows).toEqual([{ n: 0 }]);
    });
  });

  it('routes every pg.Client the app connects: promise and callback forms, its transactions, end()', async () => {
    await inTransactionMode(async (pool, outside, { url }) => {
      const client = new Client({ connectionString: url });
      await client.connect();
      await client.query(`INSERT INTO urls (slug) VALUES ('promise')`);
      const inserted = await new Promise<pg.QueryResult>((resolve, reject) =>
        client.query(
          { text: 'INSERT INTO urls (slug) VALUES ($1) RETURNING slug', values: ['callback'] },
          (error: Error | null, result: pg.QueryResult) => (error ? reject(error) : resolve(result)),
        ),
      );
      expect(inserted.rows).toEqual([{ slug: 'callback' }]);
      await client.query('BEGIN');
      await client.query(`INSERT INTO urls (slug) VALUES ('committed')`);
      await client.query('COMMIT');
      await client.query('BEGIN');
      await client.query(`INSERT INTO urls (slug) VALUES ('rolled back')`);
      await client.query('ROLLBACK');
      // A client closed mid-transaction rolls it back, as the server does when a connection goes away.
      const abandoned = new Client({ connectionString: url });
      await new Promise<void>((resolve, reject) =>
        abandoned.connect((error: Error | null) => (error ? reject(error) : resolve())),
      );
      await abandoned.query('BEGIN');
      await abandoned.query(`INSERT INTO urls (slug) VALUES ('abandoned')`);
      const ended = new Promise((resolve) => abandoned.once('end', resolve));
      await new Promise<void>((resolve) => abandoned.end(() => resolve()));
      await ended;
      await expect(abandoned.query('SELECT 1')).rejects.toThrow('Client was closed and is not queryable');
      // One transaction: the pool sees the client's rows; another connection sees none of them.
      const slugs = async (db: Pick<Pool, 'query'>) =>
        (await db.query('SELECT slug FROM urls ORDER BY id')).rows.map((row) => row.slug);
      expect(await slugs(pool)).toEqual(['promise', 'callback', 'committed']);
      expect(await slugs(outside)).toEqual([]);
      await client.end();
    });
  });

  it("routes a client connected before transaction mode began, and leaves pgwork's own connections alone", async () => {
    await withScratchDatabase(async (url) => {
      const shared = await connect(url);
      const outside = await connect(url);
      await outside.query(SCHEMA);
      const early = new Client({ connectionString: url, application_name: 'pgwork_test_early' });
      await early.connect();
      const mode = installTransactionMode(pg as never, shared);
      const sessions = async () =>
        (
          await outside.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'pgwork_test_early'`,
          )
        ).rows[0].n;
      try {
        await mode.begin();
        await early.query(`INSERT INTO urls (slug) VALUES ('early')`);
        // pgwork's own connection, opened while the mode is installed (keep-failed's, a session's): not routed.
        const own = await connect(url);
        expect((await own.query('SELECT count(*)::int AS n FROM urls')).rows).toEqual([{ n: 0 }]);
        await own.end();
        expect((await shared.query('SELECT count(*)::int AS n FROM urls')).rows).toEqual([{ n: 1 }]);
        expect(await sessions()).toBe(1);
        await early.end();
        expect(await sessions()).toBe(0);
        await mode.rollback();
        expect((await outside.query('SELECT count(*)::int AS n FROM urls')).rows).toEqual([{ n: 0 }]);
      } finally {
        mode.uninstall();
        await shared.end();
        await outside.end();
      }
    });
  });

  it('keeps the test transaction usable after a statement fails', async () => {
    await inTransactionMode(async (pool) => {
      await pool.query(`INSERT INTO urls (slug) VALUES ('dup')`);
      await expect(pool.query(`INSERT INTO urls (slug) VALUES ('dup')`)).rejects.toThrow(/duplicate key/);
      await pool.query(`INSERT INTO urls (slug) VALUES ('after')`);
      expect(await count(pool)).toBe(2);
    });
  });

  it('turns app transactions into savepoints: COMMIT keeps, ROLLBACK discards, both case-insensitive', async () => {
    await inTransactionMode(async (pool) => {
      const client = await pool.connect();
      await client.query('BEGIN');
      await client.query(`INSERT INTO urls (slug) VALUES ('kept')`);
      await client.query('COMMIT');
      await client.query('begin');
      await client.query(`INSERT INTO urls (slug) VALUES ('discarded')`);
      await client.query('rollback');
      client.release();
      expect((await pool.query('SELECT slug FROM urls')).rows).toEqual([{ slug: 'kept' }]);
    });
  });

  it('rolls back an app transaction whose statement failed, and goes on', async () => {
    await inTransactionMode(async (pool) => {
      const client = await pool.connect();
      await client.query('BEGIN');
      await client.query(`INSERT INTO urls (slug) VALUES ('x')`);
      await expect(client.query(`INSERT INTO urls (slug) VALUES ('x')`)).rejects.toThrow(/duplicate key/);
      await client.query('ROLLBACK');
      client.release();
      expect(await count(pool)).toBe(0);
    });
  });

  it('serialises a second connection behind an open app transaction instead of mixing them', async () => {
    await inTransactionMode(async (pool) => {
      const a = await pool.connect();
      await a.query('BEGIN');
      await a.query(`INSERT INTO urls (slug) VALUES ('in-tx')`);
      const outsideStatement = pool.query(`INSERT INTO urls (slug) VALUES ('waits')`);
      await a.query('ROLLBACK');
      a.release();
      await outsideStatement;
      expect((await pool.query('SELECT slug FROM urls')).rows).toEqual([{ slug: 'waits' }]);
    });
  });

  it('ends an app transaction the test left open with its rollback: the next test neither waits for it nor sees it', async () => {
    await inTransactionMode(async (pool, _outside, { mode }) => {
      const client = await pool.connect();
      await client.query('BEGIN');
      await client.query(`INSERT INTO urls (slug) VALUES ('left open')`);
      await mode.rollback();
      await mode.begin();
      // Well before the 10 s a statement waits for an app transaction.
      await pool.query(`INSERT INTO urls (slug) VALUES ('next test')`);
      // The client goes on in the next test, outside any transaction; its release has nothing to undo.
      await client.query(`INSERT INTO urls (slug) VALUES ('client again')`);
      client.release();
      expect((await pool.query('SELECT slug FROM urls ORDER BY id')).rows).toEqual([
        { slug: 'next test' },
        { slug: 'client again' },
      ]);
    });
  });

  it('supports the callback forms TypeORM uses', async () => {
    await inTransactionMode(async (pool) => {
      const client = await new Promise<pg.PoolClient>((resolve, reject) =>
        pool.connect((error, c) => (error ? reject(error) : resolve(c!))),
      );
      const result = await new Promise<pg.QueryResult>((resolve, reject) =>
        client.query(`INSERT INTO urls (slug) VALUES ('cb') RETURNING id`, (error: Error | null, r: pg.QueryResult) =>
          error ? reject(error) : resolve(r),
        ),
      );
      expect(result.rows).toEqual([{ id: 1 }]);
      client.release();
    });
  });
});
