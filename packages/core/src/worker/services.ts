import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { threadId } from 'node:worker_threads';
import { childFile } from '../shared/child';
import { PgworkError, firstLine } from '../shared/errors';
import { readRunState, type RunState } from '../shared/run-state';
import {
  STOP_WAIT_MS,
  expandServiceValue,
  failedStartFile,
  makeServicesDirectory,
  ownerAlive,
  ownerOf,
  portAnswers,
  quotedOutput,
  readServiceRecord,
  serviceFiles,
  servicesDirectory,
  signal,
  sleep,
  stopRecorded,
  SUPERVISOR_ANSWER,
  type ServiceOwner,
  type ServiceSpec,
  type SupervisorAnswer,
  type SupervisorRequest,
} from '../shared/services';
import { resolveWorkerId } from '../shared/worker-id';

// The `services` option on the worker side, one implementation for every
// runner binding: before the worker's first test file, each service is
// started on a free port with the worker's environment (its database
// variables already rewritten), waited for until ready, and its variables
// (REDIS_PORT: "{port}") set in the worker. They run for the worker's life;
// a supervisor per service stops them when the worker or the run ends.

/** A service running for this worker. */
export interface RunningService {
  readonly name: string;
  readonly command: string;
  readonly port: number;
  /** The variables it sets in the worker, expanded. */
  readonly variables: Readonly<Record<string, string>>;
  readonly supervisor: ServiceOwner;
  /** The service's shell, the leader of its process group. */
  readonly pid: number;
  readonly log: string;
  readonly record: string;
}

/** What a worker's services set up, or the error that stopped them (each later file gets the same one, at once). */
type Started = { readonly services: readonly RunningService[] } | { readonly error: PgworkError };

/** This process's (or thread's) services: one run and worker at a time (a watch rerun is a new run). */
let current: { readonly key: string; readonly started: Started } | undefined;
let starting: { readonly key: string; readonly promise: Promise<Started> } | undefined;

const keyOf = (state: RunState, worker: number) => `${state.runId}/${worker}`;

/** What the launcher and the async path are asked: everything but the worker's process. */
export interface StartRequest {
  readonly specs: readonly ServiceSpec[];
  readonly runId: string;
  readonly worker: number;
  /** The project's root: services' cwd is relative to it. */
  readonly rootDir: string;
  readonly env: Record<string, string>;
  readonly owners: readonly ServiceOwner[];
  /** The worker's process and thread, "<pid>-t<thread>": its services' files are named after it. */
  readonly owner: string;
}

/**
 * Starts the services in order, each with the variables of the ones before it;
 * stops those already started when one fails, and says which one and why.
 */
export async function startServices(request: StartRequest): Promise<Started> {
  const services: RunningService[] = [];
  const variables: Record<string, string> = {};
  makeServicesDirectory(request.runId);
  // A start of this worker number that failed already (a replaced Playwright worker, Vitest's next file): the same error, at once.
  const failed = failedStartFile(request.runId, request.worker);
  if (existsSync(failed)) return { error: new PgworkError('SERVICE_FAILED', readFileSync(failed, 'utf8')) };
  await stopOtherThreads(request);
  const fail = async (message: string): Promise<Started> => {
    await stopServices(services);
    writeFileSync(failed, message);
    return { error: new PgworkError('SERVICE_FAILED', message) };
  };
  for (const spec of request.specs) {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const values = { port, worker: request.worker, run: request.runId };
      const own = Object.fromEntries(
        Object.entries(spec.env).map(([name, value]) => [name, expandServiceValue(value, values)]),
      );
      const command = expandServiceValue(spec.command, values);
      const where = `worker ${request.worker}'s service "${spec.name}" (${command}) on port ${port}`;
      const cwd = resolve(request.rootDir, spec.cwd);
      if (!existsSync(cwd)) return fail(`${where} cannot start in ${cwd}, which does not exist; fix its cwd.`);
      const files = serviceFiles(request.runId, request.worker, spec.name, request.owner);
      const answer = await supervise({
        command,
        cwd,
        env: { ...request.env, ...variables, PORT: String(port), ...own },
        port,
        readyUrl: spec.readyUrl && expandServiceValue(spec.readyUrl, values),
        timeoutMs: spec.timeoutMs,
        owners: request.owners,
        ...files,
      });
      if (answer.ready) {
        Object.assign(variables, own);
        services.push({
          name: spec.name,
          command,
          port,
          variables: own,
          supervisor: answer.supervisor,
          pid: answer.pid,
          ...files,
        });
        break;
      }
      // pgwork frees the port it found for the service to bind: another process (another worker's
      // service, starting at the same moment) may take it first, and the service exits. A new port.
      if (answer.exited && attempt < PORT_ATTEMPTS && (await portAnswers(port))) continue;
      return fail(`${where} ${answer.reason}; ${answer.fix}${quotedOutput(files.log)}`);
    }
  }
  return { services };
}

/**
 * Under worker threads (Vitest's threads pool, Jest's workerThreads), a new
 * thread of this worker number in this process means the last one ended,
 * and with it the file it ran; its services' owners (this process) live on,
 * so they are stopped here.
 */
async function stopOtherThreads(request: StartRequest): Promise<void> {
  const pid = request.owner.split('-t')[0];
  const directory = servicesDirectory(request.runId);
  const others = readdirSync(directory).filter(
    (file) =>
      file.startsWith(`w${request.worker}-`) &&
      file.endsWith('.json') &&
      new RegExp(`-${pid}-t\\d+\\.json$`).test(file) &&
      !file.endsWith(`-${request.owner}.json`),
  );
  await stopRecorded(others.map((file) => join(directory, file)));
}

/** Node options are the app's: a preload there (dotenv's banner, an inspector that waits) has no place in pgwork's own helper processes. */
function helperEnvironment(): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _app, ...env } = process.env;
  return env;
}

/** Time to start Node and answer, on top of the service's own timeout. */
const ANSWER_OVERHEAD_MS = 30_000;

/**
 * Starts one supervisor and reads its answer; the supervisor then runs on, detached.
 * The request goes on stdin: it holds the worker's environment, database
 * passwords included, which a command line would show to anyone who lists
 * processes (and which may be longer than one argument can be). The port and
 * command are arguments, to tell the supervisors apart in a process list.
 * The supervisor's own errors go to the service's output, where the error shows them.
 */
type Supervised =
  | { readonly ready: true; readonly pid: number; readonly supervisor: ServiceOwner }
  | Extract<SupervisorAnswer, { ready: false }>;

function supervise(request: SupervisorRequest): Promise<Supervised> {
  return new Promise((resolveAnswer) => {
    const label = [String(request.port), request.command];
    const errors = openSync(request.log, 'a');
    const child = spawn(process.execPath, [childFile(__dirname, 'service-supervisor'), ...label], {
      detached: true,
      env: helperEnvironment(),
      stdio: ['pipe', 'pipe', errors],
    });
    closeSync(errors);
    const supervisor = ownerOf(child.pid ?? 0);
    child.stdin!.on('error', () => undefined); // a supervisor that could not start: its exit says so
    child.stdin!.end(JSON.stringify(request));
    let text = '';
    let answered = false;
    const done = (answer: SupervisorAnswer) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      child.stdout!.destroy();
      child.unref();
      resolveAnswer(answer.ready ? { ...answer, supervisor } : answer);
    };
    const lost = (reason: string) =>
      done({ ready: false, reason, fix: 'its output below shows what the supervisor said; check that Node runs here' });
    const timer = setTimeout(() => {
      lost(`got no answer from its supervisor within ${Math.round((request.timeoutMs + ANSWER_OVERHEAD_MS) / 1000)} s`);
      signal(supervisor.pid, 'SIGTERM');
    }, request.timeoutMs + ANSWER_OVERHEAD_MS);
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk;
      const line = text.split('\n').find((candidate) => candidate.startsWith(SUPERVISOR_ANSWER));
      if (!line || !text.includes('\n', text.indexOf(line))) return;
      try {
        done(JSON.parse(line.slice(SUPERVISOR_ANSWER.length)) as SupervisorAnswer);
      } catch {
        lost('gave its supervisor an answer it could not read');
      }
    });
    child.on('error', (error) => lost(`could not be supervised (${error.message})`));
    // 'close', not 'exit': the answer a supervisor wrote just before it exited is read first.
    child.on('close', () => lost('lost its supervisor before it was ready'));
  });
}

/** Starts of one service, each on a new port, when its port was taken before it could bind it. */
const PORT_ATTEMPTS = 3;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Variables of pgwork's and of the runners' own, which say "in a test worker" to an app that reads them. */
const RUNNER_VARIABLE =
  /^(PGWORK_|VITEST|JEST_WORKER_ID$|TEST_PARALLEL_INDEX$|TEST_WORKER_INDEX$|NODE_TEST_CONTEXT$|NODE_TEST_WORKER_ID$|BUN_TEST_WORKER_ID$|MOCHA_WORKER_ID$)/;

/**
 * The worker's environment as a service gets it: strings only, its database
 * variables rewritten, without pgwork's run and the runner's worker ids.
 */
function serviceEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && !RUNNER_VARIABLE.test(entry[0]),
    ),
  );
}

/** The processes whose end stops the worker's services: the worker, and the runner that started it. */
function owners(): ServiceOwner[] {
  return [ownerOf(process.pid), ...(process.ppid > 1 ? [ownerOf(process.ppid)] : [])];
}

function settle(key: string, started: Started, env: NodeJS.ProcessEnv): readonly RunningService[] {
  current = { key, started };
  if ('error' in started) throw started.error;
  for (const service of started.services) Object.assign(env, service.variables);
  return started.services;
}

/**
 * Starts the run's services for this worker once (a later test file finds them
 * running) and sets their variables in `env`, the test file's environment:
 * Vitest's setup file and the Playwright fixture await it.
 */
export async function startWorkerServices(
  env: NodeJS.ProcessEnv,
  project?: string,
): Promise<readonly RunningService[]> {
  const wanted = workerRequest(env, project);
  if (!wanted) return [];
  const { key, request } = wanted;
  if (current?.key === key) return settle(key, current.started, env);
  if (starting?.key !== key) {
    const previous = current;
    current = undefined;
    if (previous && !('error' in previous.started)) await stopServices(previous.started.services);
    starting = { key, promise: startServices(request) };
  }
  const started = await starting.promise;
  starting = undefined;
  return settle(key, started, env);
}

/** What this worker's services are (undefined: the run has none), keyed by run and worker. */
function workerRequest(env: NodeJS.ProcessEnv, project?: string): { key: string; request: StartRequest } | undefined {
  const state = readRunState(env, project);
  const specs = state.settings.services ?? [];
  if (!specs.length) return undefined;
  const worker = resolveWorkerId(env);
  const request: StartRequest = {
    specs,
    runId: state.runId,
    worker,
    rootDir: state.settings.rootDir,
    env: serviceEnvironment(env),
    owners: owners(),
    owner: `${process.pid}-t${threadId}`,
  };
  return { key: keyOf(state, worker), request };
}

/** How long Jest's setup file may block on the launcher: every service's own timeout, and time to start Node. */
const LAUNCH_OVERHEAD_MS = 30_000;

/**
 * `startWorkerServices` for Jest's setup files, which run synchronously before
 * the test file loads: the same start, in a short-lived launcher process this
 * one waits for. The services outlive the launcher, owned by this process.
 */
export function startWorkerServicesSync(env: NodeJS.ProcessEnv, project?: string): readonly RunningService[] {
  const wanted = workerRequest(env, project);
  if (!wanted) return [];
  const { key, request } = wanted;
  if (current?.key === key) return settle(key, current.started, env);
  if (current && !('error' in current.started)) stopServicesNow(current.started.services);
  const { specs } = request;
  // Whole milliseconds: Node refuses a fraction (a computed timeout, 60_000 / 7) with ERR_OUT_OF_RANGE.
  const timeout = Math.ceil(specs.reduce((sum, spec) => sum + spec.timeoutMs, LAUNCH_OVERHEAD_MS));
  // On stdin, as to the supervisors: the worker's environment belongs on no command line.
  let answer: { services: RunningService[] } | { error: string };
  try {
    const stdout = execFileSync(process.execPath, [childFile(__dirname, 'service-launch')], {
      encoding: 'utf8',
      timeout,
      env: helperEnvironment(),
      input: JSON.stringify(request),
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const line = stdout.split('\n').find((candidate) => candidate.startsWith(SUPERVISOR_ANSWER));
    answer = JSON.parse(line!.slice(SUPERVISOR_ANSWER.length));
  } catch (error) {
    const why =
      (error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? `did not finish within ${timeout / 1000} s` : 'failed';
    answer = {
      error: `starting worker ${request.worker}'s services ${why} (${firstLine(String((error as Error)?.message ?? error))}); run the service commands by hand to see why.`,
    };
  }
  const started: Started =
    'error' in answer ? { error: new PgworkError('SERVICE_FAILED', answer.error.replace(/^pgwork: /, '')) } : answer;
  return settle(key, started, env);
}

/**
 * Fails the test when one of the worker's services has ended on its own,
 * naming it, how it ended and what it printed last: a test against a dead
 * server would fail later with a less telling error, or hang.
 */
export function assertServicesRunning(): void {
  if (!current || 'error' in current.started) return;
  for (const service of current.started.services) {
    const exit = readServiceRecord(service.record)?.exit;
    if (!exit) continue;
    const how = exit.signal ? `was ended by ${exit.signal}` : `exited with code ${exit.code}`;
    throw new PgworkError(
      'SERVICE_FAILED',
      `service "${service.name}" (${service.command}) on port ${service.port} ${how} while the worker's tests ran${quotedOutput(service.log)}`,
    );
  }
}

/** Stops the services and waits until their supervisors, which stop each one's whole process group, are gone. */
export async function stopServices(services: readonly RunningService[]): Promise<void> {
  const supervisors = stopServicesNow(services);
  const deadline = Date.now() + STOP_WAIT_MS;
  while (supervisors.some(ownerAlive) && Date.now() < deadline) await sleep(25);
}

function stopServicesNow(services: readonly RunningService[]): ServiceOwner[] {
  const supervisors = [...services]
    .reverse()
    .map((service) => service.supervisor)
    .filter(ownerAlive);
  for (const supervisor of supervisors) signal(supervisor.pid, 'SIGTERM');
  return supervisors;
}

/** Stops this worker's services now (a Playwright worker's end); Jest's and Vitest's end with their worker. */
export async function stopWorkerServices(): Promise<void> {
  const last = current;
  current = undefined;
  if (last && !('error' in last.started)) await stopServices(last.started.services);
}
