import { escapeIdentifier, escapeLiteral, type Client } from 'pg';
import { serverMajorVersion } from '../shared/connection';
import { PgworkError, describeDatabaseError, sqlState } from '../shared/errors';
import { withLock } from '../shared/locks';
import { assertDatabaseName } from '../shared/naming';
import { MARKER_PREFIX, formatMarker, parseMarker, type DatabaseMarker } from './marker';
import type { OwnedObjects } from './owned';

export interface DatabaseInfo {
  name: string;
  /** undefined: the database exists but pgwork did not create it. */
  marker: DatabaseMarker | undefined;
  isTemplate: boolean;
}

const INFO_QUERY = `SELECT datname AS name, shobj_description(oid, 'pg_database') AS comment, datistemplate AS "isTemplate" FROM pg_database`;

export async function describeDatabase(admin: Client, name: string): Promise<DatabaseInfo | undefined> {
  const { rows } = await admin.query<{ name: string; comment: string | null; isTemplate: boolean }>(
    `${INFO_QUERY} WHERE datname = $1`,
    [name],
  );
  const row = rows[0];
  return row && { name: row.name, marker: parseMarker(row.comment), isTemplate: row.isTemplate };
}

/** Every database on the server that carries pgwork's marker. */
export async function listOwnedDatabases(admin: Client): Promise<Array<DatabaseInfo & { marker: DatabaseMarker }>> {
  const { rows } = await admin.query<{ name: string; comment: string | null; isTemplate: boolean }>(
    `${INFO_QUERY} WHERE shobj_description(oid, 'pg_database') LIKE $1 ORDER BY datname`,
    [`${MARKER_PREFIX}%`],
  );
  return rows.flatMap((row) => {
    const marker = parseMarker(row.comment);
    return marker ? [{ name: row.name, marker, isTemplate: row.isTemplate }] : [];
  });
}

export function notOwnedError(name: string): PgworkError {
  return new PgworkError(
    'NOT_OWNED',
    `database ${JSON.stringify(name)} exists but was not created by pgwork, so pgwork will not use or drop it; drop or rename it yourself, or choose another baseName.`,
  );
}

export interface CreateDatabaseOptions {
  marker: DatabaseMarker;
  /** Clone this (sealed) template instead of creating an empty database. */
  template?: string;
  /**
   * Postgres 15+: FILE_COPY copies the files after a checkpoint, WAL_LOG (the
   * default) copies block by block through the WAL. With fsync off, as on the
   * embedded server, FILE_COPY measured about twice as fast.
   */
  strategy?: 'FILE_COPY' | 'WAL_LOG';
}

/**
 * Creates the database unless it exists. Many workers may race for one name:
 * a per-name advisory lock makes create-and-mark atomic for everyone who asks
 * through pgwork, and "already exists" from anyone else is checked, not trusted.
 */
export async function ensureDatabase(
  admin: Client,
  name: string,
  options: CreateDatabaseOptions,
): Promise<'created' | 'existed'> {
  assertDatabaseName(name);
  return withLock(admin, `database:${name}`, async () => {
    const existing = await describeDatabase(admin, name);
    if (existing) {
      if (!existing.marker) throw notOwnedError(name);
      return 'existed';
    }
    const template = options.template ? ` TEMPLATE ${escapeIdentifier(assertDatabaseName(options.template))}` : '';
    const strategy = options.strategy ? ` STRATEGY ${options.strategy === 'FILE_COPY' ? 'FILE_COPY' : 'WAL_LOG'}` : '';
    try {
      await admin.query(`CREATE DATABASE ${escapeIdentifier(name)}${template}${strategy}`);
    } catch (error) {
      // 42P04: a creator outside pgwork won the race; 23505: the catalog's unique index caught it.
      if (sqlState(error) === '42P04' || sqlState(error) === '23505') {
        const raced = await describeDatabase(admin, name);
        if (raced?.marker) return 'existed';
        throw notOwnedError(name);
      }
      throw createError(error, name, options.template);
    }
    await admin.query(
      `COMMENT ON DATABASE ${escapeIdentifier(name)} IS ${escapeLiteral(formatMarker(options.marker))}`,
    );
    return 'created';
  });
}

function createError(error: unknown, name: string, template: string | undefined): PgworkError {
  if (sqlState(error) === '42501') {
    return new PgworkError(
      'NO_CREATEDB',
      `the role cannot create databases (${describeDatabaseError(error)}); grant it with ALTER ROLE <user> CREATEDB, or connect as a role that has CREATEDB.`,
      { cause: error },
    );
  }
  const source = template ? ` from template ${JSON.stringify(template)}` : '';
  return new PgworkError(
    'DATABASE_ERROR',
    `could not create database ${JSON.stringify(name)}${source}: ${describeDatabaseError(error)}`,
    {
      cause: error,
    },
  );
}

export async function writeMarker(admin: Client, name: string, marker: DatabaseMarker): Promise<void> {
  await admin.query(
    `COMMENT ON DATABASE ${escapeIdentifier(assertDatabaseName(name))} IS ${escapeLiteral(formatMarker(marker))}`,
  );
}

/** Closes every other session connected to the database (a leaked pool would block cloning and dropping). */
export async function terminateSessions(admin: Client, name: string): Promise<void> {
  await admin.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
    [name],
  );
}

/**
 * Drops a database only if it carries pgwork's marker and `accept` agrees with
 * that marker. Returns whether it dropped. Connected sessions are closed first.
 */
export async function dropOwnedDatabase(
  admin: Client,
  name: string,
  accept: (marker: DatabaseMarker) => boolean = () => true,
): Promise<boolean> {
  assertDatabaseName(name);
  return withLock(admin, `database:${name}`, async () => {
    const existing = await describeDatabase(admin, name);
    if (!existing?.marker || !accept(existing.marker)) return false;
    const quoted = escapeIdentifier(name);
    if (existing.isTemplate) await admin.query(`ALTER DATABASE ${quoted} WITH IS_TEMPLATE false`);
    if ((await serverMajorVersion(admin)) >= 13) {
      await admin.query(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`);
    } else {
      await admin.query(`ALTER DATABASE ${quoted} WITH ALLOW_CONNECTIONS false`);
      await terminateSessions(admin, name);
      await admin.query(`DROP DATABASE IF EXISTS ${quoted}`);
    }
    return true;
  });
}

/** Databases as objects pgwork owns: what reclaiming and finishing a run go through. */
export const ownedDatabases: OwnedObjects = {
  unit: 'database',
  list: listOwnedDatabases,
  drop: dropOwnedDatabase,
  mark: writeMarker,
};
