// A per-worker service's supervisor, a detached process (one per service):
// starts the command in a process group of its own, says on stdout whether it
// became ready, then stops the whole group when asked (SIGTERM, SIGINT,
// SIGHUP) or as soon as one of its owners (the worker, the runner) is gone,
// however they ended: a SIGKILLed run leaves no service behind.
import { spawn } from 'node:child_process';
import { openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import {
  groupAlive,
  ownerAlive,
  ownerOf,
  portAnswers,
  signal,
  sleep,
  SUPERVISOR_ANSWER,
  type ServiceRecord,
  type SupervisorAnswer,
  type SupervisorRequest,
} from '../shared/services';

// On stdin (the worker's environment belongs on no command line); the arguments only label the process.
const request = JSON.parse(readFileSync(0, 'utf8')) as SupervisorRequest;
const POLL_MS = 100;
const OWNER_CHECK_MS = 250;
const STOP_GRACE_MS = 5_000;

const output = openSync(request.log, 'a');
const child = spawn('/bin/sh', ['-c', request.command], {
  cwd: request.cwd,
  env: request.env,
  detached: true, // its own process group: stopped as a whole, and out of reach of the terminal's Ctrl-C, which reaches the worker
  stdio: ['ignore', output, output],
});
let exit: ServiceRecord['exit'];
let stopping = false;
child.on('exit', (code, signalName) => {
  exit = { code, signal: signalName };
});
child.on('error', (error) => {
  exit = { code: null, signal: null };
  writeFileSync(request.log, `${error.message}\n`, { flag: 'a' });
});
const pid = child.pid ?? 0;
const identity = { supervisor: ownerOf(process.pid), service: ownerOf(pid), port: request.port };
/** The record the worker and the run's end read; a run's end may have removed the directory already. */
const recordFile = (extra: Partial<ServiceRecord> = {}) => {
  try {
    writeFileSync(request.record, JSON.stringify({ ...identity, ...extra } satisfies ServiceRecord));
  } catch {}
};
recordFile();

const answer = (line: SupervisorAnswer) => {
  try {
    process.stdout.write(`${SUPERVISOR_ANSWER}${JSON.stringify(line)}\n`);
  } catch {}
};

async function stop(keepFiles = false): Promise<never> {
  stopping = true;
  if (pid) {
    signal(-pid, 'SIGTERM');
    const deadline = Date.now() + STOP_GRACE_MS;
    while (groupAlive(pid) && Date.now() < deadline) await sleep(50);
    if (groupAlive(pid)) signal(-pid, 'SIGKILL');
  }
  if (keepFiles) recordFile({ exit: exit ?? { code: null, signal: 'SIGTERM' } });
  else {
    rmSync(request.log, { force: true });
    rmSync(request.record, { force: true });
  }
  process.exit(0);
}

for (const name of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(name, () => void stop());
// The starter reads one line and lets go of the pipe: later writes must not end this process.
process.stdout.on('error', () => undefined);

function urlAnswers(url: string): Promise<boolean> {
  return new Promise((done) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const call = get(url, { timeout: 2000, rejectUnauthorized: false }, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      // As Playwright's webServer: a page behind a login (401-403) is a server that is up.
      done((status >= 200 && status < 400) || (status >= 401 && status <= 403));
    });
    call.once('timeout', () => call.destroy());
    call.once('error', () => done(false));
  });
}

/**
 * Whether the listener on the port is the service's (a process of its group holds the listening
 * socket): another process that took the port first (another worker's service starting at the
 * same moment) answers too, and the service itself then exits. Linux's /proc says; elsewhere the
 * answer is taken as the service's.
 */
function listenerIsTheService(): boolean {
  let inodes: Set<string>;
  try {
    const hexPort = request.port.toString(16).toUpperCase().padStart(4, '0');
    const listening = ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((table) => {
      try {
        return readFileSync(table, 'utf8').trim().split('\n').slice(1);
      } catch {
        return [];
      }
    });
    inodes = new Set(
      listening
        .map((line) => line.trim().split(/\s+/))
        .filter((fields) => fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A')
        .map((fields) => fields[9]!),
    );
    readdirSync('/proc/self/fd');
  } catch {
    return true;
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const group = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (group !== pid) continue;
      for (const fd of readdirSync(`/proc/${entry}/fd`)) {
        const target = readlinkSync(`/proc/${entry}/fd/${fd}`);
        if (inodes.has(target.slice('socket:['.length, -1)) && target.startsWith('socket:[')) return true;
      }
    } catch {} // gone meanwhile, or not ours to read
  }
  return false;
}

const answers = () =>
  request.readyUrl
    ? urlAnswers(request.readyUrl)
    : portAnswers(request.port).then((open) => open || portAnswers(request.port, '::1'));
const ready = async () => (await answers()) && listenerIsTheService();

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

async function main(): Promise<void> {
  const deadline = Date.now() + request.timeoutMs;
  for (;;) {
    if (exit) {
      const how = exit.signal ? `was ended by ${exit.signal}` : `exited with code ${exit.code}`;
      answer({
        ready: false,
        reason: `${how} before it was ready`,
        exited: true,
        fix: 'fix the command (its output below says why it stopped)',
      });
      await stop(true);
    }
    if (!request.owners.every(ownerAlive)) await stop();
    if (await ready()) break;
    if (Date.now() >= deadline) {
      const waited = request.readyUrl ? `${request.readyUrl} to answer` : `port ${request.port} to accept connections`;
      const fix = request.readyUrl
        ? 'make the service answer there (listening on the port pgwork gives it, PORT or {port}), or raise its timeout'
        : 'make the service listen on the port pgwork gives it (PORT or {port}), or raise its timeout';
      answer({
        ready: false,
        reason: `was not ready within ${seconds(request.timeoutMs)} (waited for ${waited})`,
        fix,
      });
      await stop(true);
    }
    await sleep(POLL_MS);
  }
  answer({ ready: true, pid });
  for (;;) {
    await sleep(OWNER_CHECK_MS);
    if (stopping) return;
    if (exit) {
      // Ended on its own: the worker's next test says so, with this output.
      recordFile({ exit });
      if (groupAlive(pid)) signal(-pid, 'SIGKILL');
      process.exit(0);
    }
    if (!request.owners.every(ownerAlive)) await stop();
  }
}

void main();
