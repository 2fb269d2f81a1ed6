import type { Client } from 'pg';
import { isolationOf } from '../isolation';
import { connect } from '../shared/connection';
import { PgworkError } from '../shared/errors';
import { tryLock } from '../shared/locks';
import type { RunState } from '../shared/run-state';
import { runnerWorkerId } from '../shared/worker-id';

// A worker number for a test process whose runner gives it none (node:test on
// Node 20 and 22, Bun, a plain script under `pgwork run`): the lowest number no
// live process of the run holds, held as a session advisory lock on a
// connection of this process. Postgres releases it when that connection ends,
// however the process ended (SIGKILL included), so the next process takes the
// number, and its database, over: never two live processes on one number.

/** More concurrent test processes than any runner starts on one machine. */
const MAX_WORKERS = 1000;

let held: { readonly runId: string; readonly workerId: number; readonly client: Client } | undefined;

const scope = (state: RunState, workerId: number) => `worker:${state.runId}:${workerId}`;

/** This process's number in the run: leased once, kept for the process's life. */
export async function leaseWorkerId(state: RunState): Promise<number> {
  if (held?.runId === state.runId) return held.workerId;
  const { url, source } = isolationOf(state.mode).leaseTarget(state as never);
  const client = await connect(url, { source, applicationName: 'pgwork worker lease' });
  try {
    for (let workerId = 1; workerId <= MAX_WORKERS; workerId++) {
      if (!(await tryLock(client, scope(state, workerId)))) continue;
      // The lease must not keep a test process alive that is otherwise done.
      (client as unknown as { connection?: { stream?: { unref?(): void } } }).connection?.stream?.unref?.();
      held = { runId: state.runId, workerId, client };
      return workerId;
    }
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  await client.end().catch(() => undefined);
  throw new PgworkError(
    'INVALID_WORKER_ID',
    `${MAX_WORKERS} processes of run ${state.runId} hold a worker number each; run fewer test processes at once.`,
  );
}

/**
 * Makes sure this process has a worker number before pgwork points its
 * variables at the worker's database: the runner's (PGWORK_WORKER_ID and the
 * runners' own variables), else a lease, written to PGWORK_WORKER_ID for the
 * rest of pgwork and for the processes this one starts.
 */
export async function ensureWorkerId(state: RunState, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const given = runnerWorkerId(env);
  if (given !== undefined) return given;
  const workerId = await leaseWorkerId(state);
  env.PGWORK_WORKER_ID = String(workerId);
  return workerId;
}

/** Ends this process's lease (its number is free for the next process at once). */
export async function releaseWorkerId(): Promise<void> {
  const last = held;
  held = undefined;
  await last?.client.end().catch(() => undefined);
}
