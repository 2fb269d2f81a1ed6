import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveOptions } from '../src/setup/options';
import { servicesDirectory, stopRunServices } from '../src/shared/services';
import { dropOwnedWithBase, runFixture, serverUrl, uniqueBase } from './helpers';
import { adapter, code } from './unit-helpers';

// The services option against real processes: a Redis per worker under Jest and
// Vitest, services that fail to start or die, and runs killed under them.
// Every service command carries a marker, so what a run leaves is found in /proc.

const FIXTURE = join(__dirname, 'fixtures/services-project');
const JEST_CONFIG = join(FIXTURE, 'jest.config.js');
const VITEST_CONFIG = join(FIXTURE, 'vitest.config.mjs');
const JEST = require.resolve('jest/bin/jest');
const VITEST = join(require.resolve('vitest/package.json'), '../vitest.mjs');

describe('the services option', () => {
  const services = (value: unknown, extra: Record<string, unknown> = {}) =>
    resolveOptions({ adapter, services: value, ...extra }, {});
  const message = (fn: () => unknown) => {
    expect(code(fn)).toBe('INVALID_OPTION');
    try {
      fn();
    } catch (error) {
      return (error as Error).message;
    }
    return '';
  };

  it('resolves a service with its defaults, in the order given', () => {
    const resolved = services({
      redis: { command: "redis-server --port {port} --save ''", env: { REDIS_PORT: '{port}' } },
      app: { command: 'node server.js', readyUrl: 'http://127.0.0.1:{port}/health', timeout: 5000, cwd: 'app' },
    }).services;
    expect(resolved).toEqual([
      {
        name: 'redis',
        command: "redis-server --port {port} --save ''",
        env: { REDIS_PORT: '{port}' },
        readyUrl: undefined,
        timeoutMs: 60_000,
        cwd: '.',
      },
      {
        name: 'app',
        command: 'node server.js',
        env: {},
        readyUrl: 'http://127.0.0.1:{port}/health',
        timeoutMs: 5000,
        cwd: 'app',
      },
    ]);
    expect(services(undefined).services).toEqual([]);
  });

  it.each([
    ['not an object', [], /services must be an object of services by name \(got \[\]\); e\.g\. services: \{ redis:/],
    ['a bad name', { '1redis': { command: 'x' } }, /services\.1redis: a service's name is a letter then letters/],
    ['a service that is not an object', { redis: 'redis-server' }, /services\.redis must be an object with a command/],
    [
      'an unknown field',
      { redis: { command: 'redis-server', port: 6379 } },
      /services\.redis: unknown field "port" \(the fields are command, env, readyUrl, timeout, cwd\); e\.g\./,
    ],
    [
      'no command',
      { redis: { env: {} } },
      /services\.redis\.command must be the shell command that starts the service/,
    ],
    ['an empty command', { redis: { command: '  ' } }, /services\.redis\.command must be the shell command/],
    [
      'a variable that is not a string',
      { redis: { command: 'x', env: { REDIS_PORT: 6379 } } },
      /services\.redis\.env\.REDIS_PORT must be a variable name with a string value/,
    ],
    [
      'a readyUrl that is not http(s)',
      { app: { command: 'node server.js', readyUrl: 'localhost:3000/health' } },
      /services\.app\.readyUrl must be an http\(s\) URL \(got "localhost:3000\/health"\); e\.g\. services: \{ app: \{ command: "node server\.js", readyUrl: "http:\/\/127\.0\.0\.1:\{port\}\/health" \} \}/,
    ],
    [
      'a negative timeout',
      { redis: { command: 'x', timeout: -1 } },
      /services\.redis\.timeout must be a number of milliseconds \(got -1\)/,
    ],
    [
      'a timeout as text',
      { redis: { command: 'x', timeout: '5s' } },
      /services\.redis\.timeout must be a number of milliseconds \(got "5s"\)/,
    ],
    [
      'an endless timeout',
      { redis: { command: 'x', timeout: Number.POSITIVE_INFINITY } },
      /services\.redis\.timeout must be a number of milliseconds \(got Infinity\)/,
    ],
    ['a cwd that is not a path', { redis: { command: 'x', cwd: 1 } }, /services\.redis\.cwd must be a directory/],
  ])('refuses %s, in one line naming the fix', (_what, value, expected) => {
    expect(message(() => services(value))).toMatch(expected);
  });

  it("refuses a variable pgwork already sets in the worker: DATABASE_URL, the env option's, workerEnv's, another service's", () => {
    expect(message(() => services({ redis: { command: 'x', env: { DATABASE_URL: '{port}' } } }))).toMatch(
      /services\.redis\.env sets DATABASE_URL, which pgwork already sets in each worker \(its env or workerEnv option\): name another variable; e\.g\./,
    );
    expect(
      message(() => services({ redis: { command: 'x', env: { APP_DB_URL: '{port}' } } }, { env: ['APP_DB_URL'] })),
    ).toMatch(/services\.redis\.env sets APP_DB_URL, which pgwork already sets in each worker/);
    expect(
      message(() =>
        services({ redis: { command: 'x', env: { REDIS_DB: '{port}' } } }, { workerEnv: { REDIS_DB: '{worker}' } }),
      ),
    ).toMatch(/services\.redis\.env sets REDIS_DB, which pgwork already sets in each worker/);
    expect(
      message(() =>
        services({
          a: { command: 'x', env: { SHARED_PORT: '{port}' } },
          b: { command: 'y', env: { SHARED_PORT: '{port}' } },
        }),
      ),
    ).toMatch(/services\.b\.env sets SHARED_PORT, which services\.a\.env sets too: name another variable/);
    // With DATABASE_URL not among env, a service may set it (a URL of its own, say).
    expect(
      services({ db: { command: 'x', env: { DATABASE_URL: 'x' } } }, { env: ['APP_DB_URL'] }).services,
    ).toHaveLength(1);
  });
});

/** The processes (pid and command line) whose command line names `marker`: a run's services and supervisors. */
function markedProcesses(marker: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    if (Number(pid) === process.pid) continue;
    try {
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      if (command.includes(marker)) found.push(`${pid}: ${command.slice(0, 160)}`);
    } catch {} // gone meanwhile
  }
  return found;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `done()` holds, for at most `ms` (generous: a loaded machine is slow); the last value either way. */
async function poll<T>(read: () => T, done: (value: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  let value = read();
  while (!done(value) && Date.now() < deadline) {
    await sleep(100);
    value = read();
  }
  return value;
}

/** The marked processes left once they have had time to go: [] when the run left none. */
const leftBehind = (marker: string) =>
  poll(
    () => markedProcesses(marker),
    (left) => left.length === 0,
  );

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const finish = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(2000, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

const runIdOf = (output: string) => output.match(/pgwork: run ([a-z0-9]{8})/)?.[1];

/** Runs a variant of the services fixture (jest.config.js, or vitest.config.mjs) with a fresh marker and base name. */
async function servicesRun(variant: string, config = JEST_CONFIG, env: Record<string, string> = {}) {
  const marker = `pgwork-mark-${uniqueBase('s').slice(2)}`;
  const baseName = uniqueBase('svc');
  try {
    const run = runFixture(
      {
        SERVICES: variant,
        FIXTURE_MARKER: marker,
        FIXTURE_BASE_NAME: baseName,
        PGWORK_DATABASE_URL: serverUrl(),
        ...env,
      },
      config,
    );
    // Vitest colours its summary.
    const output = run.output.replace(/\u001b\[[0-9;]*m/g, '');
    return { ...run, output, marker, runId: runIdOf(output), left: await leftBehind(marker) };
  } finally {
    await dropOwnedWithBase(baseName);
  }
}

/** The ports the fixture's own-redis files wrote to ("wrote <file> <port> <worker>"), by file. */
const redisPorts = (lines: string[]) =>
  Object.fromEntries(
    lines.filter((line) => line.startsWith('wrote ')).map((line) => [line.split(' ')[1], Number(line.split(' ')[2])]),
  );

describe.each([
  ['Jest', JEST_CONFIG, /Tests:\s+2 passed, 2 total/],
  ['Vitest', VITEST_CONFIG, /Tests\s+2 passed \(2\)/],
])('a Redis per worker under %s', (_runner, config, passed) => {
  it('gives each worker its own Redis on its own REDIS_PORT, and leaves none running after the run', async () => {
    const run = await servicesRun('redis', config);
    // Each file FLUSHALLs its Redis, writes a key, waits for the other file's worker to do the same, and finds only its own key.
    expect(run.output).toMatch(passed);
    expect(run.status).toBe(0);
    const ports = redisPorts(run.lines);
    expect(Object.keys(ports).sort()).toEqual(['a', 'b']);
    expect(ports.a).not.toBe(ports.b);
    expect(run.left).toEqual([]);
    for (const port of Object.values(ports)) expect(await portOpen(port)).toBe(false);
    expect(run.runId).toBeDefined();
    expect(existsSync(servicesDirectory(run.runId!))).toBe(false);
  });
});

describe('services under worker threads (Vitest pool "threads")', () => {
  it("stop when the next thread of the worker's number starts: each file runs beside no earlier file's service", async () => {
    const run = await servicesRun('threads', VITEST_CONFIG);
    expect(run.output).toMatch(/Tests\s+3 passed \(3\)/);
    expect(run.left).toEqual([]);
  });
});

describe("the worker's environment", () => {
  it('starts the services when it is too large for one command-line argument (a 130 kB variable)', async () => {
    // Linux caps one argument at 128 kB: the environment goes to the supervisor and launcher on stdin.
    const run = await servicesRun('redis', JEST_CONFIG, { FIXTURE_LARGE_VARIABLE: 'x'.repeat(130_000) });
    expect(run.output).toMatch(/Tests:\s+2 passed, 2 total/);
    expect(run.left).toEqual([]);
  });
});

describe('a service that fails', () => {
  it('exits before it is ready: the file fails with SERVICE_FAILED naming the command, the port and its last output', async () => {
    const run = await servicesRun('exits-early');
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(
      new RegExp(
        `pgwork: worker \\d's service "broken" \\(echo "cannot start: no config \\(${run.marker}\\)" >&2; exit 3\\) on port \\d+ exited with code 3 before it was ready; fix the command \\(its output below says why it stopped\\); its last output:\\n\\s*\\| cannot start: no config \\(${run.marker}\\)`,
      ),
    );
    expect(run.left).toEqual([]);
  });

  it('never listens: the file fails with "was not ready within" its timeout, and the process is stopped', async () => {
    const run = await servicesRun('never-ready');
    expect(run.status).not.toBe(0);
    expect(run.output).toMatch(
      /service "deaf" \(.*\) on port (\d+) was not ready within 1\.5 s \(waited for port \1 to accept connections\); make the service listen on the port pgwork gives it \(PORT or \{port\}\), or raise its timeout; its last output:\n\s*\| starting, listening nowhere/,
    );
    expect(run.left).toEqual([]);
  });

  it('loses its port to another process before it binds it: started again on a new port, the file runs', async () => {
    const work = mkdtempSync(join(tmpdir(), 'pgwork-port-taken-'));
    const taken = join(work, 'taken');
    try {
      const run = await servicesRun('port-taken', JEST_CONFIG, { FIXTURE_TAKEN_FILE: taken });
      expect(existsSync(taken)).toBe(true); // the first start did lose its port
      expect(run.output).toMatch(/Tests:\s+1 passed, 1 total/);
      expect(run.status).toBe(0);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it("dies mid-run: the next test fails saying it exited while the worker's tests ran, with its output", async () => {
    const run = await servicesRun('dies-mid-run');
    expect(run.output).toMatch(/Tests:\s+1 failed, 1 passed, 2 total/);
    expect(run.output).toMatch(
      new RegExp(
        `runs after its Redis died[\\s\\S]*pgwork: service "redis" \\(redis-server --port (\\d+) .*${run.marker}.rdb\\) on port \\1 exited with code 0 while the worker's tests ran; its last output:`,
      ),
    );
    expect(run.output).toMatch(/\|.*Redis is now ready to exit, bye bye/);
    expect(run.left).toEqual([]);
  });
});

describe.each([
  ['Jest: a worker recycled after each file (workerIdleMemoryLimit)', JEST_CONFIG, /Tests:\s+2 passed, 2 total/],
  ['Vitest: a process per file', VITEST_CONFIG, /Tests\s+2 passed \(2\)/],
])('a worker replaced by one of the same number (%s)', (_how, config, passed) => {
  it("keeps the new worker's service record and output while the old one's service is still stopping", async () => {
    // The old supervisor used to remove the files, named after the worker's number alone, that the new one had just written.
    const run = await servicesRun('recycled', config);
    expect(run.output).toMatch(passed);
    expect(run.status).toBe(0);
    const ports = run.lines.filter((line) => line.startsWith('started ')).map((line) => line.split(' ')[1]);
    expect(new Set(ports).size).toBe(2); // two worker processes, each with its own service
    expect(run.left).toEqual([]);
  });
});

/**
 * Starts the "hold" variant under Jest (or Vitest) in a process group of its
 * own (as a terminal starts it), waits until both workers' Redis servers answer
 * and the files are holding, and returns what is needed to kill it.
 */
async function heldRun(runner: 'jest' | 'vitest' = 'jest') {
  const marker = `pgwork-mark-${uniqueBase('k').slice(2)}`;
  const baseName = uniqueBase('svckill');
  const secret = `secret-${uniqueBase('v')}`;
  const work = mkdtempSync(join(tmpdir(), 'pgwork-services-kill-'));
  const out = join(work, 'out.txt');
  writeFileSync(out, '');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SERVICES: 'hold',
    FIXTURE_MARKER: marker,
    FIXTURE_BASE_NAME: baseName,
    FIXTURE_OUT: out,
    PGWORK_DATABASE_URL: serverUrl(),
    FIXTURE_SECRET: secret,
  };
  delete env.JEST_WORKER_ID;
  delete env.DATABASE_URL;
  const command =
    runner === 'jest'
      ? [JEST, '--config', JEST_CONFIG, '--cacheDirectory', join(work, 'cache'), '--ci']
      : [VITEST, 'run', '--config', VITEST_CONFIG];
  const child = spawn(process.execPath, command, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const holding = () =>
    readFileSync(out, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('holding '));
  await poll(holding, (lines) => lines.length === 2, 120_000);
  const workers = childrenOf(child.pid!);
  return {
    child,
    marker,
    secret,
    ports: holding().map((line) => Number(line.split(' ')[2])),
    output: () => output,
    exited,
    async cleanUp() {
      // The runner's workers can outlive it, still holding their databases: stop them, then drop those.
      for (const pid of workers) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
      await exited;
      await dropOwnedWithBase(baseName);
      rmSync(work, { recursive: true, force: true });
    },
  };
}

function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((child) => {
      try {
        const stat = readFileSync(`/proc/${child}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('a run killed while its services run', () => {
  it.each([
    ['SIGKILL of the runner', 'jest', 'SIGKILL', 'runner'],
    ['SIGTERM of the runner', 'jest', 'SIGTERM', 'runner'],
    ["Ctrl-C (SIGINT to the terminal's process group)", 'jest', 'SIGINT', 'group'],
    ['SIGKILL of the runner', 'vitest', 'SIGKILL', 'runner'],
  ] as const)('%s (%s) leaves no service or supervisor running', async (_what, runner, signal, target) => {
    const run = await heldRun(runner);
    try {
      // Running before the kill: two supervisors and two Redis servers (a check that can fail).
      expect(markedProcesses(run.marker).length).toBeGreaterThanOrEqual(4);
      // The worker's environment (its database URL's password among it) on no command line anyone can list.
      expect(markedProcesses(run.secret)).toEqual([]);
      for (const port of run.ports) expect(await portOpen(port)).toBe(true);
      process.kill(target === 'group' ? -run.child.pid! : run.child.pid!, signal);
      expect(await leftBehind(run.marker)).toEqual([]);
      for (const port of run.ports) expect(await portOpen(port)).toBe(false);
    } finally {
      await run.cleanUp();
    }
  });
});

describe("a run's end", () => {
  it('removes its own directory, and empty ones of killed runs untouched for a day; never one with files', async () => {
    const stamp = `${process.pid}-${Date.now()}`;
    const ended = servicesDirectory(`ended-${stamp}`);
    const killedLongAgo = servicesDirectory(`killed-${stamp}`);
    const killedJustNow = servicesDirectory(`recent-${stamp}`);
    const liveLongAgo = servicesDirectory(`live-${stamp}`);
    for (const directory of [ended, killedLongAgo, killedJustNow, liveLongAgo])
      mkdirSync(directory, { recursive: true });
    writeFileSync(join(liveLongAgo, 'w1-redis-1.log'), 'still running');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000);
    for (const directory of [killedLongAgo, liveLongAgo]) utimesSync(directory, twoDaysAgo, twoDaysAgo);
    try {
      await stopRunServices(`ended-${stamp}`);
      expect([ended, killedLongAgo, killedJustNow, liveLongAgo].map(existsSync)).toEqual([false, false, true, true]);
    } finally {
      for (const directory of [ended, killedLongAgo, killedJustNow, liveLongAgo])
        rmSync(directory, { recursive: true, force: true });
    }
  });
});
