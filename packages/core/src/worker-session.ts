import type { Client } from 'pg';
import { loadAdapter, type Adapter } from './adapter';
import { connect, withClient } from './connection';
import { ensureDatabase, notOwnedError, parseMarker } from './databases';
import { PgworkError, maskUrl, sqlState } from './errors';
import { expandWorkerEnv } from './options';
import { databaseUrl, workerDatabaseName } from './naming';
import { Resetter } from './reset';
import { isSchemaReady, schemaUrl, workerSchemaName } from './schema-run';
import { readRunState } from './run-group';
import { optionsDigest } from './binding';
import { runStateVariable, type RunState } from './run';
import { resolveWorkerId } from './worker';

/** The database this worker uses: its own, or the shared one (isolation off, or a schema of its own in it). */
export function workerDatabase(
  state: RunState,
  workerId: number = resolveWorkerId(),
): { name: string; url: string; schema?: string } {
  if (state.workerSchemas) {
    const schema = workerSchemaName(state.baseName, state.runId, workerId);
    return { name: state.shared!, url: schemaUrl(databaseUrl(state.serverUrl, state.shared!), schema), schema };
  }
  const name = state.shared ?? workerDatabaseName(state.baseName, state.runId, workerId);
  if (state.protectedDatabases.includes(name)) {
    throw new PgworkError(
      'INVALID_NAME',
      `the worker database name ${JSON.stringify(name)} is the configured database itself; choose another baseName.`,
    );
  }
  return { name, url: databaseUrl(state.serverUrl, name) };
}

/**
 * The part of the worker lifecycle that must be synchronous and run before any
 * app module is imported: point every configured variable at this worker's database.
 */
export function applyWorkerEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  project?: string,
  options?: unknown,
): string {
  const state = readRunState(env, project);
  if (options !== undefined && state.optionsDigest && optionsDigest(options) !== state.optionsDigest) {
    throw new PgworkError(
      'NO_RUN',
      `this test file's Jest project has other pgwork options than the run ${runStateVariable(project)} describes: Jest runs one globalSetup per distinct file, so in a multi-project config give every project wrapped by withPgwork its own displayName.`,
    );
  }
  const workerId = resolveWorkerId(env);
  for (const [name, value] of Object.entries(workerVariables(state, workerId))) env[name] = value;
  return workerDatabase(state, workerId).url;
}

/** Every variable pgwork sets in a worker, and its value there: `env` names the worker's database, `workerEnv` expanded. */
export function workerVariables(state: RunState, workerId: number): Record<string, string> {
  const { url } = workerDatabase(state, workerId);
  const variables: Record<string, string> = {};
  for (const name of state.env) variables[name] = url;
  for (const [name, value] of Object.entries(state.workerEnv ?? {}))
    variables[name] = expandWorkerEnv(value, workerId, state.runId);
  return variables;
}

/**
 * The variables whose value is no longer what pgwork set (a setup file or test
 * code overwrote them), as one line naming each, its value now and the fix;
 * undefined when all still hold.
 */
export function overwrittenVariables(state: RunState, workerId: number, env: NodeJS.ProcessEnv): string | undefined {
  const changed = Object.entries(workerVariables(state, workerId)).filter(([name, value]) => env[name] !== value);
  if (!changed.length) return undefined;
  const shown = changed
    .map(([name]) => `${name} (now ${env[name] === undefined ? 'unset' : JSON.stringify(maskUrl(env[name]!))})`)
    .join(', ');
  const fix = changed.some(([name]) => state.env.includes(name))
    ? 'remove the assignment from your setup files or test code, or add the variable your app reads to pgwork\'s env option (env: ["DATABASE_URL", "TEST_DATABASE_URL"]) so pgwork rewrites that one instead'
    : 'remove the assignment from your setup files or test code';
  return `worker ${workerId}: ${shown} changed after pgwork set it for this worker, so tests would not use the worker's own database or service; ${fix} (checkEnv: "warn" or "off" relaxes this check).`;
}

/** How long a reset waits for a lock an app connection holds before it says so. */
export const RESET_LOCK_TIMEOUT_MS = 15_000;

export interface WorkerSession {
  readonly database: string;
  /** The session's own connection to the worker database. */
  readonly client: Client;
  readonly url: string;
  /** Whether this session cloned the database (false: it already existed in this run). */
  readonly created: boolean;
  reset(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Ensures the worker's database exists (cloned from the run's template; many
 * workers may race, exactly one clone per name) and opens the connection that
 * resets it. Idempotent: a second call in the same run reuses the database.
 */
export async function openWorkerSession(state: RunState, workerId: number = resolveWorkerId()): Promise<WorkerSession> {
  if (state.workerSchemas) return openSchemaSession(state, workerId);
  const { name, url } = workerDatabase(state, workerId);
  const open = () => connect(url, { source: state.source, lockTimeoutMs: RESET_LOCK_TIMEOUT_MS });
  // Fast path: the database exists (prewarmed, or an earlier test file of this worker).
  let client: Client | undefined = await open().catch((error: Error) => {
    if (sqlState(error.cause) === '3D000') return undefined;
    throw error;
  });
  if (client && !(await isOwnedByRun(client, state))) {
    // Mid-creation (created, not yet marked) or not ours: decide under the name's lock.
    await client.end().catch(() => undefined);
    client = undefined;
  }
  let created = false;
  if (!client) {
    const admin = databaseUrl(state.serverUrl, state.maintenanceDatabase);
    const outcome = await withClient(admin, { source: state.source }, (adminClient) =>
      ensureDatabase(adminClient, name, {
        template: state.template,
        strategy: state.cloneStrategy,
        marker: { kind: 'worker', run: state.runId, template: state.template, created: new Date().toISOString() },
      }),
    );
    created = outcome === 'created';
    client = await open();
    if (!(await isOwnedByRun(client, state))) {
      await client.end().catch(() => undefined);
      throw notOwnedError(name);
    }
  }
  return sessionOn(state, client, name, url, created);
}

/** Schema isolation: the schema was made in globalSetup; the worker only connects to it. */
async function openSchemaSession(state: RunState, workerId: number): Promise<WorkerSession> {
  const { name, url, schema } = workerDatabase(state, workerId);
  const client = await connect(url, { source: state.source, lockTimeoutMs: RESET_LOCK_TIMEOUT_MS });
  if (!(await isSchemaReady(client, schema!, state.runId))) {
    await client.end().catch(() => undefined);
    throw new PgworkError(
      'NO_RUN',
      `worker ${workerId}'s schema ${schema} was not prepared by globalSetup (it prepares one per maxWorkers); do not raise the worker count after globalSetup.`,
    );
  }
  return sessionOn(state, client, name, url, false, [schema!]);
}

function sessionOn(
  state: RunState,
  session: Client,
  name: string,
  url: string,
  created: boolean,
  schemas?: string[],
): WorkerSession {
  let adapter: Adapter | undefined;
  const resetter = new Resetter(session, { bookkeepingTables: state.bookkeepingTables, schemas });
  return {
    database: name,
    client: session,
    url,
    created,
    async reset() {
      if (state.adapter) {
        adapter ??= loadAdapter(state.adapter, { rootDir: state.rootDir });
        await adapter.reset!({ url, database: name, client: session });
      } else {
        await resetter.reset();
      }
    },
    async close() {
      await session.end().catch(() => undefined);
    },
  };
}

async function isOwnedByRun(client: Client, state: RunState): Promise<boolean> {
  const { rows } = await client.query<{ comment: string | null }>(
    `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = current_database()`,
  );
  const marker = parseMarker(rows[0]?.comment);
  return !!marker && marker.run === state.runId && marker.kind !== 'template';
}
