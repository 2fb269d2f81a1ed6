import type { Client } from 'pg';
import { describeDatabase, ensureDatabase, notOwnedError, ownedDatabases } from '../admin/databases';
import { dropRunObjects, reclaimDeadRuns } from '../admin/owned';
import { SESSION_LOCK_TIMEOUT_MS, connect, withClient } from '../shared/connection';
import { PgworkError, sqlState } from '../shared/errors';
import {
  databaseOfUrl,
  databaseUrl,
  failedCopyName,
  serverAddress,
  sharedDatabaseName,
  workerDatabaseName,
} from '../shared/naming';
import { appUrlOf, type DatabaseRunState } from '../shared/run-state';
import type { Isolation, RunStart, SetupContext, StartedRun } from './contract';

/** More workers than this clone on demand: a 64-core CI box should not clone 64 databases up front. */
const MAX_PREWARM = 16;

/**
 * The default: a database per worker on one server, cloned from a template
 * migrated once per schema version. Clones for the first workers (up to
 * MAX_PREWARM) are made in the background while the runner starts them; others clone on demand.
 */
export const databaseIsolation: Isolation<DatabaseRunState> = {
  mode: 'database',
  unit: 'database',
  createsDatabases: true,
  clonesTemplate: true,
  serverFor: (server) => server,

  async start(context) {
    const start = await context.begin(context.server, () => context.maintenanceDatabase);
    try {
      return await startOn(start, context);
    } catch (error) {
      await start.end();
      throw error;
    }
  },

  target(state, workerId) {
    const name = state.shared ?? workerDatabaseName(state.baseName, state.runId, workerId);
    if (state.protectedDatabases.includes(name)) {
      throw new PgworkError(
        'INVALID_NAME',
        `the worker database name ${JSON.stringify(name)} is the configured database itself; choose another baseName.`,
      );
    }
    const url = databaseUrl(state.server.url, name);
    return {
      database: name,
      url,
      appUrl: appUrlOf(state.server, url),
      runId: state.runId,
      source: state.server.source,
      template: state.template,
    };
  },

  leaseTarget(state) {
    return { url: databaseUrl(state.server.url, state.maintenanceDatabase), source: state.server.source };
  },

  // Many workers may race for one name: exactly one clone per name, the rest reuse it.
  async open(state, workerId) {
    const target = databaseIsolation.target(state, workerId);
    const open = () => connect(target.url, { source: target.source, lockTimeoutMs: SESSION_LOCK_TIMEOUT_MS });
    // Fast path: it exists (prewarmed, shared, or made for an earlier test file of this worker).
    // A worker nobody prewarmed goes straight to cloning rather than try a connection that must fail.
    const expected = !!state.shared || state.prewarmed === undefined || state.prewarmed.includes(workerId);
    let client: Client | undefined = !expected
      ? undefined
      : await open().catch((error: Error) => {
          if (sqlState(error.cause) === '3D000') return undefined;
          throw error;
        });
    if (client && !(await isOwnedByRun(client, target.database, state.runId))) {
      // Mid-creation (created, not yet marked) or not ours: decide under the name's lock.
      await client.end().catch(() => undefined);
      client = undefined;
    }
    if (client) return { target, client, created: false };
    const outcome = await withClient(
      databaseUrl(state.server.url, state.maintenanceDatabase),
      { source: target.source },
      (admin) => cloneTemplate(admin, state, target.database, 'worker'),
    );
    client = await open();
    if (!(await isOwnedByRun(client, target.database, state.runId))) {
      await client.end().catch(() => undefined);
      throw notOwnedError(target.database);
    }
    return { target, client, created: outcome === 'created' };
  },

  async keptCopy(state, workerId, failedTest) {
    const worker = databaseIsolation.target(state, workerId);
    const database = failedCopyName(state.baseName, state.runId, workerId);
    const admin = databaseUrl(state.server.url, state.maintenanceDatabase);
    await withClient(admin, { source: worker.source }, (client) =>
      cloneTemplate(client, state, database, 'worker', failedTest),
    );
    const url = databaseUrl(state.server.url, database);
    return { ...worker, database, url, appUrl: appUrlOf(state.server, url) };
  },
};

async function startOn(start: RunStart, context: SetupContext): Promise<StartedRun<DatabaseRunState>> {
  const { runId, admin, server } = start;
  const reclaimed = await reclaimDeadRuns(admin, ownedDatabases, runId, context.baseName);
  const template = await context.template(start);
  const state: DatabaseRunState = Object.freeze({
    version: 1,
    mode: 'database',
    runId,
    project: context.project,
    settings: context.settings,
    server,
    maintenanceDatabase: context.maintenanceDatabase,
    baseName: context.baseName,
    template: template.name,
    // FILE_COPY (Postgres 15+) measured about twice as fast with fsync off, as on the embedded server.
    cloneStrategy: start.embeddedDirectory && start.serverVersionNumber >= 150000 ? 'FILE_COPY' : undefined,
    protectedDatabases: [databaseOfUrl(server.url), context.maintenanceDatabase].filter(
      (name): name is string => !!name,
    ),
    shared: context.disable ? sharedDatabaseName(context.baseName, runId) : undefined,
    prewarmed: context.disable ? [] : context.workerIds.slice(0, MAX_PREWARM),
  });
  if (state.shared) await cloneTemplate(admin, state, state.shared, 'shared');
  const prewarming = state.shared ? Promise.resolve() : prewarm(admin, state, state.prewarmed ?? []);
  return {
    state,
    summaries: [
      {
        runId,
        prepared: `template ${template.name} ${template.built ? `built in ${Math.round(template.migrateMs)} ms` : 'reused'}`,
        migrateMs: template.migrateMs,
        embedded: start.embeddedDirectory !== undefined,
        embeddedDirectory: start.embeddedDirectory,
        serverAddress: serverAddress(server.url),
        serverVersion: start.serverVersion,
        reclaimed,
        shared: state.shared,
        template: { name: template.name, built: template.built, dropped: template.dropped },
      },
    ],
    places: [
      {
        runId,
        url: databaseUrl(server.url, context.maintenanceDatabase),
        source: server.source,
        unit: 'database',
        keep: context.keep,
      },
    ],
    // Background clones finish before anything is dropped.
    async finish() {
      await prewarming;
      try {
        const { names, left } = await dropRunObjects(admin, ownedDatabases, runId, context.keep);
        return { databases: names, dropped: !context.keep, left };
      } finally {
        await start.end();
      }
    },
  };
}

function cloneTemplate(
  admin: Client,
  state: DatabaseRunState,
  name: string,
  kind: 'worker' | 'shared',
  failedTest?: string,
) {
  const created = new Date().toISOString();
  return ensureDatabase(admin, name, {
    template: state.template,
    strategy: state.cloneStrategy,
    marker: {
      kind,
      run: state.runId,
      project: state.project,
      template: state.template,
      created,
      // A failing test's copy is kept from the start: the run's end drops only what is not.
      ...(failedTest === undefined ? {} : { kept: created, failedTest }),
    },
  });
}

/**
 * Clones the workers' databases one after another on the run's own admin
 * connection, worker 1 first (Jest starts its workers in that order; clones
 * at once only share the cores). A failure is left to that worker, which clones on demand.
 */
async function prewarm(admin: Client, state: DatabaseRunState, workerIds: readonly number[]): Promise<void> {
  for (const id of workerIds) {
    await cloneTemplate(admin, state, workerDatabaseName(state.baseName, state.runId, id), 'worker').catch(
      () => undefined,
    );
  }
}

async function isOwnedByRun(client: Client, database: string, runId: string): Promise<boolean> {
  const marker = (await describeDatabase(client, database))?.marker;
  return !!marker && marker.run === runId && marker.kind !== 'template';
}
