import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { isAlive } from './child';

// Per-worker services (a Redis, a Playwright worker's app server): what the
// worker side that starts them, the supervisor that watches each one, and the
// run's end that stops what is left agree on.

/** One service as a run hands it to its workers (the `services` option, resolved). */
export interface ServiceSpec {
  readonly name: string;
  /** A shell command; {port}, {worker} and {run} expanded. */
  readonly command: string;
  /** Set in the worker and in the services started after this one; {port}, {worker}, {run} expanded. */
  readonly env: Readonly<Record<string, string>>;
  /** Ready when this URL answers; else when the port accepts connections. */
  readonly readyUrl?: string;
  readonly timeoutMs: number;
  /** Where the command runs: relative to the project's root (WorkerSettings.rootDir), or absolute. */
  readonly cwd: string;
}

/** What a service's supervisor records beside its output, `w<worker>-<name>-<owner>.json` in the run's directory. */
export interface ServiceRecord {
  /** The supervisor: it stops the service's process group when asked (SIGTERM) or when its owners die. */
  readonly supervisor: ServiceOwner;
  /** The service's shell, the leader of its process group. */
  readonly service: ServiceOwner;
  readonly port: number;
  /** Set when the service ended on its own (or never became ready): nobody is left to stop. */
  readonly exit?: { readonly code: number | null; readonly signal: string | null };
}

/** What a supervisor is asked (on its stdin). */
export interface SupervisorRequest {
  readonly command: string;
  readonly cwd: string;
  readonly env: Record<string, string>;
  readonly port: number;
  readonly readyUrl?: string;
  readonly timeoutMs: number;
  readonly owners: readonly ServiceOwner[];
  readonly log: string;
  readonly record: string;
}

/** What starts the supervisor's answer line on stdout: anything else there (a NODE_OPTIONS preload's output) is not it. */
export const SUPERVISOR_ANSWER = 'pgwork-supervisor: ';

/** The supervisor's answer, once, on stdout. */
export type SupervisorAnswer =
  | { readonly ready: true; readonly pid: number }
  | {
      readonly ready: false;
      readonly reason: string;
      readonly fix: string;
      /** It exited (rather than never answering). */
      readonly exited?: boolean;
    };

/** {port}, {worker} and {run} of a service's command or variable. */
export function expandServiceValue(value: string, values: { port: number; worker: number; run: string }): string {
  return value
    .replaceAll('{port}', String(values.port))
    .replaceAll('{worker}', String(values.worker))
    .replaceAll('{run}', values.run);
}

/** Where a run's services keep their output and records: removed at the run's end. */
export function servicesDirectory(runId: string): string {
  return join(tmpdir(), `pgwork-services-${process.getuid?.() ?? 'user'}`, runId);
}

export function makeServicesDirectory(runId: string): string {
  const directory = servicesDirectory(runId);
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  return directory;
}

/**
 * The files of worker N's service `name` started by `owner` (the worker's
 * process and thread, "<pid>-t<thread>"): its output, and its record. Named
 * after the owner too: a worker that replaces one of the same number (each
 * Vitest file's fresh process or thread, a recycled or crashed Jest worker)
 * starts its services while the last one's may still be stopping, and a
 * supervisor removes its files when it stops.
 */
export function serviceFiles(
  runId: string,
  worker: number,
  name: string,
  owner: string,
): { log: string; record: string } {
  const stem = join(servicesDirectory(runId), `w${worker}-${name}-${owner}`);
  return { log: `${stem}.log`, record: `${stem}.json` };
}

/** Where a worker's failed start is kept: the next process or thread of that number fails at once with it, not after the same timeout again. */
export function failedStartFile(runId: string, worker: number): string {
  return join(servicesDirectory(runId), `w${worker}.failed`);
}

export function readServiceRecord(file: string): ServiceRecord | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ServiceRecord;
  } catch {
    return undefined;
  }
}

/** How much of a log's end is read for its last lines: a chatty server's log grows for the whole run. */
const TAIL_BYTES = 64 * 1024;

/** The last lines a service printed, for an error or a failed test's report. */
export function lastOutput(log: string, lines = 20): string {
  let text: string;
  try {
    const size = statSync(log).size;
    const start = Math.max(0, size - TAIL_BYTES);
    const buffer = Buffer.alloc(size - start);
    const fd = openSync(log, 'r');
    try {
      readSync(fd, buffer, 0, buffer.length, start);
    } finally {
      closeSync(fd);
    }
    text = buffer.toString('utf8');
  } catch {
    return '';
  }
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** `lastOutput` as an error's closing lines. */
export function quotedOutput(log: string): string {
  const output = lastOutput(log);
  return output ? `; its last output:\n${output.replace(/^/gm, '  | ')}` : '; it printed nothing';
}

/** How long stopping services waits for their supervisors (which give a service 5 s before SIGKILL). */
export const STOP_WAIT_MS = 10_000;

/**
 * At a run's end: stops every service of the run still running (its worker
 * ended without stopping it, as Jest's and Vitest's workers do), waits for
 * them to go, and removes the run's directory. A service whose supervisor
 * was killed is stopped here directly, through its process group.
 */
export async function stopRunServices(runId: string): Promise<void> {
  const directory = servicesDirectory(runId);
  let files: string[];
  try {
    files = readdirSync(directory).filter((file) => file.endsWith('.json'));
  } catch {
    return;
  }
  await stopRecorded(files.map((file) => join(directory, file)));
  rmSync(directory, { recursive: true, force: true });
  sweepEmptyRunDirectories(dirname(directory));
}

/**
 * Stops the services these records name and waits for their supervisors to
 * go. Only processes that are still the ones recorded (a pid reused since is
 * another program's), and none of a record whose service already ended.
 */
export async function stopRecorded(recordFiles: readonly string[]): Promise<void> {
  const records = recordFiles.map(readServiceRecord).filter((record) => !!record && !record.exit) as ServiceRecord[];
  const supervisors = records.map((record) => record.supervisor).filter(ownerAlive);
  for (const supervisor of supervisors) signal(supervisor.pid, 'SIGTERM');
  const deadline = Date.now() + STOP_WAIT_MS;
  while (supervisors.some(ownerAlive) && Date.now() < deadline) await sleep(50);
  // A supervisor that was killed (or did not stop in time) left its service: stop the group directly.
  for (const record of records) if (ownerAlive(record.service)) signal(-record.service.pid, 'SIGKILL');
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Removes the directories of runs killed before their end: their supervisors
 * removed their own files when the run died, and left the folder. Only an
 * empty one (rmdir refuses any other), untouched for a day.
 */
function sweepEmptyRunDirectories(parent: string): void {
  let entries: string[];
  try {
    entries = readdirSync(parent);
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(parent, entry);
    try {
      if (Date.now() - statSync(path).mtimeMs > DAY_MS) rmdirSync(path);
    } catch {} // not empty, or gone meanwhile
  }
}

/** Whether any process of the group `leader` started is left. */
export function groupAlive(leader: number): boolean {
  try {
    process.kill(-leader, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function signal(pid: number, name: NodeJS.Signals): void {
  if (!pid) return; // 0 would be this process's own group
  try {
    process.kill(pid, name);
  } catch {}
}

export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** When the process started, in clock ticks since boot (Linux), to tell it from a later one given its pid; undefined without /proc. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** A process a supervisor outlives no longer than it must: the worker that started the service, and its runner. */
export interface ServiceOwner {
  readonly pid: number;
  readonly started?: string;
}

export function ownerOf(pid: number): ServiceOwner {
  return { pid, started: processStartTime(pid) };
}

/** Whether the owner still runs: the same process, not a later one that was given its pid. */
export function ownerAlive(owner: ServiceOwner): boolean {
  if (!(owner.pid > 0) || !isAlive(owner.pid)) return false; // 0 would be this process's own group
  return owner.started === undefined || processStartTime(owner.pid) === owner.started;
}

/**
 * Whether something listens on the loopback port. It hangs up politely (FIN,
 * not a reset): a server that does not handle a reset socket's error would
 * crash on the probe. The idle timeout destroys a socket the server keeps open.
 */
export function portAnswers(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const finish = (open: boolean) => {
      socket.destroy();
      done(open);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.once('connect', () => {
      socket.end();
      done(true); // a second done() (the timeout's, an error's) is ignored
    });
    socket.on('error', () => finish(false));
  });
}
