import { PgworkError } from '../shared/errors';
import { parseDatabaseUrl, workerClusterName } from '../shared/naming';
import type { DatabaseRunState, ServerRunState } from '../shared/run-state';
import type { Isolation, RunServer, StartedRun } from './contract';
import { databaseIsolation } from './database';

/**
 * A server per worker, each a database run of its own: the embedded default
 * starts one per worker; with a configured URL, worker N uses its port + N.
 */
export const serverIsolation: Isolation<ServerRunState> = {
  mode: 'server',
  unit: 'database',
  createsDatabases: true,
  clonesTemplate: true,
  serverFor: workerServer,

  async start(context) {
    const settled = await Promise.allSettled(
      context.workerIds.map((id) =>
        databaseIsolation.start({ ...context, server: workerServer(context.server, id), workerIds: [id] }),
      ),
    );
    const runs = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const failure = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failure) {
      await Promise.allSettled(runs.map((run) => run.finish()));
      throw failure.reason;
    }
    const perWorker = Object.fromEntries(context.workerIds.map((id, i) => [String(id), runs[i]!.state]));
    const state: ServerRunState = Object.freeze({
      version: 1,
      mode: 'server',
      runId: runs[0]!.state.runId,
      project: context.project,
      settings: context.settings,
      perWorker,
    });
    return combine(state, runs);
  },

  target(state, workerId) {
    return databaseIsolation.target(workerState(state, workerId), workerId);
  },

  // Worker 1's server: every run of this mode has one.
  leaseTarget(state) {
    return databaseIsolation.leaseTarget(workerState(state, 1));
  },

  open(state, workerId) {
    return databaseIsolation.open(workerState(state, workerId), workerId);
  },

  keptCopy(state, workerId, failedTest) {
    return databaseIsolation.keptCopy!(workerState(state, workerId), workerId, failedTest);
  },
};

function combine(state: ServerRunState, runs: ReadonlyArray<StartedRun<DatabaseRunState>>): StartedRun<ServerRunState> {
  return {
    state,
    summaries: runs.flatMap((run) => run.summaries),
    places: runs.flatMap((run) => run.places),
    async finish() {
      const results = await Promise.all(runs.map((run) => run.finish()));
      return {
        databases: results.flatMap((result) => result.databases),
        dropped: results.every((r) => r.dropped),
        left: results.flatMap((result) => result.left),
      };
    },
  };
}

/** The server worker N uses: the base URL's port + N, or an embedded server of its own. */
export function workerServer(base: RunServer, workerId: number): RunServer {
  // The embedded default: a kept cluster of the worker's own.
  if (base.url === undefined)
    return Object.freeze({
      url: undefined,
      source: `${base.source} of worker ${workerId}`,
      cluster: workerClusterName(workerId),
      embeddedMajor: base.embeddedMajor,
    });
  const url = parseDatabaseUrl(base.url, base.source);
  const port = Number(url.port || 5432) + workerId;
  if (port > 65535) {
    throw new PgworkError(
      'INVALID_OPTION',
      `worker ${workerId}'s port ${port} is beyond 65535; lower the port in ${base.source}.`,
    );
  }
  url.port = String(port);
  return Object.freeze({ url: url.toString(), source: `${base.source} (port + ${workerId})` });
}

function workerState(state: ServerRunState, workerId: number): DatabaseRunState {
  const own = state.perWorker[String(workerId)];
  if (!own) {
    throw new PgworkError(
      'NO_RUN',
      `worker ${workerId} has no server: globalSetup started ${Object.keys(state.perWorker).length} for maxWorkers; do not raise the worker count after globalSetup (e.g. with PGWORK_WORKER_ID).`,
    );
  }
  return own;
}
