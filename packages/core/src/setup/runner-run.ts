import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { leftClause } from '../admin/owned';
import { loadAdapter } from '../shared/adapter';
import { childFile, startDetachedChild } from '../shared/child';
import { optionsDigest } from '../shared/binding';
import { PgworkError, conciseError } from '../shared/errors';
import { stopRunServices } from '../shared/services';
import { findPgworkConfig, isPgworkConfig, readPgworkConfig } from './config-file';
import { projectBaseName, resolveOptions } from './options';
import { PLACES_VARIABLE } from './run-finisher';
import { startRun, type Run } from './run';
import type { RunnerEnv } from './server-and-env';
import { leaseSlots, usesSlots } from './slots';
import { turboNotice } from './turbo';

// What every runner binding (Jest, Vitest, Playwright, Mocha, and pgwork run for
// node:test and Bun) does when a run starts and ends, with
// the same options, errors and summary lines; the binding only says where the
// options, root directory and worker count come from, and hands the state over.

/** When set, the run's summary is written there as JSON at its end (used by `pnpm demo` and tooling). */
const REPORT_VARIABLE = 'PGWORK_REPORT';

export interface RunnerRunRequest {
  /** The options as the user's config holds them (plain JSON). */
  readonly options: unknown;
  readonly rootDir: string;
  /** How many workers the runner may start. */
  readonly maxWorkers: number;
  /** The project of a multi-project config, named in the summary lines. */
  readonly project?: string;
  /** Variables the runner sets in its workers only (Vitest's test.env): a DATABASE_URL there chooses the server too. */
  readonly runnerEnv?: RunnerEnv;
  /** Where the summary lines go (stderr). */
  readonly write: (text: string) => void;
}

/**
 * Starts (or finds) the server, builds or reuses the template, prepares the
 * workers, and says so in one line per server. A failure is thrown as its one
 * line: runners print a thrown error's stack, and pgwork's message is the whole story.
 */
export function startRunnerRun(request: RunnerRunRequest): Promise<Run> {
  return startAndAnnounce(request).catch((error: unknown) => Promise.reject(conciseError(error)));
}

async function startAndAnnounce(request: RunnerRunRequest): Promise<Run> {
  const notice = turboNotice(request.rootDir);
  if (notice) request.write(`\n${notice}`);
  const options = resolveOptions(request.options, process.env, request.runnerEnv);
  const adapter = loadAdapter(options.adapter, { rootDir: request.rootDir });
  const workers = Math.max(1, request.maxWorkers);
  const slots = usesSlots(options.workerEnv) ? await leaseSlots(workers) : undefined;
  const started = await startRun({
    ...options,
    baseName: options.baseName ?? projectBaseName(request.rootDir, request.project),
    adapter,
    adapterReference: options.adapter,
    rootDir: request.rootDir,
    workers,
    workerIds: Array.from({ length: workers }, (_, i) => i + 1),
    optionsDigest: optionsDigest(request.options),
    project: request.project,
    slotBase: slots?.base,
  }).catch((error: unknown) => {
    slots?.release();
    throw error;
  });
  const disarm = armRunFinisher(started);
  const run: Run = {
    ...started,
    // The slots are the run's until it finishes; the finisher, until it finished.
    finish: () =>
      started
        .finish()
        .then((result) => {
          disarm();
          return result;
        })
        .finally(() => slots?.release()),
  };
  const project = request.project ? ` for project "${request.project}"` : '';
  const mode = options.disable ? `; PGWORK_DISABLE=1: all workers share one ${run.unit}` : '';
  for (const summary of run.summaries) {
    const where = summary.embedded
      ? `embedded Postgres (in ${summary.embeddedDirectory})`
      : `Postgres at ${summary.serverAddress} from ${options.server.source}`;
    const reclaimed = summary.reclaimed.length
      ? `; reclaimed ${summary.reclaimed.length} ${run.unit}(s) of dead runs`
      : '';
    const collected = summary.template?.dropped.length
      ? `; dropped ${summary.template.dropped.length} old template(s)`
      : '';
    request.write(
      `\npgwork: run ${summary.runId}${project} on ${where}, version ${summary.serverVersion}; ${summary.prepared} (${adapter.name})${reclaimed}${collected}${mode}`,
    );
  }
  request.write('\n');
  return run;
}

/**
 * A run with the options of the project's pgwork.config.* (`config`, else the
 * one in `cwd`), for runners without a config of their own: `pgwork run`, and
 * Mocha's main process. `reader` names what reads it in the error for a missing one.
 */
export async function startConfiguredRun(request: {
  readonly cwd: string;
  readonly config?: string;
  readonly workers: number;
  readonly reader: string;
  readonly write: (text: string) => void;
}): Promise<Run> {
  const file = request.config ? resolve(request.cwd, request.config) : findPgworkConfig(request.cwd);
  if (!file || !isPgworkConfig(file)) {
    const where = file ? `${file} is not one` : `${request.cwd} has none`;
    throw new PgworkError(
      'INVALID_OPTION',
      `${request.reader} reads its options from pgwork.config.mjs, .js, .cjs or .json (export default { adapter: ... }), and ${where}; add one${request.reader === 'pgwork run' ? ', or pass --config <file>' : ''}.`,
    );
  }
  return startRunnerRun({
    options: await readPgworkConfig(file),
    rootDir: dirname(file),
    maxWorkers: request.workers,
    write: request.write,
  });
}

/** Where the finisher starts from, when it is built (in dist/, also for pgwork's own tests from src/). */
const finisherFile = (() => {
  try {
    return childFile(__dirname, 'run-finisher');
  } catch {
    return undefined;
  }
})();

/** The places of this process's runs that have not finished, for the one exit handler. */
const unfinished = new Set<Run>();

/**
 * Should this process exit before a run's teardown finished it (the runner
 * crashed, or a test called process.exit), a detached finisher (setup/run-finisher.ts)
 * drops the run's databases or schemas once the process is gone, rather than
 * leaving them to the next run's start. SIGKILL runs no exit handler: then the
 * next run reclaims them. Returns the disarm for a finished run.
 */
function armRunFinisher(run: Run): () => void {
  if (!finisherFile) return () => undefined; // not built: the next run reclaims
  if (unfinished.size === 0) process.once('exit', startFinisher);
  unfinished.add(run);
  return () => {
    unfinished.delete(run);
    if (unfinished.size === 0) process.removeListener('exit', startFinisher);
  };
}

function startFinisher(): void {
  const places = [...unfinished].flatMap((run) => run.places);
  try {
    startDetachedChild(finisherFile!, { parent: process.pid }, { [PLACES_VARIABLE]: JSON.stringify(places) });
  } catch {
    // Exiting: the next run reclaims.
  }
}

/** Drops the run's databases or schemas (unless PGWORK_KEEP=1), says so, and writes the PGWORK_REPORT line. */
export function finishRunnerRun(run: Run, project: string | undefined, write: (text: string) => void) {
  return finishAndAnnounce(run, project, write).catch((error: unknown) => Promise.reject(conciseError(error)));
}

async function finishAndAnnounce(run: Run, project: string | undefined, write: (text: string) => void): Promise<void> {
  // First: an app server still running would keep connecting to its worker's database while it is dropped.
  await stopRunServices(run.state.runId);
  const result = await run.finish();
  const fate = result.dropped ? 'dropped' : 'kept (PGWORK_KEEP=1)';
  const runIds = run.summaries.map((summary) => summary.runId).join(', ');
  const of = project ? ` (project "${project}")` : '';
  // One line, whatever is left: what, why, and that the next run reclaims it.
  const left = leftClause(result.left, run.unit);
  write(`pgwork: run ${runIds}${of} used ${result.databases.length} ${run.unit}(s), now ${fate}${left}\n`);
  const report = process.env[REPORT_VARIABLE];
  if (report) {
    const first = run.summaries[0];
    const line = {
      ...first,
      project: project ?? null,
      servers: run.summaries.length,
      shared: first?.shared ?? null,
      ...result,
    };
    writeFileSync(report, `${JSON.stringify(line)}\n`);
  }
}
