import { escapeIdentifier, escapeLiteral, type Client } from 'pg';
import { withLock } from '../shared/locks';
import { formatMarker, parseMarker, type DatabaseMarker } from './marker';
import type { OwnedObjects } from './owned';

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

export async function listOwnedSchemas(client: Client): Promise<Array<{ name: string; marker: DatabaseMarker }>> {
  const { rows } = await client.query<{ name: string; comment: string | null }>(
    `SELECT nspname AS name, obj_description(oid, 'pg_namespace') AS comment FROM pg_namespace
     WHERE obj_description(oid, 'pg_namespace') LIKE 'pgwork:v1 %' ORDER BY nspname`,
  );
  return rows.flatMap((row) => {
    const marker = parseMarker(row.comment);
    return marker ? [{ name: row.name, marker }] : [];
  });
}

export async function dropOwnedSchema(
  client: Client,
  name: string,
  accept: (marker: DatabaseMarker) => boolean = () => true,
): Promise<boolean> {
  return withLock(client, `schema:${name}`, async () => {
    const owned = (await listOwnedSchemas(client)).find((schema) => schema.name === name);
    if (!owned || !accept(owned.marker)) return false;
    await client.query(`DROP SCHEMA IF EXISTS ${escapeIdentifier(name)} CASCADE`);
    return true;
  });
}

export async function createOwnedSchema(client: Client, name: string, marker: DatabaseMarker): Promise<void> {
  await client.query(`CREATE SCHEMA ${escapeIdentifier(name)}`);
  await markSchema(client, name, marker);
}

export async function markSchema(client: Client, name: string, marker: DatabaseMarker): Promise<void> {
  await client.query(`COMMENT ON SCHEMA ${escapeIdentifier(name)} IS ${escapeLiteral(formatMarker(marker))}`);
}

/** Whether the schema exists, belongs to this run and finished migrating. */
export async function isSchemaReady(client: Client, schema: string, runId: string): Promise<boolean> {
  const owned = (await listOwnedSchemas(client)).find((s) => s.name === schema);
  return !!owned && owned.marker.run === runId && owned.marker.state === 'ready';
}

/** Schemas as objects pgwork owns. */
export const ownedSchemas: OwnedObjects = {
  unit: 'schema',
  list: listOwnedSchemas,
  drop: dropOwnedSchema,
  mark: markSchema,
};
