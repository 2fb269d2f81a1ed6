import type { Client } from 'pg';
import { PgworkError } from '../shared/errors';

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

const BEGIN = /^\s*(BEGIN|START\s+TRANSACTION)\b/i;
const COMMIT = /^\s*(COMMIT|END)\b(?!\s+PREPARED)/i;
const ROLLBACK = /^\s*ROLLBACK\b(?!\s+(TO|PREPARED)\b)/i;
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

  const text = (query: Query) => (typeof query === 'string' ? query : (query?.text ?? ''));

  /** One client handed out by Pool#connect: its transactions are savepoints on the shared connection. */
  const makeClient = () => {
    const owner = {};
    let releaseLock: (() => void) | undefined;
    let savepoint: string | undefined;
    const run = async (args: QueryArgs) => {
      const sql = text(args[0]);
      if (BEGIN.test(sql) && !savepoint) {
        releaseLock = await acquire(owner);
        savepoint = `pgwork_tx_${++depth}`;
        return shared.query(`SAVEPOINT ${savepoint}`);
      }
      if (savepoint && COMMIT.test(sql)) {
        const name = savepoint;
        savepoint = undefined;
        try {
          return await shared.query(`RELEASE SAVEPOINT ${name}`);
        } finally {
          releaseLock?.();
        }
      }
      if (savepoint && ROLLBACK.test(sql)) {
        const name = savepoint;
        savepoint = undefined;
        try {
          return await shared.query(`ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`);
        } finally {
          releaseLock?.();
        }
      }
      if (savepoint) return (shared.query as (...a: unknown[]) => Promise<unknown>)(...args);
      return autocommit(owner, args);
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
                .query(`ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`)
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
        await shared.query('ROLLBACK TO SAVEPOINT pgwork_stmt; RELEASE SAVEPOINT pgwork_stmt').catch(() => undefined);
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
