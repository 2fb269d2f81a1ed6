import type { Client } from 'pg';
import { PgworkError } from '../shared/errors';

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
): Promise<{ needed: number; free: number; max: number }> {
  const { rows } = await admin.query<{ max: number; reserved: number; used: number }>(
    `SELECT current_setting('max_connections')::int AS max,
            current_setting('superuser_reserved_connections')::int + coalesce(current_setting('reserved_connections', true), '0')::int AS reserved,
            (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS used`,
  );
  const { max, reserved, used } = rows[0]!;
  const free = max - reserved - used;
  const each = perWorker + PGWORK_CONNECTIONS_PER_WORKER;
  const needed = workers * each;
  if (needed <= free) return { needed, free, max };
  const fits = Math.floor(free / each);
  const advice = fits >= 1 ? `lower maxWorkers to ${fits}` : 'no worker fits: free connections on the server';
  throw new PgworkError(
    'CONNECTION_BUDGET',
    `${workers} workers x (${perWorker} app connections + ${PGWORK_CONNECTIONS_PER_WORKER} of pgwork's) need ${needed} connections, but the server at ${source} allows ${max} (${reserved} reserved, ${used} in use, ${free} free); ${advice}, lower your pool size and the connectionsPerWorker option, or raise max_connections.`,
  );
}

export async function assertCanCreateDatabases(admin: Client): Promise<void> {
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

/** Schema isolation makes a schema per worker in the URL's database: the role needs CREATE on it. */
export async function assertCanCreateSchemas(admin: Client): Promise<void> {
  const { rows } = await admin.query<{ user: string; database: string; allowed: boolean }>(
    `SELECT current_user AS user, current_database() AS database,
            has_database_privilege(current_database(), 'CREATE') AS allowed`,
  );
  const { user, database, allowed } = rows[0]!;
  if (!allowed) {
    throw new PgworkError(
      'NO_CREATE_SCHEMA',
      `role ${JSON.stringify(user)} cannot create schemas in database ${JSON.stringify(database)}; run GRANT CREATE ON DATABASE ${JSON.stringify(database)} TO ${JSON.stringify(user)} as its owner, or point the URL at a database the role may create schemas in.`,
    );
  }
}
