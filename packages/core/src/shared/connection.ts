import { Client } from 'pg';
import { EMBEDDED_SOURCE, PgworkError, describeDatabaseError, maskUrl, sqlState } from './errors';
import { databaseOfUrl } from './naming';

/** How long a worker's reset waits for a lock an app connection holds before it says so. */
export const SESSION_LOCK_TIMEOUT_MS = 15_000;

/** How long a connection may take to open before pgwork gives up on it. */
export const CONNECT_TIMEOUT_MS = 15_000;

/** Every connection pgwork opens carries this application_name, so its sessions can be told apart. */
export const APPLICATION_NAME = 'pgwork';

export interface ConnectOptions {
  /** Where the URL came from, named in errors so the user knows what to fix (e.g. "PGWORK_DATABASE_URL"). */
  source?: string;
  applicationName?: string;
  /** Fail a statement that waits longer than this for a lock (Postgres' lock_timeout). */
  lockTimeoutMs?: number;
}

/**
 * Set on every connection pgwork opens, so that reset "transaction" never
 * routes one of them into a test's transaction: the app's `pg` may be the very
 * module pgwork uses. A global symbol: pgwork's modules inside a runner's
 * sandbox and outside it mark alike.
 */
const PGWORK_CONNECTION = Symbol.for('pgwork.connection');

/** Marks `client` as pgwork's own (see PGWORK_CONNECTION); returns it. */
export function markPgworkConnection<T extends object>(client: T): T {
  Object.defineProperty(client, PGWORK_CONNECTION, { value: true });
  return client;
}

export function isPgworkConnection(client: object): boolean {
  return PGWORK_CONNECTION in client;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN']);

interface ClientClass {
  new (config: object): Client;
}

/**
 * A connected pg Client, or a PgworkError that names the fix. `ClientClass`:
 * another copy of pg's Client, e.g. the app's, so the rows it returns are the app's own Dates and Arrays.
 */
export async function connect(
  url: string,
  options: ConnectOptions = {},
  ClientClass: ClientClass = Client,
): Promise<Client> {
  const client = markPgworkConnection(
    new ClientClass({
      connectionString: url,
      application_name: options.applicationName ?? APPLICATION_NAME,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      lock_timeout: options.lockTimeoutMs,
    }),
  );
  // A server that goes away mid-run emits 'error' on idle clients; without a listener Node would crash.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (error) {
    // A failed connect can leave the socket half-open (a peer that is not
    // Postgres hung up first): destroy it, or it keeps the process alive.
    (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    await client.end().catch(() => undefined);
    throw connectionError(error, url, options.source ?? 'the database URL');
  }
}

export function connectionError(error: unknown, url: string, source: string): PgworkError {
  const code = sqlState(error) ?? (error as { code?: string } | undefined)?.code;
  const shown = maskUrl(url);
  const message = error instanceof Error && error.message ? error.message : String(error);
  // A timer, not the server, said no: the server may be up and this process too busy to read its answer.
  if (/timeout expired/i.test(message)) {
    return new PgworkError(
      'CONNECT_TIMEOUT',
      `Postgres at ${shown} did not finish a connection within ${CONNECT_TIMEOUT_MS / 1000} s (timeout expired): the server or this process was too busy to answer (a loaded machine, or test code blocking the event loop); check that it answers (pgwork doctor), or run fewer workers.`,
      { cause: error },
    );
  }
  if ((code && UNREACHABLE.has(code)) || /Connection terminated/i.test(message)) {
    const fix = source.startsWith(EMBEDDED_SOURCE)
      ? 'the embedded server stopped while this run used it (its cache directory removed, or it crashed: its server.log says why); run the tests again'
      : `start that server or fix ${source}, or set PGWORK_DATABASE_URL=embedded to use pgwork's embedded Postgres instead`;
    return new PgworkError('SERVER_UNREACHABLE', `cannot reach Postgres at ${shown} (${code ?? message}); ${fix}.`, {
      cause: error,
    });
  }
  if (code === '28P01' || code === '28000') {
    const user = safeUser(url);
    return new PgworkError(
      'AUTH_FAILED',
      `Postgres at ${shown} rejected user ${JSON.stringify(user)}: ${describeDatabaseError(error)}; fix the user or password in ${source}.`,
      { cause: error },
    );
  }
  if (code === '3D000') {
    return new PgworkError(
      'DATABASE_ERROR',
      `database ${JSON.stringify(databaseOfUrl(url) ?? '')} does not exist at ${shown}; create it or point ${source} at one that exists.`,
      { cause: error },
    );
  }
  return new PgworkError('DATABASE_ERROR', `cannot connect to ${shown}: ${describeDatabaseError(error)}`, {
    cause: error,
  });
}

function safeUser(url: string): string {
  try {
    return decodeURIComponent(new URL(url).username) || '(default)';
  } catch {
    return '(unknown)';
  }
}

export async function withClient<T>(
  url: string,
  options: ConnectOptions,
  work: (client: Client) => Promise<T>,
): Promise<T> {
  const client = await connect(url, options);
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The server's major version, e.g. 15 or 18. */
export async function serverMajorVersion(client: Client): Promise<number> {
  const { rows } = await client.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
  return Math.floor(Number(rows[0]!.v) / 10000);
}
