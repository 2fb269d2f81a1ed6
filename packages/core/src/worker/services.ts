import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { childFile } from '../shared/child';
import { PgworkError } from '../shared/errors';
import { readRunState, type RunState } from '../shared/run-state';
import {
  expandServiceValue,
  makeServicesDirectory,
  ownerAlive,
  ownerOf,
  quotedOutput,
  readServiceRecord,
  serviceFiles,
  signal,
  sleep,
  type ServiceOwner,
  type ServiceSpec,
} from '../shared/services';
import { resolveWorkerId } from '../shared/worker-id';
import type { SupervisorAnswer, SupervisorRequest } from './service-supervisor';

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
  readonly supervisor: number;
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
}

/**
 * Starts the services in order, each with the variables of the ones before it;
 * stops those already started when one fails, and says which one and why.
 */
export async function startServices(request: StartRequest): Promise<Started> {
  const services: RunningService[] = [];
  const variables: Record<string, string> = {};
  makeServicesDirectory(request.runId);
  for (const spec of request.specs) {
    const port = await freePort();
    const values = { port, worker: request.worker, run: request.runId };
    const own = Object.fromEntries(
      Object.entries(spec.env).map(([name, value]) => [name, expandServiceValue(value, values)]),
    );
    const command = expandServiceValue(spec.command, values);
    // Named after the worker process (the first owner), not the launcher Jest's worker waits for.
    const files = serviceFiles(request.runId, request.worker, spec.name, request.owners[0]?.pid ?? process.pid);
    const supervisorRequest: SupervisorRequest = {
      command,
      cwd: resolve(request.rootDir, spec.cwd),
      env: { ...request.env, ...variables, PORT: String(port), ...own },
      port,
      readyUrl: spec.readyUrl && expandServiceValue(spec.readyUrl, values),
      timeoutMs: spec.timeoutMs,
      owners: request.owners,
      ...files,
    };
    const answer = await supervise(supervisorRequest);
    if (!answer.ready) {
      await stopServices(services);
      const where = `worker ${request.worker}'s service "${spec.name}" (${command}) on port ${port}`;
      return {
        error: new PgworkError('SERVICE_FAILED', `${where} ${answer.reason}; ${answer.fix}${quotedOutput(files.log)}`),
      };
    }
    Object.assign(variables, own);
    const record = readServiceRecord(files.record);
    services.push({
      name: spec.name,
      command,
      port,
      variables: own,
      supervisor: record?.supervisor ?? 0,
      pid: answer.pid,
      ...files,
    });
  }
  return { services };
}

/**
 * Starts one supervisor and reads its answer; the supervisor then runs on, detached.
 * The request goes on stdin: it holds the worker's environment, database
 * passwords included, which a command line would show to anyone who lists
 * processes (and which may be longer than one argument can be). The port and
 * command are arguments, to tell the supervisors apart in a process list.
 */
function supervise(request: SupervisorRequest): Promise<SupervisorAnswer> {
  return new Promise((resolve) => {
    const label = [String(request.port), request.command];
    const child = spawn(process.execPath, [childFile(__dirname, 'service-supervisor'), ...label], {
      detached: true,
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    child.stdin.on('error', () => undefined); // a supervisor that could not start: its exit says so
    child.stdin.end(JSON.stringify(request));
    let text = '';
    const done = (answer: SupervisorAnswer) => {
      child.stdout.destroy();
      child.unref();
      resolve(answer);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk;
      const line = text.split('\n')[0];
      if (text.includes('\n') && line) done(JSON.parse(line) as SupervisorAnswer);
    });
    const lost = (reason: string) =>
      done({ ready: false, reason, fix: 'check that the machine can start Node processes' });
    child.on('error', (error) => lost(`could not be supervised (${error.message})`));
    child.on('exit', () => {
      if (!text.includes('\n')) lost('lost its supervisor before it was ready');
    });
  });
}

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

/** The worker's environment as a service gets it: strings only. */
function serviceEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
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
  const stdout = execFileSync(process.execPath, [childFile(__dirname, 'service-launch')], {
    encoding: 'utf8',
    timeout,
    input: JSON.stringify(request),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const answer = JSON.parse(stdout) as { services: RunningService[] } | { error: string };
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

/** This worker's running services (the Playwright fixture reads its web server's). */
export function runningServices(): readonly RunningService[] {
  return current && !('error' in current.started) ? current.started.services : [];
}

const STOP_WAIT_MS = 10_000;

/** Stops the services and waits until their supervisors, which stop each one's whole process group, are gone. */
export async function stopServices(services: readonly RunningService[]): Promise<void> {
  const supervisors = stopServicesNow(services);
  const deadline = Date.now() + STOP_WAIT_MS;
  while (supervisors.some(ownerAlive) && Date.now() < deadline) await sleep(25);
}

function stopServicesNow(services: readonly RunningService[]): ServiceOwner[] {
  const supervisors = [...services].reverse().map((service) => ownerOf(service.supervisor));
  for (const supervisor of supervisors) signal(supervisor.pid, 'SIGTERM');
  return supervisors;
}

/** Stops this worker's services now (a Playwright worker's end); Jest's and Vitest's end with their worker. */
export async function stopWorkerServices(): Promise<void> {
  const last = current;
  current = undefined;
  if (last && !('error' in last.started)) await stopServices(last.started.services);
}
