import type { Client } from 'pg';
import type { Adapter, AdapterReference } from './adapter';
import { connect, withClient } from './connection';
import { dropOwnedDatabase, ensureDatabase, listOwnedDatabases, type DatabaseMarker } from './databases';
import { startEmbeddedPostgres, type EmbeddedServer } from './embedded';
import { PgworkError } from './errors';
import { isLockHeld, lock, unlock } from './locks';
import {
  databaseOfUrl,
  databaseUrl,
  newRunId,
  sharedDatabaseName,
  templateDatabaseName,
  workerDatabaseName,
} from './naming';
import { loadSeed } from './seed';
import { ensureTemplate, templateFingerprint } from './template';
import type { ResetBefore } from './options';

/** The environment variable that carries a run's state from globalSetup to the workers. */
export const RUN_STATE_VARIABLE = 'PGWORK_RUN';

/**
 * The variable for one Jest project of a multi-project config (PGWORK_RUN_API
 * for the project "api"): every project's run reaches the same worker processes.
 */
export function runStateVariable(project?: string): string {
  return project ? `${RUN_STATE_VARIABLE}_${project.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}` : RUN_STATE_VARIABLE;
}

/** Everything a worker needs, as JSON in the environment: string work only, no lookups. */
export interface RunState {
  readonly version: 1;
  readonly runId: string;
  readonly serverUrl: string;
  readonly source: string;
  readonly maintenanceDatabase: string;
  readonly baseName: string;
  readonly template: string;
  readonly env: readonly string[];
  /** Set when isolation is off (PGWORK_DISABLE=1): every worker uses this one database. */
  readonly shared?: string;
  /** Databases a worker must never become: the URL's own database and the maintenance database. */
  readonly protectedDatabases: readonly string[];
  readonly bookkeepingTables: readonly string[];
  /** "empty" (default): empty what a test wrote before the next. "transaction": roll each test back. */
  readonly reset: 'empty' | 'transaction';
  /** Schema isolation: each worker uses its own schema in the `shared` database. */
  readonly workerSchemas?: boolean;
  /** How workers clone the template: FILE_COPY on the embedded server (fsync off), else Postgres' default. */
  readonly cloneStrategy?: 'FILE_COPY';
  /** Present when the adapter has its own reset, so workers can load it. */
  readonly adapter?: AdapterReference;
  readonly rootDir: string;
  /** When workers reset, and whether PGWORK_RESET_BEFORE forced it over test files' docblocks. */
  readonly resetBefore: ResetBefore;
  readonly resetBeforeForced: boolean;
  /** Other per-worker variables, with {worker} and {run} placeholders. */
  readonly workerEnv: Readonly<Record<string, string>>;
  readonly checkEnv: 'error' | 'warn' | 'off';
  /** Digest of the options the run was started with: a worker whose project has others read another project's run. */
  readonly optionsDigest?: string;
}

/** The RunState fields that come from the options unchanged, whatever the isolation. */
export function workerOptions(
  config: RunConfig,
): Pick<
  RunState,
  | 'env'
  | 'reset'
  | 'resetBefore'
  | 'resetBeforeForced'
  | 'workerEnv'
  | 'checkEnv'
  | 'rootDir'
  | 'adapter'
  | 'optionsDigest'
  | 'bookkeepingTables'
> {
  return {
    env: config.env,
    bookkeepingTables: [...(config.adapter.bookkeepingTables ?? []), ...(config.keepTables ?? [])],
    reset: config.reset ?? 'empty',
    resetBefore: config.resetBefore ?? 'test',
    resetBeforeForced: config.resetBeforeForced ?? false,
    workerEnv: config.workerEnv ?? {},
    checkEnv: config.checkEnv ?? 'error',
    optionsDigest: config.optionsDigest,
    rootDir: config.rootDir,
    adapter: config.adapter.reset ? config.adapterReference : undefined,
  };
}

export interface RunConfig {
  adapter: Adapter;
  /** Recorded in the state when the adapter has its own reset, so workers can load it. */
  adapterReference?: AdapterReference;
  rootDir: string;
  baseName: string;
  env: readonly string[];
  server: { url: string | undefined; source: string };
  maintenanceDatabase: string;
  disable?: boolean;
  keep?: boolean;
  rebuild?: boolean;
  /**
   * Jest's worker count and the app's connections per worker (its pool size):
   * checked against the server's free connections before anything runs.
   */
  workers?: number;
  connectionsPerWorker?: number;
  /** Tables reset never touches (reference data), besides the adapter's bookkeeping tables. */
  keepTables?: readonly string[];
  reset?: 'empty' | 'transaction';
  resetBefore?: ResetBefore;
  resetBeforeForced?: boolean;
  workerEnv?: Readonly<Record<string, string>>;
  checkEnv?: 'error' | 'warn' | 'off';
  optionsDigest?: string;
  /** Seed file (.sql, or a module) written into the template after migrate; relative to rootDir. */
  seed?: string;
  /**
   * Worker ids whose databases are cloned in the background right away, so they
   * are ready by the time Jest's workers have started: a worker then only
   * connects. Other workers, or one whose clone failed, clone on demand.
   */
  prewarm?: readonly number[];
}

export interface RunSummary {
  runId: string;
  template: string;
  templateBuilt: boolean;
  migrateMs: number;
  embedded: boolean;
  /** The embedded cluster's directory, removed at the end of the run. */
  embeddedDirectory?: string;
  serverVersion: string;
  reclaimed: string[];
}

export interface RunResult {
  /** This run's worker (or shared) databases: one per worker that ran a test file. */
  databases: string[];
  /** false when kept (PGWORK_KEEP=1). */
  dropped: boolean;
}

export interface Run {
  readonly state: RunState;
  readonly summary: RunSummary;
  /** Drops this run's databases (unless keep), releases its lease, stops the embedded server. */
  finish(): Promise<RunResult>;
}

/**
 * Everything globalSetup does: find or start the server, take this run's lease,
 * reclaim what dead runs left, and make sure the template exists.
 */
/** What every run begins with: its server, a connection that holds its lease, its id. */
export interface RunStart {
  readonly runId: string;
  readonly serverUrl: string;
  readonly source: string;
  readonly admin: Client;
  readonly embedded: EmbeddedServer | undefined;
  /** Undo the start after a later step failed. */
  abort(): Promise<void>;
}

/**
 * Starts the embedded server when none is configured, connects to the database
 * `databaseOf` names, runs the up-front checks, and takes the run's lease: held
 * as long as this connection lives, so a killed run frees it at once.
 */
export async function beginRun(
  config: RunConfig,
  databaseOf: (serverUrl: string) => string,
  checks: (admin: Client) => Promise<void> = async () => undefined,
): Promise<RunStart> {
  let embedded: EmbeddedServer | undefined;
  let admin: Client | undefined;
  const abort = async () => {
    await admin?.end().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
  };
  try {
    if (config.server.url === undefined) embedded = await startEmbeddedPostgres();
    const serverUrl = config.server.url ?? embedded!.url;
    const source = config.server.source;
    const runId = newRunId();
    admin = await connect(databaseUrl(serverUrl, databaseOf(serverUrl)), {
      source,
      applicationName: `pgwork run ${runId}`,
    });
    await checks(admin);
    await assertConnectionBudget(
      admin,
      config.workers ?? 1,
      config.connectionsPerWorker ?? DEFAULT_CONNECTIONS_PER_WORKER,
      source,
    );
    await lock(admin, `run:${runId}`);
    return { runId, serverUrl, source, admin, embedded, abort };
  } catch (error) {
    await abort();
    throw error;
  }
}

export async function startRun(config: RunConfig): Promise<Run> {
  const start = await beginRun(config, () => config.maintenanceDatabase, assertCanCreateDatabases);
  const { runId, serverUrl, source, admin, embedded } = start;
  try {
    const reclaimed = await reclaimDeadRuns(admin, runId);

    const seed = config.seed ? loadSeed(config.seed, config.rootDir) : undefined;
    const fingerprint = await templateFingerprint(config.adapter, seed);
    const template = await ensureTemplate({
      admin,
      serverUrl,
      source,
      name: templateDatabaseName(config.baseName, fingerprint),
      fingerprint,
      runId,
      adapter: config.adapter,
      seed,
      rebuild: config.rebuild ?? false,
    });
    const protectedDatabases = [databaseOfUrl(serverUrl), config.maintenanceDatabase].filter(
      (name): name is string => !!name,
    );
    const { rows } = await admin.query<{ version: string; number: string }>(
      `SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS number`,
    );
    const cloneStrategy = embedded && Number(rows[0]!.number) >= 150000 ? ('FILE_COPY' as const) : undefined;
    let shared: string | undefined;
    if (config.disable) {
      shared = sharedDatabaseName(config.baseName, runId);
      const marker = {
        kind: 'shared' as const,
        run: runId,
        template: template.name,
        created: new Date().toISOString(),
      };
      await ensureDatabase(admin, shared, { template: template.name, strategy: cloneStrategy, marker });
    }
    const state: RunState = Object.freeze({
      version: 1,
      runId,
      serverUrl,
      source,
      maintenanceDatabase: config.maintenanceDatabase,
      baseName: config.baseName,
      template: template.name,
      shared,
      protectedDatabases,
      cloneStrategy,
      ...workerOptions(config),
    });
    const summary: RunSummary = {
      runId,
      template: template.name,
      templateBuilt: template.built,
      migrateMs: template.migrateMs,
      embedded: embedded !== undefined,
      embeddedDirectory: embedded?.directory,
      serverVersion: rows[0]!.version,
      reclaimed,
    };
    const prewarming = config.disable ? Promise.resolve() : prewarm(state, config.prewarm ?? []);
    return {
      state,
      summary,
      // Background clones finish before anything is dropped.
      finish: () => prewarming.then(() => finishRun(admin, state, config.keep ?? false, embedded)),
    };
  } catch (error) {
    await start.abort();
    throw error;
  }
}

/** Clones the workers' databases from the template, each on its own connection; failures are left to the workers. */
async function prewarm(state: RunState, workerIds: readonly number[]): Promise<void> {
  const admin = databaseUrl(state.serverUrl, state.maintenanceDatabase);
  const clones = workerIds.map((id) =>
    withClient(admin, { source: state.source }, (client) =>
      ensureDatabase(client, workerDatabaseName(state.baseName, state.runId, id), {
        template: state.template,
        strategy: state.cloneStrategy,
        marker: { kind: 'worker', run: state.runId, template: state.template, created: new Date().toISOString() },
      }),
    ),
  );
  await Promise.allSettled(clones);
}

async function finishRun(
  admin: Client,
  state: RunState,
  keep: boolean,
  embedded: EmbeddedServer | undefined,
): Promise<RunResult> {
  const databases: string[] = [];
  try {
    const ownedByRun = (marker: DatabaseMarker) => marker.run === state.runId && marker.kind !== 'template';
    for (const database of await listOwnedDatabases(admin)) {
      if (!ownedByRun(database.marker)) continue;
      databases.push(database.name);
      if (!keep) await dropOwnedDatabase(admin, database.name, ownedByRun);
    }
    await unlock(admin, `run:${state.runId}`).catch(() => undefined);
  } finally {
    await admin.end().catch(() => undefined);
    await embedded?.stop();
  }
  return { databases, dropped: !keep };
}

/** node-postgres' default pool size. */
export const DEFAULT_CONNECTIONS_PER_WORKER = 10;
/** Per worker, pgwork's own: the reset session, and a maintenance connection while it clones. */
const PGWORK_CONNECTIONS_PER_WORKER = 2;

/**
 * Fails up front, with the numbers and the fix, when the workers would need more
 * connections than the server has free: otherwise tests fail later, one by one,
 * with "53300 sorry, too many clients already".
 */
export async function assertConnectionBudget(
  admin: Client,
  workers: number,
  perWorker: number,
  source: string,
): Promise<void> {
  const { rows } = await admin.query<{ max: number; reserved: number; used: number }>(
    `SELECT current_setting('max_connections')::int AS max,
            current_setting('superuser_reserved_connections')::int + coalesce(current_setting('reserved_connections', true), '0')::int AS reserved,
            (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS used`,
  );
  const { max, reserved, used } = rows[0]!;
  const free = max - reserved - used;
  const each = perWorker + PGWORK_CONNECTIONS_PER_WORKER;
  const needed = workers * each;
  if (needed <= free) return;
  const fits = Math.floor(free / each);
  const advice = fits >= 1 ? `lower maxWorkers to ${fits}` : 'no worker fits: free connections on the server';
  throw new PgworkError(
    'CONNECTION_BUDGET',
    `${workers} workers x (${perWorker} app connections + ${PGWORK_CONNECTIONS_PER_WORKER} of pgwork's) need ${needed} connections, but the server at ${source} allows ${max} (${reserved} reserved, ${used} in use, ${free} free); ${advice}, lower your pool size and the connectionsPerWorker option, or raise max_connections.`,
  );
}

async function assertCanCreateDatabases(admin: Client): Promise<void> {
  const { rows } = await admin.query<{ user: string; allowed: boolean }>(
    `SELECT current_user AS user, (rolcreatedb OR rolsuper) AS allowed FROM pg_roles WHERE rolname = current_user`,
  );
  const row = rows[0];
  if (row && !row.allowed) {
    throw new PgworkError(
      'NO_CREATEDB',
      `role ${JSON.stringify(row.user)} cannot create databases; run ALTER ROLE ${JSON.stringify(row.user)} CREATEDB as a superuser, or connect as a role that has CREATEDB.`,
    );
  }
}

/**
 * Drops worker and shared databases of runs that are gone (their lease lock is
 * free: the process ended or was killed), and templates whose build died
 * midway. Never anything of a run that is still alive, never anything unmarked.
 */
export async function reclaimDeadRuns(admin: Client, ownRunId: string): Promise<string[]> {
  const reclaimed: string[] = [];
  const liveness = new Map<string, boolean>();
  const isAlive = async (runId: string) => {
    if (!liveness.has(runId)) liveness.set(runId, runId === ownRunId || (await isLockHeld(admin, `run:${runId}`)));
    return liveness.get(runId)!;
  };
  for (const database of await listOwnedDatabases(admin)) {
    const { marker } = database;
    const abandoned = marker.kind !== 'template' || marker.state === 'building';
    if (!abandoned || (await isAlive(marker.run))) continue;
    // A template mid-build is protected by its builder's lease and template lock; re-check under the name lock.
    const accept = (current: typeof marker) =>
      current.run === marker.run && (current.kind !== 'template' || current.state === 'building');
    if (await dropOwnedDatabase(admin, database.name, accept)) reclaimed.push(database.name);
  }
  return reclaimed;
}
