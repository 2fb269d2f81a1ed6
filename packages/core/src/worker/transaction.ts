import type { Client } from 'pg';
import { PgworkError } from '../shared/errors';
import { BEGIN, COMMIT, CONTROL, ROLLBACK, splitStatements } from './statements';

/**
 * Transaction-per-test isolation for apps on node-postgres (`pg`), which is
 * what raw pg, Drizzle, TypeORM and Prisma's @prisma/adapter-pg all use.
 * While installed, every `Pool` of the app hands out one shared connection that
 * sits inside a transaction opened before each test and rolled back after it.
 * The app's own transactions become savepoints, and each statement outside
 * them runs under a savepoint too, so a failing statement (a unique violation
 * a test expects) does not abort the test's transaction.
 */
export interface TransactionMode {
  begin(): Promise<void>;
  rollback(): Promise<void>;
  uninstall(): void;
}

type Query = string | { text?: string };
type QueryArgs = [Query, ...unknown[]];
type Callback = (error: Error | null, result?: unknown) => void;

/** Undoes everything since the savepoint and removes it: a failed unit of work, as if it never ran. */
const discard = (savepoint: string) => `ROLLBACK TO SAVEPOINT ${savepoint}; RELEASE SAVEPOINT ${savepoint}`;

/** How long a statement waits for an app transaction on another "connection" before it says so. */
const WAIT_MS = 10_000;

export interface PgModule {
  Pool: { prototype: Record<string, unknown> };
  Client: new (config: object) => Client;
}

export function installTransactionMode(pg: PgModule, shared: Client): TransactionMode {
  let depth = 0;
  /** Serialises the app's units of work (a statement, or a whole app transaction) on the one connection. */
  let queue: Promise<void> = Promise.resolve();
  let holder: object | undefined;

  const acquire = (owner: object) => {
    let release!: () => void;
    const previous = queue;
    queue = new Promise<void>((resolve) => (release = resolve));
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new PgworkError(
              'RESET_FAILED',
              'reset "transaction" shares one connection per worker, and a statement waited 10 s for an open app transaction on another pool connection; finish the transaction first, or use the default reset.',
            ),
          ),
        WAIT_MS,
      );
      timer.unref?.();
    });
    return Promise.race([previous.then(() => clearTimeout(timer)), waited]).then(() => {
      holder = owner;
      return () => {
        holder = undefined;
        release();
      };
    });
  };

  /** "SET CONSTRAINTS <the initially deferred ones> DEFERRED; ": undoes the app COMMIT's SET CONSTRAINTS ALL IMMEDIATE. */
  let deferred: Promise<string> | undefined;
  const restoreDeferred = () =>
    (deferred ??= shared
      .query<{ names: string | null }>(
        `SELECT string_agg(format('%I.%I', n.nspname, c.conname), ', ') AS names
         FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_namespace n ON n.oid = c.connamespace WHERE c.condeferred`,
      )
      .then(({ rows }) => (rows[0]?.names ? `SET CONSTRAINTS ${rows[0].names} DEFERRED; ` : '')));

  const text = (query: Query) => (typeof query === 'string' ? query : (query?.text ?? ''));

  /** One client handed out by Pool#connect: its transactions are savepoints on the shared connection. */
  const makeClient = () => {
    const owner = {};
    let releaseLock: (() => void) | undefined;
    let savepoint: string | undefined;
    const run = async (args: QueryArgs) => {
      const sql = text(args[0]);
      const statements = splitStatements(sql);
      if (statements.length > 1 && statements.some((part) => CONTROL.some((control) => control.test(part))))
        return script(statements);
      if (BEGIN.test(sql) && !savepoint) {
        releaseLock = await acquire(owner);
        savepoint = `pgwork_tx_${++depth}`;
        return shared.query(`SAVEPOINT ${savepoint}`);
      }
      if (savepoint && COMMIT.test(sql)) {
        const name = savepoint;
        savepoint = undefined;
        try {
          // Deferred constraints and constraint triggers fire at the app's COMMIT, as they would at a real one.
          await shared.query('SET CONSTRAINTS ALL IMMEDIATE').catch(async (error: unknown) => {
            await shared.query(discard(name));
            throw error;
          });
          return await shared.query(`${await restoreDeferred()}RELEASE SAVEPOINT ${name}`);
        } finally {
          releaseLock?.();
        }
      }
      // COMMIT or ROLLBACK with no transaction open: a warning on a real connection, nothing here.
      if (!savepoint && (COMMIT.test(sql) || ROLLBACK.test(sql))) return shared.query('SELECT WHERE false');
      if (savepoint && ROLLBACK.test(sql)) {
        const name = savepoint;
        savepoint = undefined;
        try {
          return await shared.query(discard(name));
        } finally {
          releaseLock?.();
        }
      }
      if (savepoint) return (shared.query as (...a: unknown[]) => Promise<unknown>)(...args);
      return autocommit(owner, args);
    };
    /**
     * Several statements in one string ('BEGIN; INSERT ...; COMMIT'): each
     * transaction statement becomes its savepoint statement, in place, and the
     * string runs as one query under a savepoint that undoes it all on error.
     */
    const script = async (statements: string[]) => {
      const prior = savepoint;
      if (!prior) releaseLock = await acquire(owner);
      let open = prior;
      const rewritten = statements.map((part) => {
        if (BEGIN.test(part) && !open) return `SAVEPOINT ${(open = `pgwork_tx_${++depth}`)}`;
        if (!open && (COMMIT.test(part) || ROLLBACK.test(part))) return 'SELECT WHERE false';
        const name = open;
        if (!COMMIT.test(part) && !ROLLBACK.test(part)) return part;
        open = undefined;
        return COMMIT.test(part) ? `RELEASE SAVEPOINT ${name}` : `ROLLBACK TO SAVEPOINT ${name}`;
      });
      await shared.query('SAVEPOINT pgwork_script');
      try {
        const result = await shared.query(rewritten.join(';\n'));
        savepoint = open;
        if (!open) await shared.query('RELEASE SAVEPOINT pgwork_script');
        return result;
      } catch (error) {
        // The app's transaction failed as a whole, as on a real connection.
        await shared.query(discard(prior ?? 'pgwork_script')).catch(() => undefined);
        savepoint = undefined;
        throw error;
      } finally {
        if (!savepoint) releaseLock?.();
      }
    };
    const client = new Proxy(shared, {
      get(target, property) {
        if (property === 'query') {
          return (...args: unknown[]) => {
            const callback = typeof args[args.length - 1] === 'function' ? (args.pop() as Callback) : undefined;
            const result = run(args as QueryArgs);
            if (!callback) return result;
            result.then(
              (value) => callback(null, value),
              (error: Error) => callback(error),
            );
            return undefined;
          };
        }
        if (property === 'release') {
          return () => {
            // A client released mid-transaction rolls back what it did, as a real one would be discarded.
            if (savepoint) {
              const name = savepoint;
              savepoint = undefined;
              void shared
                .query(discard(name))
                .catch(() => undefined)
                .finally(() => releaseLock?.());
            }
          };
        }
        if (property === 'end') return async () => undefined;
        const value = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    return client;
  };

  /** A statement outside any app transaction: under its own savepoint, so its failure is contained. */
  const autocommit = async (owner: object, args: QueryArgs) => {
    const release = holder === owner ? () => undefined : await acquire(owner);
    try {
      await shared.query('SAVEPOINT pgwork_stmt');
      try {
        const result = await (shared.query as (...a: unknown[]) => Promise<unknown>)(...args);
        await shared.query('RELEASE SAVEPOINT pgwork_stmt');
        return result;
      } catch (error) {
        await shared.query(discard('pgwork_stmt')).catch(() => undefined);
        throw error;
      }
    } finally {
      release();
    }
  };

  const proto = pg.Pool.prototype;
  const original = { connect: proto.connect, query: proto.query, end: proto.end };
  proto.connect = function connect(callback?: (error: Error | null, client?: unknown, done?: () => void) => void) {
    const client = makeClient();
    if (typeof callback === 'function') {
      callback(null, client, () => (client as unknown as { release(): void }).release());
      return undefined;
    }
    return Promise.resolve(client);
  };
  proto.query = function query(...args: unknown[]) {
    const client = makeClient() as unknown as { query(...a: unknown[]): unknown };
    return client.query(...args);
  };
  proto.end = function end(callback?: () => void) {
    if (typeof callback === 'function') {
      callback();
      return undefined;
    }
    return Promise.resolve();
  };

  return {
    async begin() {
      await shared.query('BEGIN');
    },
    async rollback() {
      await shared.query('ROLLBACK');
    },
    uninstall() {
      Object.assign(proto, original);
    },
  };
}
