import type { AdapterReference } from './adapter';
import { PgworkError } from './errors';
import type { ServiceSpec } from './services';
import { ISOLATION_MODES, type CheckEnv, type ResetBefore, type ResetMode } from './modes';

export type { CheckEnv, IsolationMode, ResetBefore, ResetMode } from './modes';

// A run's state: written by globalSetup, read by every worker from the
// environment as JSON. The worker side depends on this file, never on setup code.

/** What every worker needs whatever the isolation: the options, as resolved in globalSetup. */
export interface WorkerSettings {
  /** Variables rewritten to the worker's database URL. */
  readonly env: readonly string[];
  /** Other per-worker variables, with placeholders (WORKER_ENV_PLACEHOLDERS). */
  readonly workerEnv: Readonly<Record<string, string>>;
  /** Per-worker services, in start order (worker/services.ts); absent when the run has none. */
  readonly services?: readonly ServiceSpec[];
  /** The run's {slot} numbers are this + the worker's id (setup/slots.ts); absent when no workerEnv uses {slot}. */
  readonly slotBase?: number;
  /** PGWORK_KEEP=failed: copy a failing test's database before the next reset (worker/keep-failed.ts). */
  readonly keepFailed?: boolean;
  readonly checkEnv: CheckEnv;
  /** Tables reset never empties, "schema.table": the adapter's bookkeeping and the keepTables option. */
  readonly keepTables: readonly string[];
  readonly reset: ResetMode;
  readonly resetBefore: ResetBefore;
  /** PGWORK_RESET_BEFORE chose it: it wins over test files' docblocks too. */
  readonly resetBeforeForced: boolean;
  readonly rootDir: string;
  /** Present when the adapter has its own reset, so workers can load it. */
  readonly adapter?: AdapterReference;
  /** Digest of the options: a worker whose project has others read another project's run. */
  readonly optionsDigest?: string;
}

/** Where a run's server is, and where that choice came from (named in errors). */
export interface ServerAddress {
  /** pgwork's own connections (the embedded server's socket). */
  readonly url: string;
  /** The app's, where it differs from `url`: the embedded server's loopback TCP address with its password. */
  readonly appUrl?: string;
  readonly source: string;
}

/** A URL on `server.url`, as the app reaches the same database with the same parameters. */
export function appUrlOf(server: ServerAddress, url: string): string {
  if (!server.appUrl) return url;
  const app = new URL(server.appUrl);
  const target = new URL(url);
  target.username = app.username;
  target.password = app.password;
  target.host = app.host;
  target.searchParams.delete('host');
  return target.toString();
}

interface StateBase {
  readonly version: 1;
  readonly runId: string;
  /** The project of a multi-project config this run serves, recorded on what it makes (`pgwork url --project`). */
  readonly project?: string;
  readonly settings: WorkerSettings;
}

/** A database per worker, cloned from the run's template on one server. */
export interface DatabaseRunState extends StateBase {
  readonly mode: 'database';
  readonly server: ServerAddress;
  readonly maintenanceDatabase: string;
  readonly baseName: string;
  readonly template: string;
  /** FILE_COPY on the embedded server (fsync off), else Postgres' default. */
  readonly cloneStrategy?: 'FILE_COPY';
  /** Databases a worker must never become: the URL's own and the maintenance database. */
  readonly protectedDatabases: readonly string[];
  /** PGWORK_DISABLE=1: every worker uses this one database. */
  readonly shared?: string;
  /** Workers whose databases globalSetup clones in the background; the others clone on demand. */
  readonly prewarmed?: readonly number[];
}

/** A schema per worker in one database, made and migrated by globalSetup. */
export interface SchemaRunState extends StateBase {
  readonly mode: 'schema';
  readonly server: ServerAddress;
  readonly database: string;
  readonly baseName: string;
  /** PGWORK_DISABLE=1: every worker uses worker 1's schema. */
  readonly shared: boolean;
}

/** A server per worker, each with a database run of its own. */
export interface ServerRunState extends StateBase {
  readonly mode: 'server';
  readonly perWorker: Readonly<Record<string, DatabaseRunState>>;
}

export type RunState = DatabaseRunState | SchemaRunState | ServerRunState;

/** Where one worker's tests go. */
export interface WorkerTarget {
  readonly database: string;
  /** pgwork's own connections to it. */
  readonly url: string;
  /** What the worker's variables say: the same database as the app's driver reaches it. */
  readonly appUrl: string;
  /** Schema isolation: the worker's schema, first on the URL's search_path. */
  readonly schema?: string;
  /** The template the worker's database was cloned from (modes that clone one): its clones share a reset catalog. */
  readonly template?: string;
  /** The run this worker belongs to (server isolation: its server's). */
  readonly runId: string;
  readonly source: string;
}

/** The environment variable that carries a run's state from globalSetup to the workers. */
export const RUN_STATE_VARIABLE = 'PGWORK_RUN';

/**
 * The variable for one Jest project of a multi-project config (PGWORK_RUN_API
 * for the project "api"): every project's run reaches the same worker processes.
 */
export function runStateVariable(project?: string): string {
  return project ? `${RUN_STATE_VARIABLE}_${project.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}` : RUN_STATE_VARIABLE;
}

/** This worker's run, as globalSetup published it. */
export function readRunState(env: NodeJS.ProcessEnv = process.env, project?: string): RunState {
  const variable = runStateVariable(project);
  const raw = env[variable];
  if (!raw) {
    const where = project ? ` for Jest project "${project}"` : '';
    throw new PgworkError(
      'NO_RUN',
      `${variable} is not set, so pgwork's globalSetup did not run${where}; wrap your Jest config with withPgwork(...) or add @pgwork/core/jest/global-setup as globalSetup.`,
    );
  }
  const parsed = JSON.parse(raw) as RunState;
  if (parsed.version !== 1 || !ISOLATION_MODES.includes(parsed.mode)) {
    throw new PgworkError(
      'NO_RUN',
      `${variable} was written by another pgwork version; use one version of @pgwork/* packages throughout.`,
    );
  }
  return parsed;
}

/**
 * What a workerEnv value may contain besides text: the worker's number, the
 * run's id, and the parts of the worker's connection as the app reaches it,
 * for apps that read DB_HOST, DB_PORT, DB_NAME and the like instead of one URL.
 */
export const WORKER_ENV_PLACEHOLDERS = [
  '{worker}',
  '{run}',
  '{url}',
  '{host}',
  '{port}',
  '{user}',
  '{password}',
  '{database}',
  '{schema}',
  '{slot}',
] as const;

/** Slots a run leases: {slot} is unique across the runs live on the machine for worker ids below this. */
export const SLOTS_PER_RUN = 100;

/** {slot}, or {slot+N}: the slot plus a number, e.g. a port range's start. */
const SLOT = /\{slot(?:\+(\d+))?\}/g;

/** A workerEnv value for one worker. */
export function expandWorkerEnv(
  value: string,
  workerId: number,
  target: WorkerTarget,
  slotBase: number | undefined,
): string {
  const url = new URL(target.appUrl);
  const parts: Record<Exclude<(typeof WORKER_ENV_PLACEHOLDERS)[number], '{slot}'>, string> = {
    '{worker}': String(workerId),
    '{run}': target.runId,
    '{url}': target.appUrl,
    '{host}': url.searchParams.get('host') ?? url.hostname,
    '{port}': url.port || '5432',
    '{user}': decodeURIComponent(url.username),
    '{password}': decodeURIComponent(url.password),
    '{database}': target.database,
    '{schema}': target.schema ?? 'public',
  };
  const slotted = value.replace(SLOT, (_, offset: string | undefined) =>
    String((slotBase ?? 0) + workerId + Number(offset ?? 0)),
  );
  return slotted.replace(/\{[a-z]+\}/g, (placeholder) => parts[placeholder as keyof typeof parts] ?? placeholder);
}
