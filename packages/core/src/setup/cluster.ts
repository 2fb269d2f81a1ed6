import { execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { childFile, startDetachedChild } from '../shared/child';
import { markPgworkConnection } from '../shared/connection';
import { PgworkError, firstLine } from '../shared/errors';
import { EMBEDDED_SETTINGS, freePort } from './embedded';
import { embeddedBinaries, serverUser, type EmbeddedBinaries } from './embedded-binaries';
import {
  clusterDirectory,
  keeperOf,
  liveRuns,
  registerRun,
  serverBinariesRemoved,
  serverPid,
  stopServer,
  unregisterRun,
  withClusterLock,
} from './cluster-files';

/**
 * The embedded default, kept between runs: one initialised cluster per
 * Postgres major and platform, in a cache directory, whose server stays up
 * until no run has used it for a while (PGWORK_EMBEDDED_IDLE_SECONDS, default
 * 600). Templates in it survive, so an unchanged schema is never migrated
 * twice. The server listens on a Unix socket, in a directory only its user
 * can enter, with password-free ("trust") authentication: pgwork's own
 * connections (no SCRAM round trips). Apps get loopback TCP on a free port
 * with a random password kept in the cluster directory (SCRAM): the one
 * address every driver reads (postgres.js ignores a socket in `?host=`), and
 * no other local user can connect.
 */
export interface EmbeddedCluster {
  /** pgwork's own: postgres://postgres@localhost:<port>/postgres?host=<socket directory> */
  readonly url: string;
  /** The app's: postgres://postgres:<password>@127.0.0.1:<port>/postgres */
  readonly appUrl: string;
  readonly directory: string;
  /** initdb ran for this run: a first run, a new Postgres major, or a cache it could not use. */
  readonly created: boolean;
  /** This run started the server. */
  readonly started: boolean;
  /** The run is over: the server stays up for the next one until it has been idle long enough. */
  detach(): Promise<void>;
}

export const DEFAULT_IDLE_SECONDS = 600;
const LOCK_WAIT_MS = 120_000;
const START_TIMEOUT_MS = 60_000;

export function idleSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.PGWORK_EMBEDDED_IDLE_SECONDS;
  if (raw === undefined || raw === '') return DEFAULT_IDLE_SECONDS;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new PgworkError(
      'INVALID_OPTION',
      `PGWORK_EMBEDDED_IDLE_SECONDS must be a whole number of seconds (got ${JSON.stringify(raw)}); e.g. 600, or 0 to stop the server when the run ends.`,
    );
  }
  return value;
}

/** The port the server listens on (the socket file's name ends in it too), while it runs. */
const PORT_FILE = 'port';
/** The password apps connect over TCP with: random per cluster, readable by its user only. */
const PASSWORD_FILE = 'password';

/**
 * The URLs of a cluster's `postgres` database: pgwork's over the socket, the
 * app's over loopback TCP; undefined when no server of this pgwork version was started there.
 */
export function clusterUrls(directory: string): { url: string; appUrl: string } | undefined {
  let port: number;
  let password: string;
  try {
    port = Number.parseInt(readFileSync(join(directory, PORT_FILE), 'utf8'), 10);
    password = readFileSync(join(directory, PASSWORD_FILE), 'utf8').trim();
  } catch {
    return undefined;
  }
  if (!Number.isInteger(port) || !password) return undefined;
  const url = new URL(`postgres://postgres@localhost:${port}/postgres`);
  url.searchParams.set('host', join(directory, 'socket'));
  const appUrl = new URL(`postgres://postgres@127.0.0.1:${port}/postgres`);
  appUrl.password = password;
  return { url: url.toString(), appUrl: appUrl.toString() };
}

/**
 * Attaches this run to the kept cluster `name` (server isolation keeps one per
 * worker), creating and starting it as needed. Two runs at once share it; a
 * cluster a killed run left half-created is created again, with a notice.
 */
export async function attachEmbeddedCluster(options: {
  rootDir: string;
  name?: string;
  /** The PostgreSQL major the project asks for (embeddedMajor); else whichever is installed. */
  major?: number;
  env?: NodeJS.ProcessEnv;
  notice?: (line: string) => void;
}): Promise<EmbeddedCluster> {
  const env = options.env ?? process.env;
  const idle = idleSeconds(env);
  const binaries = embeddedBinaries({ rootDir: options.rootDir, major: options.major });
  const directory = clusterDirectory(options.rootDir, binaries, options.name, env);
  const user = serverUser();
  makeDirectory(dirname(dirname(directory)), user ? 0o755 : 0o700);
  makeDirectory(dirname(directory), user ? 0o755 : 0o700);
  makeDirectory(directory, user ? 0o755 : 0o700);
  let created = false;
  let started = false;
  let urls: { url: string; appUrl: string } | undefined;
  try {
    await withClusterLock(directory, LOCK_WAIT_MS, async () => {
      registerRun(directory);
      urls = clusterUrls(directory);
      const running = serverPid(directory);
      if (urls && (await accepts(urls.url))) {
        if (running === undefined || !serverBinariesRemoved(running)) return;
        options.notice?.(
          `pgwork: the kept embedded server in ${directory} runs Postgres binaries that have since been removed (a deleted node_modules or checkout); restarting it with ${dirname(binaries.postgres)}.`,
        );
        await stopServer(running);
      } else if (!urls && running !== undefined) {
        // Its runs connect over the socket it has now: never pull it from under them.
        const others = liveRuns(directory).filter((pid) => pid !== process.pid);
        if (others.length) {
          throw new PgworkError(
            'EMBEDDED_FAILED',
            `the kept embedded server in ${directory} was started by an earlier pgwork (Unix socket only) and ${others.length} run(s) of it are using it (pid ${others.join(', ')}); let them finish and run again, or set PGWORK_EMBEDDED_DIR to another directory for this project.`,
          );
        }
        options.notice?.(
          `pgwork: the kept embedded server in ${directory} was started by an earlier pgwork (Unix socket only); restarting it to listen on loopback TCP too.`,
        );
        await stopServer(running);
      }
      created = await initialise(directory, binaries, user, options.notice);
      urls = await startServer(directory, binaries, user);
      started = true;
    });
  } catch (error) {
    unregisterRun(directory);
    if (error instanceof PgworkError) throw error;
    throw new PgworkError(
      'EMBEDDED_FAILED',
      `the embedded Postgres in ${directory} did not start: ${firstLine((error as Error).message)}; remove that directory to start over, or set PGWORK_DATABASE_URL to a running server.`,
      { cause: error },
    );
  }
  const server = serverPid(directory);
  if (server && !keeperOf(directory, server)) {
    startDetachedChild(childFile(__dirname, 'cluster-keeper'), { directory, server, idleMs: idle * 1000 });
  }
  return {
    url: urls!.url,
    appUrl: urls!.appUrl,
    directory,
    created,
    started,
    async detach() {
      unregisterRun(directory);
    },
  };
}

function makeDirectory(path: string, mode: number): void {
  if (existsSync(path)) return;
  mkdirSync(path, { recursive: true });
  chmodSync(path, mode);
}

/** Whether the server answers on its socket. */
async function accepts(url: string): Promise<boolean> {
  const client = markPgworkConnection(new Client({ connectionString: url, connectionTimeoutMillis: 3000 }));
  client.on('error', () => undefined);
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** initdb unless a complete cluster of this major is there; true when it ran. */
async function initialise(
  directory: string,
  binaries: EmbeddedBinaries,
  user: { uid: number; gid: number } | undefined,
  notice: ((line: string) => void) | undefined,
): Promise<boolean> {
  const data = join(directory, 'data');
  const done = join(directory, 'initialised');
  const version = (() => {
    try {
      return readFileSync(join(data, 'PG_VERSION'), 'utf8').trim();
    } catch {
      return undefined;
    }
  })();
  if (existsSync(done) && version === String(binaries.major)) return false;
  if (existsSync(data)) {
    notice?.(
      `pgwork: the kept embedded cluster in ${directory} was ${version && version !== String(binaries.major) ? `made by PostgreSQL ${version}` : 'left half-created (a run was killed while creating it)'}; creating it again.`,
    );
  }
  rmSync(done, { force: true });
  // Both the server's own, and no one else's: Postgres requires it of the data directory, and the socket's is its only guard.
  const serverOwned = (dir: string) => {
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o700);
    if (user) chownSync(dir, user.uid, user.gid);
  };
  serverOwned(join(directory, 'socket'));
  const initdb = async (locale: string) => {
    rmSync(data, { recursive: true, force: true });
    serverOwned(data);
    const args = [`--pgdata=${data}`, '--auth=trust', '--username=postgres', '--encoding=UTF8', '--no-sync', locale];
    await promisify(execFile)(binaries.initdb, args, { cwd: directory, ...user });
  };
  // Older majors or a libc without C.UTF-8: the plain C locale.
  await initdb('--locale=C.UTF-8').catch(() => initdb('--no-locale'));
  writeFileSync(done, `${binaries.version}\n`);
  return true;
}

async function startServer(
  directory: string,
  binaries: EmbeddedBinaries,
  user: { uid: number; gid: number } | undefined,
): Promise<{ url: string; appUrl: string }> {
  const data = join(directory, 'data');
  const running = serverPid(directory);
  if (running) throw new Error(`a server (pid ${running}) holds ${data} but does not answer on its socket`);
  // A lock file of a server that is gone (or whose pid another program has now): Postgres would refuse to start.
  rmSync(join(data, 'postmaster.pid'), { force: true });
  const password = clusterPassword(directory);
  // Outside the data directory, written at every start: clusters made before TCP keep theirs as initdb wrote it.
  const hbaFile = join(directory, 'pg_hba.conf');
  writeFileSync(hbaFile, 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n', { mode: 0o644 });
  const settings = {
    ...EMBEDDED_SETTINGS,
    listen_addresses: '127.0.0.1',
    unix_socket_permissions: '0700',
    hba_file: hbaFile,
  };
  delete (settings as Record<string, string>).unix_socket_directories;
  const flags = Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
  const logFile = join(directory, 'server.log');
  let lastError: Error | undefined;
  // A free port can be taken between choosing it and the server binding it: choose again.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    writeFileSync(join(directory, PORT_FILE), `${port}\n`);
    const urls = clusterUrls(directory)!;
    const failure = await spawnServer(directory, binaries, user, ['-p', String(port), ...flags], urls.url, logFile);
    if (!failure) {
      await setPassword(urls.url, password);
      return urls;
    }
    lastError = failure;
    // The FATAL line says only "could not create any TCP/IP sockets"; the LOG line before it says why.
    if (!/Address already in use/.test(readFileSync(logFile, 'utf8'))) break;
  }
  rmSync(join(directory, PORT_FILE), { force: true });
  throw lastError!;
}

/** The cluster's password, made on first use. */
function clusterPassword(directory: string): string {
  const file = join(directory, PASSWORD_FILE);
  try {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept) return kept;
  } catch {}
  const password = randomBytes(24).toString('base64url');
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/**
 * Sets the password apps authenticate with, over the socket. It is random, so
 * the SCRAM iteration count guards nothing: where the server lets it be
 * lowered (16+), each app connection skips ~4096 rounds of hashing.
 */
async function setPassword(url: string, password: string): Promise<void> {
  const client = markPgworkConnection(new Client({ connectionString: url }));
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(`SELECT current_setting('server_version_num') AS n`);
    if (Number(rows[0]!.n) >= 160000) await client.query('SET scram_iterations = 1');
    // The cluster runs with synchronous_commit off: a server killed right after would forget the password.
    await client.query('SET synchronous_commit = on');
    await client.query(`ALTER ROLE postgres PASSWORD ${client.escapeLiteral(password)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Starts the server and waits until it answers at `url` (its socket); the error when it did not. */
async function spawnServer(
  directory: string,
  binaries: EmbeddedBinaries,
  user: { uid: number; gid: number } | undefined,
  args: string[],
  url: string,
  logFile: string,
): Promise<Error | undefined> {
  const log = openSync(logFile, 'w');
  const server = spawn(binaries.postgres, ['-D', join(directory, 'data'), '-k', join(directory, 'socket'), ...args], {
    cwd: directory,
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, LC_MESSAGES: 'C' },
    ...user,
  });
  closeSync(log);
  server.unref();
  let exited: number | null | undefined;
  server.on('exit', (code) => {
    exited = code;
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await accepts(url))) {
    if (exited !== undefined || Date.now() > deadline) {
      const lines = readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((line) => /FATAL|ERROR|PANIC/.test(line));
      if (exited === undefined) server.kill('SIGQUIT');
      return new Error(
        lines.pop() ?? `the server ${exited === undefined ? 'did not answer within 60 s' : `exited (code ${exited})`}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return undefined;
}
