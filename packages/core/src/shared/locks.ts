import { createHash } from 'node:crypto';
import type { Client } from 'pg';

/**
 * Advisory locks are keyed by two 31-bit integers derived from a readable scope
 * string, so pg_locks can be searched for them from any database on the server.
 */
export function lockKey(scope: string): [number, number] {
  const digest = createHash('sha256').update(`pgwork:${scope}`).digest();
  return [digest.readUInt32BE(0) & 0x7fffffff, digest.readUInt32BE(4) & 0x7fffffff];
}

/** Session-level: released by unlock, or by Postgres when the connection dies (even on SIGKILL). */
export async function lock(client: Client, scope: string): Promise<void> {
  await client.query('SELECT pg_advisory_lock($1, $2)', lockKey(scope));
}

export async function unlock(client: Client, scope: string): Promise<void> {
  await client.query('SELECT pg_advisory_unlock($1, $2)', lockKey(scope));
}

/** Shared: any number of holders; an exclusive tryLock fails while one holds it. */
export async function lockShared(client: Client, scope: string): Promise<void> {
  await client.query('SELECT pg_advisory_lock_shared($1, $2)', lockKey(scope));
}

/** Exclusive, without waiting: whether it was taken. */
export async function tryLock(client: Client, scope: string): Promise<boolean> {
  const { rows } = await client.query<{ taken: boolean }>(
    'SELECT pg_try_advisory_lock($1, $2) AS taken',
    lockKey(scope),
  );
  return rows[0]!.taken;
}

export async function withLock<T>(client: Client, scope: string, work: () => Promise<T>): Promise<T> {
  await lock(client, scope);
  try {
    return await work();
  } finally {
    await unlock(client, scope).catch(() => undefined);
  }
}

/** Whether any session on the server, in any database, holds the lock for this scope. */
export async function isLockHeld(client: Client, scope: string): Promise<boolean> {
  const [a, b] = lockKey(scope);
  const { rows } = await client.query<{ held: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM pg_locks
       WHERE locktype = 'advisory' AND granted AND objsubid = 2
         AND classid = $1::int4::oid AND objid = $2::int4::oid
     ) AS held`,
    [a, b],
  );
  return rows[0]!.held;
}
