import { createOwnedSchema, isSchemaReady, markSchema, ownedSchemas, schemaUrl } from '../admin/schemas';
import { dropRunObjects, reclaimDeadRuns } from '../admin/owned';
import { SESSION_LOCK_TIMEOUT_MS, connect, withClient } from '../shared/connection';
import { PgworkError } from '../shared/errors';
import { databaseOfUrl, databaseUrl, serverAddress, workerDatabaseName } from '../shared/naming';
import { appUrlOf, type SchemaRunState } from '../shared/run-state';
import type { Isolation } from './contract';

/** A worker's schema has the name its database would have. */
export const workerSchemaName = workerDatabaseName;

/**
 * A schema per worker in the one database the URL names (no CREATE DATABASE),
 * each migrated by the adapter with search_path pointing at it, and each worker
 * routed there by search_path in its URL. For servers where the role may not
 * create databases, and for apps that never qualify table names.
 */
export const schemaIsolation: Isolation<SchemaRunState> = {
  mode: 'schema',
  unit: 'schema',
  createsDatabases: false,
  clonesTemplate: false,
  serverFor: (server) => server,

  async start(context) {
    const databaseOf = (serverUrl: string) => databaseOfUrl(serverUrl) ?? context.maintenanceDatabase;
    const start = await context.begin(context.server, databaseOf);
    const { runId, admin, server } = start;
    const via = { source: server.source };
    try {
      const database = databaseOf(server.url);
      const reclaimed = await reclaimDeadRuns(admin, ownedSchemas, runId, context.baseName);
      const started = performance.now();
      // PGWORK_DISABLE=1: one schema (worker 1's) for every worker.
      const workerIds = context.disable ? [1] : context.workerIds;
      // One query at a time on the admin connection: pg 8 queues a query handed to a busy client, with a
      // DeprecationWarning, and pg 9 drops the queue. It creates the schemas and marks them in turn; the
      // builds, each on a connection of its own, run at once.
      const schemas = workerIds.map((id) => workerSchemaName(context.baseName, runId, id));
      const marker = {
        kind: 'worker' as const,
        run: runId,
        project: context.project,
        state: 'building' as const,
        created: new Date().toISOString(),
      };
      for (const schema of schemas) await createOwnedSchema(admin, schema, marker);
      const builds = await Promise.allSettled(
        schemas.map((schema) => {
          const target = schemaUrl(databaseUrl(server.url, database), schema);
          return withClient(target, via, (client) =>
            context.build(
              { url: target, database, client, schema, appUrl: appUrlOf(server, target) },
              `schema ${schema}`,
            ),
          );
        }),
      );
      // Every build has settled before the run gives up and ends the admin connection.
      const failed = builds.find((build): build is PromiseRejectedResult => build.status === 'rejected');
      if (failed) throw failed.reason;
      for (const schema of schemas) await markSchema(admin, schema, { ...marker, state: 'ready' });
      const migrateMs = performance.now() - started;
      const state: SchemaRunState = Object.freeze({
        version: 1,
        mode: 'schema',
        runId,
        project: context.project,
        settings: context.settings,
        server,
        database,
        baseName: context.baseName,
        shared: context.disable,
      });
      return {
        state,
        summaries: [
          {
            runId,
            prepared: `schema per worker: ${workerIds.length} in database ${database} built in ${Math.round(migrateMs)} ms`,
            migrateMs,
            embedded: start.embeddedDirectory !== undefined,
            embeddedDirectory: start.embeddedDirectory,
            serverAddress: serverAddress(server.url),
            serverVersion: start.serverVersion,
            reclaimed,
            shared: context.disable ? workerSchemaName(context.baseName, runId, 1) : undefined,
          },
        ],
        places: [
          { runId, url: databaseUrl(server.url, database), source: server.source, unit: 'schema', keep: context.keep },
        ],
        async finish() {
          try {
            const { names, left } = await dropRunObjects(admin, ownedSchemas, runId, context.keep);
            return { databases: names, dropped: !context.keep, left };
          } finally {
            await start.end();
          }
        },
      };
    } catch (error) {
      await start.end();
      throw error;
    }
  },

  target(state, workerId) {
    const schema = workerSchemaName(state.baseName, state.runId, state.shared ? 1 : workerId);
    const url = schemaUrl(databaseUrl(state.server.url, state.database), schema);
    const appUrl = appUrlOf(state.server, url);
    return { database: state.database, url, appUrl, schema, runId: state.runId, source: state.server.source };
  },

  leaseTarget(state) {
    return { url: databaseUrl(state.server.url, state.database), source: state.server.source };
  },

  // The schema was made in globalSetup: the worker only connects to it.
  async open(state, workerId) {
    const target = schemaIsolation.target(state, workerId);
    const client = await connect(target.url, { source: target.source, lockTimeoutMs: SESSION_LOCK_TIMEOUT_MS });
    if (!(await isSchemaReady(client, target.schema!, state.runId))) {
      await client.end().catch(() => undefined);
      throw new PgworkError(
        'NO_RUN',
        `worker ${workerId}'s schema ${target.schema} was not prepared when the run started, which prepares one per worker it is started for (the runner's maxWorkers, or pgwork run --workers); run no more test processes at once than that.`,
      );
    }
    return { target, client, created: false };
  },
};
