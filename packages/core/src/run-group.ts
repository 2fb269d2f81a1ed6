import { PgworkError } from './errors';
import { parseDatabaseUrl } from './naming';
import type { ServerChoice } from './options';
import { projectOf } from './binding';
import { runStateVariable, startRun, type Run, type RunConfig, type RunResult, type RunState } from './run';
import { startSchemaRun } from './schema-run';
import { resolveWorkerId } from './worker';

/**
 * The runs behind one Jest run. Database isolation (the default): one run on
 * one server, a database per worker. Server isolation: a run per worker, each
 * on its own server: the embedded default starts one per worker; a configured
 * URL is the base, and worker N uses its port + N.
 */
export interface RunGroup {
  readonly runs: readonly Run[];
  /** What the workers read from PGWORK_RUN. */
  readonly published: string;
  finish(): Promise<RunResult>;
}

interface PerWorkerStates {
  version: 1;
  perWorker: Record<string, RunState>;
}

/** The server worker N uses under server isolation: the base URL's port + N, or an embedded server of its own. */
export function workerServer(base: ServerChoice, workerId: number): ServerChoice {
  if (base.url === undefined) return base;
  const url = parseDatabaseUrl(base.url, base.source);
  const port = Number(url.port || 5432) + workerId;
  if (port > 65535)
    throw new PgworkError(
      'INVALID_OPTION',
      `worker ${workerId}'s port ${port} is beyond 65535; lower the port in ${base.source}.`,
    );
  url.port = String(port);
  return Object.freeze({ url: url.toString(), source: `${base.source} (port + ${workerId})` });
}

export async function startRunGroup(
  config: Omit<RunConfig, 'prewarm'>,
  options: { isolation: 'database' | 'server' | 'schema'; workerIds: readonly number[] },
): Promise<RunGroup> {
  if (options.isolation === 'schema') {
    const run = await startSchemaRun(config, options.workerIds);
    return { runs: [run], published: JSON.stringify(run.state), finish: () => run.finish() };
  }
  if (options.isolation === 'database') {
    const run = await startRun({ ...config, prewarm: options.workerIds });
    return { runs: [run], published: JSON.stringify(run.state), finish: () => run.finish() };
  }
  const settled = await Promise.allSettled(
    options.workerIds.map((id) =>
      startRun({ ...config, server: workerServer(config.server, id), workers: 1, prewarm: [id] }),
    ),
  );
  const runs = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  const failure = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failure) {
    await Promise.allSettled(runs.map((run) => run.finish()));
    throw failure.reason;
  }
  const published: PerWorkerStates = {
    version: 1,
    perWorker: Object.fromEntries(options.workerIds.map((id, i) => [String(id), runs[i]!.state])),
  };
  return {
    runs,
    published: JSON.stringify(published),
    async finish() {
      const results = await Promise.all(runs.map((run) => run.finish()));
      return {
        databases: results.flatMap((result) => result.databases),
        dropped: results.every((result) => result.dropped),
      };
    },
  };
}

/** This worker's run state, whichever isolation published it. */
export function readRunState(
  env: NodeJS.ProcessEnv = process.env,
  project: string | undefined = projectOf(globalThis),
): RunState {
  const variable = runStateVariable(project);
  const raw = env[variable];
  if (!raw) {
    const where = project ? ` for Jest project "${project}"` : '';
    throw new PgworkError(
      'NO_RUN',
      `${variable} is not set, so pgwork's globalSetup did not run${where}; wrap your Jest config with withPgwork(...) or add @pgwork/core/jest/global-setup as globalSetup.`,
    );
  }
  const parsed = JSON.parse(raw) as RunState | PerWorkerStates;
  if (parsed.version !== 1) {
    throw new PgworkError(
      'NO_RUN',
      `${variable} was written by another pgwork version; use one version of @pgwork/* packages throughout.`,
    );
  }
  if (!('perWorker' in parsed)) return parsed;
  const workerId = resolveWorkerId(env);
  const state = parsed.perWorker[String(workerId)];
  if (!state) {
    throw new PgworkError(
      'NO_RUN',
      `worker ${workerId} has no server: globalSetup started ${Object.keys(parsed.perWorker).length} for maxWorkers; do not raise the worker count after globalSetup (e.g. with PGWORK_WORKER_ID).`,
    );
  }
  return state;
}
