import { escapeIdentifier, escapeLiteral, type Client } from 'pg';
import type { Adapter } from './adapter';
import { withClient } from './connection';
import { formatMarker, parseMarker, type DatabaseMarker } from './databases';
import type { EmbeddedServer } from './embedded';
import { PgworkError, describeDatabaseError } from './errors';
import { isLockHeld, unlock, withLock } from './locks';
import { databaseOfUrl, databaseUrl, workerDatabaseName } from './naming';
import { beginRun, workerOptions, type Run, type RunConfig, type RunResult, type RunState } from './run';
import { loadSeed } from './seed';

/**
 * Schema isolation: one database (the one the URL names; no CREATE DATABASE),
 * a schema per worker, migrated by the adapter with search_path pointing at it,
 * and each worker routed there by search_path in its URL. For servers where the
 * role may not create databases, and for apps that never qualify table names.
 */
export const workerSchemaName = workerDatabaseName;

/**
 * A URL whose connections use only `schema`: node-postgres applies `options`
 * at connect; `schema` is Prisma's convention, for apps to hand to
 * `new PrismaPg(..., { schema })`, since Prisma qualifies every table name.
 */
export function schemaUrl(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  parsed.searchParams.set('schema', schema);
  return parsed.toString();
}

interface OwnedSchema {
  name: string;
  marker: DatabaseMarker;
}

async function listOwnedSchemas(client: Client): Promise<OwnedSchema[]> {
  const { rows } = await client.query<{ name: string; comment: string | null }>(
    `SELECT nspname AS name, obj_description(oid, 'pg_namespace') AS comment FROM pg_namespace WHERE obj_description(oid, 'pg_namespace') LIKE 'pgwork:v1 %'`,
  );
  return rows.flatMap((row) => {
    const marker = parseMarker(row.comment);
    return marker ? [{ name: row.name, marker }] : [];
  });
}

async function dropOwnedSchema(
  client: Client,
  name: string,
  accept: (marker: DatabaseMarker) => boolean,
): Promise<boolean> {
  return withLock(client, `schema:${name}`, async () => {
    const owned = (await listOwnedSchemas(client)).find((schema) => schema.name === name);
    if (!owned || !accept(owned.marker)) return false;
    await client.query(`DROP SCHEMA IF EXISTS ${escapeIdentifier(name)} CASCADE`);
    return true;
  });
}

export async function startSchemaRun(config: RunConfig, workerIds: readonly number[]): Promise<Run> {
  const databaseOf = (serverUrl: string) => databaseOfUrl(serverUrl) ?? config.maintenanceDatabase;
  const start = await beginRun(config, databaseOf);
  const { runId, serverUrl, source, admin, embedded } = start;
  try {
    const database = databaseOf(serverUrl);
    const url = databaseUrl(serverUrl, database);
    const reclaimed: string[] = [];
    for (const schema of await listOwnedSchemas(admin)) {
      if (schema.marker.run === runId || (await isLockHeld(admin, `run:${schema.marker.run}`))) continue;
      if (await dropOwnedSchema(admin, schema.name, (marker) => marker.run === schema.marker.run))
        reclaimed.push(schema.name);
    }
    const seed = config.seed ? loadSeed(config.seed, config.rootDir) : undefined;
    const started = performance.now();
    await Promise.all(
      workerIds.map((id) =>
        prepareSchema(config.adapter, url, database, workerSchemaName(config.baseName, runId, id), runId, source, seed),
      ),
    );
    const migrateMs = performance.now() - started;
    const { rows } = await admin.query<{ version: string }>(`SELECT current_setting('server_version') AS version`);
    const state: RunState = Object.freeze({
      version: 1,
      runId,
      serverUrl,
      source,
      maintenanceDatabase: database,
      baseName: config.baseName,
      template: '',
      shared: database,
      workerSchemas: true,
      protectedDatabases: [],
      ...workerOptions(config),
    });
    return {
      state,
      summary: {
        runId,
        template: `${workerIds.length} schema(s) in ${database}`,
        templateBuilt: true,
        migrateMs,
        embedded: embedded !== undefined,
        embeddedDirectory: embedded?.directory,
        serverVersion: rows[0]!.version,
        reclaimed,
      },
      finish: () => finishSchemaRun(admin, runId, config.keep ?? false, embedded),
    };
  } catch (error) {
    await start.abort();
    throw error;
  }
}

/** CREATE SCHEMA, migrate into it (search_path = the schema), seed, mark it ready. */
async function prepareSchema(
  adapter: Adapter,
  url: string,
  database: string,
  schema: string,
  runId: string,
  source: string,
  seed?: ReturnType<typeof loadSeed>,
) {
  const marker: DatabaseMarker = { kind: 'worker', run: runId, state: 'building', created: new Date().toISOString() };
  await withClient(url, { source }, async (client) => {
    await client.query(`CREATE SCHEMA ${escapeIdentifier(schema)}`);
    await client.query(`COMMENT ON SCHEMA ${escapeIdentifier(schema)} IS ${escapeLiteral(formatMarker(marker))}`);
  });
  const target = schemaUrl(url, schema);
  try {
    await withClient(target, { source }, (client) => adapter.migrate({ url: target, database, client }));
    await seed?.run({ url: target, database }, source);
  } catch (error) {
    const detail = error instanceof PgworkError ? error.message.replace(/^pgwork: /, '') : describeDatabaseError(error);
    throw new PgworkError('MIGRATION_FAILED', `adapter ${adapter.name} could not migrate schema ${schema}: ${detail}`, {
      cause: error,
    });
  }
  await withClient(url, { source }, (client) =>
    client.query(
      `COMMENT ON SCHEMA ${escapeIdentifier(schema)} IS ${escapeLiteral(formatMarker({ ...marker, state: 'ready' }))}`,
    ),
  );
}

async function finishSchemaRun(
  admin: Client,
  runId: string,
  keep: boolean,
  embedded: EmbeddedServer | undefined,
): Promise<RunResult> {
  const schemas: string[] = [];
  try {
    for (const schema of await listOwnedSchemas(admin)) {
      if (schema.marker.run !== runId) continue;
      schemas.push(schema.name);
      if (!keep) await dropOwnedSchema(admin, schema.name, (marker) => marker.run === runId);
    }
    await unlock(admin, `run:${runId}`).catch(() => undefined);
  } finally {
    await admin.end().catch(() => undefined);
    await embedded?.stop();
  }
  return { databases: schemas, dropped: !keep };
}

/** Whether the worker's schema exists, belongs to this run and finished migrating. */
export async function isSchemaReady(client: Client, schema: string, runId: string): Promise<boolean> {
  const owned = (await listOwnedSchemas(client)).find((s) => s.name === schema);
  return !!owned && owned.marker.run === runId && owned.marker.state === 'ready';
}
