import { createServer, type Server } from 'node:net';
import { PgworkError } from '../shared/errors';
import { SLOTS_PER_RUN } from '../shared/run-state';

// `{slot}` in workerEnv: a number per worker that no other pgwork run live on
// this machine has, for services a worker needs of its own (a Redis port).
// A run leases a block of SLOTS_PER_RUN numbers by listening on one loopback
// port of a fixed range: the operating system makes that exclusive, across
// users too, and frees it when the run's process ends, however it ends.

/** Leases are listening sockets on 127.0.0.1 at LEASE_PORT + the block's index. */
const LEASE_PORT = 48620;
const BLOCKS = 100;

export interface SlotLease {
  /** Slots of this run are base + worker id. */
  readonly base: number;
  release(): void;
}

/** The lowest block no live run holds, for a run of `workers` workers. */
export async function leaseSlots(workers: number): Promise<SlotLease> {
  if (workers >= SLOTS_PER_RUN) {
    throw new PgworkError(
      'INVALID_OPTION',
      `workerEnv uses {slot}, which is unique for up to ${SLOTS_PER_RUN - 1} workers a run, and this run may start ${workers}; lower maxWorkers, or use {worker} and {run} instead.`,
    );
  }
  for (let block = 0; block < BLOCKS; block++) {
    const server = await listen(LEASE_PORT + block);
    if (!server) continue;
    server.unref(); // a lease never keeps the runner's process alive
    return { base: block * SLOTS_PER_RUN, release: () => server.close() };
  }
  throw new PgworkError(
    'INVALID_OPTION',
    `workerEnv uses {slot}, and the ${BLOCKS} loopback ports pgwork leases slots with (${LEASE_PORT}-${LEASE_PORT + BLOCKS - 1}) are all taken (by ${BLOCKS} runs at once, or other programs); end some runs, or use {worker} and {run} instead.`,
  );
}

function listen(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(server));
  });
}

/** Whether a run's workerEnv asks for {slot}. */
export function usesSlots(workerEnv: Readonly<Record<string, string>>): boolean {
  return Object.values(workerEnv).some((value) => /\{slot(\+\d+)?\}/.test(value));
}
