import { isAdapterReference, type AdapterReference } from './adapter';
import { PgworkError } from './errors';
import { DEFAULT_BASE_NAME, parseDatabaseUrl, validateBaseName } from './naming';

/** What a user writes in withPgwork(config, options). Plain JSON: Jest passes it between processes. */
export interface PgworkOptions {
  /** The adapter's config helper result, e.g. rawPg({ migrations: 'migrations' }). */
  adapter: AdapterReference;
  /** Prefix of every database pgwork creates. Default "pgwork". */
  baseName?: string;
  /** Environment variables rewritten to the worker's database URL in each worker. Default ["DATABASE_URL"]. */
  env?: string[];
  /**
   * The server to use. Default: PGWORK_DATABASE_URL, else DATABASE_URL, else an
   * embedded Postgres started for the run. "embedded" forces the embedded server.
   * PGWORK_DATABASE_URL, when set, wins over this option.
   */
  databaseUrl?: string;
  /** Database pgwork connects to for CREATE/DROP DATABASE. Default "postgres". */
  maintenanceDatabase?: string;
  /** Tables reset never empties: reference data ("schema.table", or "table" in any schema). */
  keepTables?: string[];
  /** Seed written once into the template after migrate: a .sql file or a module; relative to rootDir. */
  seed?: string;
  /** Connections your app opens per worker (its pool size), for the up-front connection check. Default 10. */
  connectionsPerWorker?: number;
  /**
   * "empty" (default): before each test, empty what the previous one wrote.
   * "transaction": run each test in a transaction rolled back after it (node-postgres apps only).
   * PGWORK_RESET overrides it.
   */
  reset?: 'empty' | 'transaction';
  /**
   * "database" (default): a database per worker on one server. "server": a
   * server per worker (the embedded default starts them; with a URL, worker N
   * uses its port + N).
   */
  isolation?: 'database' | 'server' | 'schema';
}

export interface ServerChoice {
  /** undefined: start the embedded server. */
  readonly url: string | undefined;
  /** Where the choice came from, named in errors. */
  readonly source: string;
}

export interface ResolvedOptions {
  readonly adapter: AdapterReference;
  readonly baseName: string;
  readonly env: readonly string[];
  readonly server: ServerChoice;
  readonly maintenanceDatabase: string;
  readonly keepTables: readonly string[];
  readonly seed: string | undefined;
  readonly connectionsPerWorker: number;
  readonly reset: 'empty' | 'transaction';
  readonly isolation: 'database' | 'server' | 'schema';
  readonly disable: boolean;
  readonly keep: boolean;
  readonly rebuild: boolean;
}

const KNOWN_OPTIONS = ['adapter', 'baseName', 'env', 'databaseUrl', 'maintenanceDatabase', 'keepTables', 'seed', 'connectionsPerWorker', 'reset', 'isolation'];
const TABLE_NAME = /^([^.\s]+\.)?[^.\s]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function resolveOptions(raw: unknown, env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  if (typeof raw !== 'object' || raw === null) {
    throw new PgworkError('INVALID_OPTION', 'no pgwork options found; wrap your Jest config with withPgwork(config, { adapter: ... }) or set globals.pgwork.');
  }
  const options = raw as Record<string, unknown>;
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.includes(key)) {
      throw new PgworkError('INVALID_OPTION', `unknown option ${JSON.stringify(key)}; the options are ${KNOWN_OPTIONS.join(', ')}.`);
    }
  }
  if (!isAdapterReference(options.adapter)) {
    throw new PgworkError('INVALID_OPTION', 'the adapter option is missing; pass an adapter helper\'s result, e.g. adapter: rawPg({ migrations: "migrations" }).');
  }
  const envNames = options.env ?? ['DATABASE_URL'];
  if (!Array.isArray(envNames) || envNames.length === 0 || !envNames.every((name) => typeof name === 'string' && ENV_NAME.test(name))) {
    throw new PgworkError('INVALID_OPTION', `env must be a non-empty list of environment variable names, e.g. ["DATABASE_URL"] (got ${JSON.stringify(envNames)}).`);
  }
  const maintenanceDatabase = options.maintenanceDatabase ?? 'postgres';
  if (typeof maintenanceDatabase !== 'string' || maintenanceDatabase === '' || /^template[01]$/.test(maintenanceDatabase)) {
    throw new PgworkError(
      'INVALID_OPTION',
      `maintenanceDatabase ${JSON.stringify(maintenanceDatabase)} cannot be used: name an existing database other than template0/template1, such as "postgres".`,
    );
  }
  const keepTables = options.keepTables ?? [];
  if (!Array.isArray(keepTables) || !keepTables.every((name) => typeof name === 'string' && TABLE_NAME.test(name))) {
    throw new PgworkError('INVALID_OPTION', `keepTables must be a list of table names, "table" or "schema.table" (got ${JSON.stringify(keepTables)}).`);
  }
  if (options.seed !== undefined && (typeof options.seed !== 'string' || options.seed === '')) {
    throw new PgworkError('INVALID_OPTION', `seed must be the path of a .sql file or a module (got ${JSON.stringify(options.seed)}).`);
  }
  const connectionsPerWorker = options.connectionsPerWorker ?? 10;
  if (!Number.isInteger(connectionsPerWorker) || (connectionsPerWorker as number) < 0) {
    throw new PgworkError('INVALID_OPTION', `connectionsPerWorker must be a whole number, your app's pool size per worker (got ${JSON.stringify(connectionsPerWorker)}).`);
  }
  const reset = env.PGWORK_RESET || options.reset || 'empty';
  if (reset !== 'empty' && reset !== 'transaction') {
    const source = env.PGWORK_RESET ? `PGWORK_RESET=${JSON.stringify(reset)}` : `reset ${JSON.stringify(reset)}`;
    throw new PgworkError('INVALID_OPTION', `${source} is not a reset mode; use "empty" or "transaction".`);
  }
  const isolation = env.PGWORK_ISOLATION || options.isolation || 'database';
  if (isolation !== 'database' && isolation !== 'server' && isolation !== 'schema') {
    const source = env.PGWORK_ISOLATION ? `PGWORK_ISOLATION=${JSON.stringify(isolation)}` : `isolation ${JSON.stringify(isolation)}`;
    throw new PgworkError('INVALID_OPTION', `${source} is not a mode; use "database", "schema" or "server".`);
  }
  return Object.freeze({
    adapter: options.adapter,
    baseName: validateBaseName((options.baseName as string | undefined) ?? DEFAULT_BASE_NAME),
    env: Object.freeze([...(envNames as string[])]),
    server: chooseServer(options.databaseUrl, env),
    maintenanceDatabase,
    keepTables: Object.freeze([...(keepTables as string[])]),
    seed: options.seed as string | undefined,
    connectionsPerWorker: connectionsPerWorker as number,
    reset: reset as 'empty' | 'transaction',
    isolation: isolation as 'database' | 'server' | 'schema',
    disable: flag(env, 'PGWORK_DISABLE'),
    keep: flag(env, 'PGWORK_KEEP'),
    rebuild: flag(env, 'PGWORK_REBUILD'),
  });
}

function chooseServer(option: unknown, env: NodeJS.ProcessEnv): ServerChoice {
  const candidates: Array<[unknown, string]> = [
    [env.PGWORK_DATABASE_URL, 'PGWORK_DATABASE_URL'],
    [option, 'the databaseUrl option'],
    [env.DATABASE_URL, 'DATABASE_URL'],
  ];
  for (const [value, source] of candidates) {
    if (value === undefined || value === '') continue;
    if (typeof value !== 'string') throw new PgworkError('INVALID_OPTION', `${source} must be a string URL.`);
    if (value === 'embedded') return Object.freeze({ url: undefined, source });
    parseDatabaseUrl(value, source);
    return Object.freeze({ url: value, source });
  }
  return Object.freeze({ url: undefined, source: 'the embedded server' });
}

export function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const value = env[name];
  if (value === undefined || value === '' || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  throw new PgworkError('INVALID_OPTION', `${name}=${JSON.stringify(value)} is not understood; set it to 1 or 0.`);
}
