import { Client, Pool } from 'pg';
import * as pg from 'pg';
import { installTransactionMode, type TransactionMode } from '../src/worker/transaction';
import { withScratchDatabase } from '../src/testing/server';

const SCHEMA = `CREATE TABLE urls (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, slug text UNIQUE NOT NULL)`;

/** Runs work with transaction mode installed on a scratch database, inside one test transaction. */
async function inTransactionMode(
  work: (pool: Pool, outside: Client) => Promise<void>,
  afterRollback?: (outside: Client) => Promise<void>,
) {
  await withScratchDatabase(async (url) => {
    const shared = new Client({ connectionString: url });
    const outside = new Client({ connectionString: url });
    await shared.connect();
    await outside.connect();
    await outside.query(SCHEMA);
    const mode: TransactionMode = installTransactionMode(pg as never, shared);
    const pool = new Pool({ connectionString: url });
    try {
      await mode.begin();
      await work(pool, outside);
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
      await outside.query(
        `CREATE TABLE links (id int PRIMARY KEY, url_id int REFERENCES urls(id) DEFERRABLE INITIALLY DEFERRED)`,
      );
      const client = await pool.connect();
      await client.query('BEGIN');
      await client.query('INSERT INTO links VALUES (1, 999)');
      await expect(client.query('COMMIT')).rejects.toThrow(/violates foreign key constraint/);
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
