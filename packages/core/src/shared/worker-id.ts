import { PgworkError } from './errors';

const POSITIVE_INTEGER = /^[1-9][0-9]{0,5}$/;

/**
 * Where a worker's number comes from, first set wins: pgwork's override,
 * Vitest's pool slot, node:test's worker id (newer Node releases), Jest's
 * worker id (which Bun's --parallel sets too).
 */
const WORKER_ID_VARIABLES = ['PGWORK_WORKER_ID', 'VITEST_POOL_ID', 'NODE_TEST_WORKER_ID', 'JEST_WORKER_ID'] as const;

/**
 * This process's worker number: PGWORK_WORKER_ID when set, else Vitest's
 * VITEST_POOL_ID (1..maxWorkers, the slot a file runs in; VITEST_WORKER_ID
 * counts every worker ever started, so it outgrows the worker count), else
 * node:test's NODE_TEST_WORKER_ID, else Jest's JEST_WORKER_ID, else 1 (Jest sets no id under --runInBand in some
 * versions). Only a positive integer is accepted: it becomes part of a database name.
 */
export function resolveWorkerId(env: NodeJS.ProcessEnv = process.env): number {
  return runnerWorkerId(env) ?? 1;
}

/** The worker number a variable gives (see resolveWorkerId), or undefined where none is set: a binding then leases one (worker/lease.ts). */
export function runnerWorkerId(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const variable = WORKER_ID_VARIABLES.find((name) => env[name] !== undefined && env[name] !== '');
  if (!variable) return undefined;
  const raw = env[variable]!;
  if (!POSITIVE_INTEGER.test(raw)) {
    const shown = JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}...` : raw);
    throw new PgworkError(
      'INVALID_WORKER_ID',
      `${variable}=${shown} is not a worker number; set it to a positive integer such as 1, or unset it.`,
    );
  }
  return Number(raw);
}
