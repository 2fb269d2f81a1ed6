import { PgworkError } from './errors';

const POSITIVE_INTEGER = /^[1-9][0-9]{0,5}$/;

/**
 * This process's worker number: PGWORK_WORKER_ID when set, else Jest's
 * JEST_WORKER_ID, else 1 (Jest sets no id under --runInBand in some versions).
 * Only a positive integer is accepted, because it becomes part of a database name.
 */
export function resolveWorkerId(env: NodeJS.ProcessEnv = process.env): number {
  const fromPgwork = env.PGWORK_WORKER_ID;
  const variable = fromPgwork !== undefined && fromPgwork !== '' ? 'PGWORK_WORKER_ID' : 'JEST_WORKER_ID';
  const raw = variable === 'PGWORK_WORKER_ID' ? fromPgwork : env.JEST_WORKER_ID;
  if (raw === undefined || raw === '') return 1;
  if (!POSITIVE_INTEGER.test(raw)) {
    const shown = JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}...` : raw);
    throw new PgworkError(
      'INVALID_WORKER_ID',
      `${variable}=${shown} is not a worker number; set it to a positive integer such as 1, or unset it.`,
    );
  }
  return Number(raw);
}
