import type { EventEmitter } from 'node:events';
import type { Client } from 'pg';
import { isPgworkConnection } from '../shared/connection';
import { PgworkError, describeDatabaseError, sqlState } from '../shared/errors';
import { BEGIN, COMMIT, CONTROL, LISTEN, ROLLBACK, SCHEMA_CHANGE, splitStatements } from './statements';

/**
 * Transaction-per-test isolation for apps on node-postgres (`pg`): raw pg,
 * Drizzle, TypeORM and Prisma's @prisma/adapter-pg on its Pool, Knex and
 * Sequelize on clients of their own.
 * While installed, every `Pool` and every `Client` of the app sends its queries
 * to one shared connection that sits inside a transaction opened before each
 * test and rolled back after it. The app's own transactions become savepoints,
 * and each statement outside them runs under a savepoint too, so a failing
 * statement (a unique violation a test expects) does not abort the test's
 * transaction. Each of these units ends as a real COMMIT would: deferred
 * constraints are checked there.
 */
export interface TransactionMode {
  begin(): Promise<void>;
  /**
   * Rolls the test's transaction back. Deferred constraints are checked first,
   * as the test's COMMIT would (Django's TestCase does the same): a violation
   * is rolled back all the same, then thrown with Postgres' message.
   */
  rollback(): Promise<void>;
  uninstall(): void;
}

type Query = string | { text?: string };
type QueryArgs = [Query, ...unknown[]];
type Callback = (error: Error | null, result?: unknown) => void;
type Method = (this: unknown, ...args: unknown[]) => unknown;

/** How one app connection (a pool client, a pg.Client) reaches the shared one. */
interface Route {
  /** Client#query, in its promise and callback forms. */
  query(...args: unknown[]): Promise<unknown> | undefined;
  /** The app connection goes away: an app transaction it left open is rolled back, as the server would. */
  close(): Promise<void>;
}

/** Undoes everything since the savepoint and removes it: a failed unit of work, as if it never ran. */
const discard = (savepoint: string) => `ROLLBACK TO SAVEPOINT ${savepoint}; RELEASE SAVEPOINT ${savepoint}`;

/** What a real COMMIT does first: fire the deferred constraints and constraint triggers. */
const CHECK_DEFERRED = 'SET CONSTRAINTS ALL IMMEDIATE';

/** How long a statement waits for an app transaction on another "connection" before it says so. */
const WAIT_MS = 10_000;

const LISTEN_REFUSED =
  'reset "transaction" runs LISTEN inside the test\'s transaction, where it never takes effect (Postgres starts listening at commit); use the default reset for tests that wait for notifications.';
const SUBMITTABLE_REFUSED =
  'reset "transaction" cannot route a query object that reads over several round trips (pg-cursor, pg-query-stream) into the test\'s transaction; read the rows with a plain query, or use the default reset.';

export interface PgModule {
  Pool: { prototype: Record<string, unknown> };
  Client: { prototype: Record<string, unknown> } & (new (config: object) => Client);
}

/** The app's own `pg`, as `load` (the require the app's modules load with) resolves it from the project's root. */
export function appPg(load: NodeJS.Require, rootDir: string): PgModule {
  return load(load.resolve('pg', { paths: [rootDir] })) as PgModule;
}

/** A multi-statement query's results (pg gives an array), or a single one's. */
const resultsOf = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

/** A promise handed to a node-style callback when the caller gave one (pg's two forms). */
function settle(result: Promise<unknown>, callback: Callback | undefined): Promise<unknown> | undefined {
  if (!callback) return result;
  result.then(
    (value) => callback(null, value),
    (error: Error) => callback(error),
  );
  return undefined;
}

export function installTransactionMode(pg: PgModule, shared: Client): TransactionMode {
  let depth = 0;
  /** Serialises the app's units of work (a statement, or a whole app transaction) on the one connection. */
  let queue: Promise<void> = Promise.resolve();
  let holder: object | undefined;
  /** Counts the test's rollbacks: an app transaction still open at one ended with it. */
  let rollbacks = 0;

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
              `reset "transaction" shares one connection per worker, and a statement waited ${WAIT_MS / 1000} s for an open app transaction on another pool connection; finish the transaction first, or use the default reset.`,
            ),
          ),
        WAIT_MS,
      );
      timer.unref?.();
    });
    return Promise.race([previous.then(() => clearTimeout(timer)), waited]).then(() => {
      holder = owner;
      return () => {
        if (holder === owner) holder = undefined;
        release();
      };
    });
  };

  /**
   * "; SET CONSTRAINTS <the initially deferred ones> DEFERRED", or "": how a
   * transaction starts. A unit's end makes every constraint immediate, so the
   * next unit defers these again.
   */
  let deferred: Promise<string> | undefined;
  /** Whether the test ran a statement that may add or drop a constraint: its rollback undoes that. */
  let schemaChanged = false;
  const initiallyDeferred = () => {
    if (deferred) return deferred;
    const reading = shared
      .query<{ names: string | null }>(
        `SELECT string_agg(format('%I.%I', n.nspname, c.conname), ', ') AS names
         FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_namespace n ON n.oid = c.connamespace WHERE c.condeferred`,
      )
      .then(({ rows }) => (rows[0]?.names ? `; SET CONSTRAINTS ${rows[0].names} DEFERRED` : ''));
    // A failed read is not kept: the next unit reads again.
    reading.catch(() => {
      if (deferred === reading) deferred = undefined;
    });
    deferred = reading;
    return reading;
  };
  /** After a statement ran: one that may have added or dropped a constraint makes the next unit read them again. */
  const noteSchemaChange = (sql: string) => {
    if (!SCHEMA_CHANGE.test(sql)) return;
    deferred = undefined;
    schemaChanged = true;
  };

  /** Opens a unit of work (an app transaction, or a statement outside one) under a savepoint. */
  const openUnit = async (savepoint: string) => {
    const defer = await initiallyDeferred();
    try {
      return resultsOf(await shared.query(`SAVEPOINT ${savepoint}${defer}`))[0];
    } catch (error) {
      if (!defer || !['42704', '3F000'].includes(sqlState(error) ?? '')) throw error;
      // A constraint it names was dropped meanwhile (another run's worker schema, DDL in a function): read them again.
      await shared.query(discard(savepoint));
      deferred = undefined;
      return resultsOf(await shared.query(`SAVEPOINT ${savepoint}${await initiallyDeferred()}`))[0];
    }
  };

  /**
   * Ends a unit of work as a real COMMIT ends a transaction, in one round trip:
   * deferred constraints and constraint triggers fire first, and a violation
   * undoes the unit and fails with Postgres' own error.
   */
  const commitUnit = async (savepoint: string) => {
    try {
      return resultsOf(await shared.query(`${CHECK_DEFERRED}; RELEASE SAVEPOINT ${savepoint}`)).at(-1);
    } catch (error) {
      await shared.query(discard(savepoint)).catch(() => undefined);
      throw error;
    }
  };

  const text = (query: Query) => (typeof query === 'string' ? query : (query?.text ?? ''));

  /** One app connection: its transactions are savepoints on the shared connection. */
  const route = (): Route => {
    const owner = {};
    let releaseLock: (() => void) | undefined;
    let savepoint: string | undefined;
    /** The test transaction `savepoint` was made in (rollbacks then). */
    let madeIn = 0;
    const hold = (name: string | undefined) => {
      savepoint = name;
      madeIn = rollbacks;
    };
    /** An app transaction left open when the test ended (a test that timed out) went with its rollback. */
    const forgetEnded = () => {
      if (!savepoint || madeIn === rollbacks) return;
      hold(undefined);
      releaseLock = undefined;
    };
    const unlock = () => {
      const release = releaseLock;
      releaseLock = undefined;
      release?.();
    };
    const run = async (args: QueryArgs) => {
      const sql = text(args[0]);
      try {
        return await dispatch(sql, args);
      } finally {
        noteSchemaChange(sql);
      }
    };
    const dispatch = async (sql: string, args: QueryArgs) => {
      forgetEnded();
      const statements = splitStatements(sql);
      if (statements.some((part) => LISTEN.test(part))) throw new PgworkError('INVALID_OPTION', LISTEN_REFUSED);
      if (statements.length > 1 && statements.some((part) => CONTROL.some((control) => control.test(part))))
        return script(statements);
      if (BEGIN.test(sql) && !savepoint) {
        releaseLock = await acquire(owner);
        hold(`pgwork_tx_${++depth}`);
        return openUnit(savepoint!);
      }
      if (savepoint && COMMIT.test(sql)) {
        const name = savepoint;
        savepoint = undefined;
        try {
          return await commitUnit(name);
        } finally {
          unlock();
        }
      }
      // COMMIT or ROLLBACK with no transaction open: a warning on a real connection, nothing here.
      if (!savepoint && (COMMIT.test(sql) || ROLLBACK.test(sql))) return shared.query('SELECT WHERE false');
      if (savepoint && ROLLBACK.test(sql)) {
        const name = savepoint;
        savepoint = undefined;
        try {
          return resultsOf(await shared.query(discard(name))).at(-1);
        } finally {
          unlock();
        }
      }
      if (savepoint) return (shared.query as (...a: unknown[]) => Promise<unknown>)(...args);
      return autocommit(owner, args);
    };
    /**
     * Several statements in one string ('BEGIN; INSERT ...; COMMIT'): each
     * transaction statement becomes its savepoint statement, in place, and the
     * string runs as one query under a savepoint that undoes it all on error.
     * What pgwork adds runs in the same round trip and is left out of the results.
     */
    const script = async (statements: string[]) => {
      const prior = savepoint;
      if (!prior) releaseLock = await acquire(owner);
      /** What undoes the string on error, innermost last: its own savepoints, or the app transaction it runs in. */
      const guards = prior ? [prior] : [];
      try {
        if (!prior) {
          guards.push(`pgwork_script_${++depth}`);
          await openUnit(guards[0]!);
        }
        const defer = await initiallyDeferred();
        // One statement each: the results are the app's statements' and pgwork's, one per statement, in order.
        const parts: Array<{ sql: string; added?: true }> = [];
        const add = (sql: string) => parts.push({ sql, added: true });
        const deferAgain = () => defer && add(defer.slice(2));
        let open = prior;
        for (const part of statements) {
          const commit = COMMIT.test(part);
          if (BEGIN.test(part) && !open) parts.push({ sql: `SAVEPOINT ${(open = `pgwork_tx_${++depth}`)}` });
          else if (!open && (commit || ROLLBACK.test(part))) parts.push({ sql: 'SELECT WHERE false' });
          else if (open && (commit || ROLLBACK.test(part))) {
            if (commit) add(CHECK_DEFERRED);
            parts.push({ sql: commit ? `RELEASE SAVEPOINT ${open}` : `ROLLBACK TO SAVEPOINT ${open}` });
            if (open === prior) {
              // The app transaction the string began in is over: what follows needs a savepoint of its own.
              guards.push(`pgwork_script_${++depth}`);
              add(`SAVEPOINT ${guards.at(-1)}`);
              deferAgain();
            } else if (commit) deferAgain();
            open = undefined;
          } else parts.push({ sql: part });
        }
        if (!open) {
          add(CHECK_DEFERRED);
          add(`RELEASE SAVEPOINT ${guards.at(-1)}`);
        }
        const results = resultsOf(await shared.query(parts.map((part) => part.sql).join(';\n')));
        hold(open);
        return results.filter((_, index) => !parts[index]!.added);
      } catch (error) {
        // The app's transaction failed as a whole, as on a real connection.
        hold(undefined);
        // The innermost that exists: a savepoint the string made after its error does not.
        for (const name of guards.reverse()) {
          const undone = await shared.query(discard(name)).then(
            () => true,
            () => false,
          );
          if (undone) break;
        }
        throw error;
      } finally {
        if (!savepoint) unlock();
      }
    };
    return {
      query(...args) {
        const callback = typeof args[args.length - 1] === 'function' ? (args.pop() as Callback) : undefined;
        if (typeof (args[0] as { submit?: unknown } | undefined)?.submit === 'function')
          throw new PgworkError('INVALID_OPTION', SUBMITTABLE_REFUSED);
        return settle(run(args as QueryArgs), callback);
      },
      async close() {
        forgetEnded();
        if (!savepoint) return;
        const name = savepoint;
        savepoint = undefined;
        await shared
          .query(discard(name))
          .catch(() => undefined)
          .finally(unlock);
      },
    };
  };

  /** A statement outside any app transaction: under its own savepoint, so its failure is contained. */
  const autocommit = async (owner: object, args: QueryArgs) => {
    const release = holder === owner ? () => undefined : await acquire(owner);
    try {
      await openUnit('pgwork_stmt');
      let result: unknown;
      try {
        result = await (shared.query as (...a: unknown[]) => Promise<unknown>)(...args);
      } catch (error) {
        await shared.query(discard('pgwork_stmt')).catch(() => undefined);
        throw error;
      }
      await commitUnit('pgwork_stmt');
      return result;
    } finally {
      release();
    }
  };

  /** A client handed out by Pool#connect: the shared connection, its queries routed. */
  const poolClient = () => {
    const routed = route();
    return new Proxy(shared, {
      get(target, property) {
        if (property === 'query') return routed.query;
        // A client released mid-transaction rolls back what it did, as a real one would be discarded.
        if (property === 'release') return () => void routed.close();
        if (property === 'end') return async () => undefined;
        const value = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };

  const proto = pg.Pool.prototype;
  const original = { connect: proto.connect, query: proto.query, end: proto.end };
  proto.connect = function connect(callback?: (error: Error | null, client?: unknown, done?: () => void) => void) {
    const client = poolClient();
    if (typeof callback === 'function') {
      callback(null, client, () => (client as unknown as { release(): void }).release());
      return undefined;
    }
    return Promise.resolve(client);
  };
  proto.query = function query(...args: unknown[]) {
    return route().query(...args);
  };
  proto.end = function end(callback?: () => void) {
    if (typeof callback === 'function') {
      callback();
      return undefined;
    }
    return Promise.resolve();
  };

  /**
   * Every pg.Client of the app's (Knex, Sequelize and scripts open their own),
   * whenever it connected, is routed as a pool client is and opens no
   * connection. The shared connection and pgwork's own stay real.
   */
  const clientProto = pg.Client.prototype;
  const originalClient = {
    connect: clientProto.connect as Method,
    query: clientProto.query as Method,
    end: clientProto.end as Method,
  };
  const routes = new WeakMap<object, Route>();
  /** The clients whose connect() pgwork answered: no connection, so no 'end' event of pg's own. */
  const answered = new WeakSet<object>();
  const ended = new WeakSet<object>();
  const isApps = (client: object) => client !== shared && !isPgworkConnection(client);
  const routeOf = (client: object) => {
    let routed = routes.get(client);
    if (!routed) routes.set(client, (routed = route()));
    return routed;
  };
  clientProto.connect = function connect(this: EventEmitter, callback?: Callback) {
    if (!isApps(this)) return originalClient.connect.call(this, callback);
    const connected = Promise.resolve().then(() => {
      if (answered.has(this)) throw new Error('Client has already been connected. You cannot reuse a client.');
      answered.add(this);
      this.emit('connect');
      return this;
    });
    return settle(connected, callback);
  };
  clientProto.query = function query(this: object, ...args: unknown[]) {
    if (!isApps(this)) return originalClient.query.apply(this, args);
    if (!ended.has(this)) return routeOf(this).query(...args);
    const callback = typeof args[args.length - 1] === 'function' ? (args.pop() as Callback) : undefined;
    return settle(Promise.reject(new Error('Client was closed and is not queryable')), callback);
  };
  clientProto.end = function end(this: EventEmitter, callback?: Callback) {
    if (!isApps(this)) return originalClient.end.call(this, callback);
    ended.add(this);
    const routed = routes.get(this);
    routes.delete(this);
    const closed = (routed?.close() ?? Promise.resolve())
      // A client connected before transaction mode began has a connection: pg closes it and says 'end' itself.
      .then(() => originalClient.end.call(this))
      .then(() => {
        if (answered.has(this)) this.emit('end');
      });
    return settle(closed, callback);
  };

  return {
    async begin() {
      await shared.query('BEGIN');
    },
    async rollback() {
      // Units of work the test left open end here: the next test's statements do not wait for them.
      rollbacks++;
      holder = undefined;
      queue = Promise.resolve();
      const violation = await shared.query(`${CHECK_DEFERRED}; ROLLBACK`).then(
        () => undefined,
        (error: unknown) => error,
      );
      if (schemaChanged) {
        // Rolled back with the test: read the initially deferred constraints again.
        deferred = undefined;
        schemaChanged = false;
      }
      if (!violation) return;
      await shared.query('ROLLBACK');
      // Aborted before the test's end by a statement pgwork did not route: nothing of the check to report.
      if (sqlState(violation) === '25P02') return;
      throw new PgworkError(
        'DATABASE_ERROR',
        `the test left a deferred constraint violated, which a real COMMIT refuses: ${describeDatabaseError(violation).replace(/\.$/, '')}; its writes were rolled back all the same: fix what the test leaves behind, as your app would have to before it commits.`,
        { cause: violation },
      );
    },
    uninstall() {
      Object.assign(proto, original);
      Object.assign(clientProto, originalClient);
    },
  };
}
