import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { isAlive } from '../shared/child';
import { ramDisk } from './embedded';
import { closedAncestor, type EmbeddedBinaries } from './embedded-binaries';

// Where a kept embedded cluster lives, and the files it is coordinated by,
// shared by the runs that attach to it and the keeper that stops it when idle:
//   <cluster>/lock/owner   held while a run starts, attaches to or stops the server
//   <cluster>/runs/<pid>   one per run attached now
//   <cluster>/keeper.pid   the keeper process and the server it watches

/**
 * Where kept clusters live: PGWORK_EMBEDDED_DIR, else the RAM disk (/dev/shm,
 * cleared at reboot; creating a database there is 10-20x faster than on a
 * virtual disk), else node_modules/.cache/pgwork of the project, else the temp directory.
 */
export function clusterCacheRoot(rootDir: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.PGWORK_EMBEDDED_DIR) return resolve(env.PGWORK_EMBEDDED_DIR);
  const user = process.getuid?.() ?? 'user';
  const ram = ramDisk();
  if (ram) return join(ram, `pgwork-${user}`);
  for (let dir = resolve(rootDir); dirname(dir) !== dir; dir = dirname(dir)) {
    const modules = join(dir, 'node_modules');
    // As root the server runs as "postgres", which must be able to enter the path.
    if (existsSync(modules) && !(process.getuid?.() === 0 && closedAncestor(join(modules, 'x')))) {
      return join(modules, '.cache', 'pgwork');
    }
  }
  return join(tmpdir(), `pgwork-${user}`);
}

export function clusterDirectory(
  rootDir: string,
  binaries: EmbeddedBinaries,
  name = 'main',
  env = process.env,
): string {
  return join(clusterCacheRoot(rootDir, env), `pg${binaries.major}-${process.platform}-${process.arch}`, name);
}

/** A lock whose holder died is taken over; one without an owner yet is taken over after this long. */
const OWNERLESS_LOCK_MS = 10_000;

const readPid = (file: string): number | undefined => {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
};

/** Takes the cluster's lock now, or returns false when a live process holds it. */
export function tryLock(cluster: string): boolean {
  const lock = join(cluster, 'lock');
  try {
    mkdirSync(lock);
    writeFileSync(join(lock, 'owner'), String(process.pid));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const owner = readPid(join(lock, 'owner'));
  let age = 0;
  try {
    age = Date.now() - statSync(lock).mtimeMs;
  } catch {
    return false; // released meanwhile: the next try takes it
  }
  if (owner ? isAlive(owner) : age < OWNERLESS_LOCK_MS) return false;
  // Its holder died (SIGKILL): move the lock aside, and keep it aside only if it is still the dead one.
  const aside = `${lock}.stale-${process.pid}`;
  try {
    renameSync(lock, aside);
  } catch {
    return false;
  }
  if (readPid(join(aside, 'owner')) !== owner) {
    renameSync(aside, lock);
    return false;
  }
  rmSync(aside, { recursive: true, force: true });
  return tryLock(cluster);
}

export function unlock(cluster: string): void {
  const lock = join(cluster, 'lock');
  if (readPid(join(lock, 'owner')) === process.pid) rmSync(lock, { recursive: true, force: true });
}

/** Runs `work` holding the cluster's lock, waiting up to `waitMs` for it. */
export async function withClusterLock<T>(cluster: string, waitMs: number, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + waitMs;
  while (!tryLock(cluster)) {
    if (Date.now() > deadline) {
      const holder = readPid(join(cluster, 'lock', 'owner'));
      throw new Error(
        `process ${holder ?? '(unknown)'} has held ${join(cluster, 'lock')} for over ${Math.round(waitMs / 1000)} s`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  try {
    return await work();
  } finally {
    unlock(cluster);
  }
}

export function registerRun(cluster: string, pid = process.pid): void {
  mkdirSync(join(cluster, 'runs'), { recursive: true });
  writeFileSync(join(cluster, 'runs', String(pid)), `${new Date().toISOString()}\n`);
}

export function unregisterRun(cluster: string, pid = process.pid): void {
  rmSync(join(cluster, 'runs', String(pid)), { force: true });
}

/** Runs attached now; files of runs that died are removed. */
export function liveRuns(cluster: string): number[] {
  let names: string[];
  try {
    names = readdirSync(join(cluster, 'runs'));
  } catch {
    return [];
  }
  return names.map(Number).filter((pid) => {
    if (Number.isInteger(pid) && isAlive(pid)) return true;
    rmSync(join(cluster, 'runs', String(pid)), { force: true });
    return false;
  });
}

/**
 * The server's postmaster pid, from its lock file in the data directory, when
 * that process lives and is a postgres (after a reboot the pid may be another program's).
 */
export function serverPid(cluster: string): number | undefined {
  const pid = lockFilePid(cluster);
  return pid && isAlive(pid) && runs(pid, 'postgres') ? pid : undefined;
}

/** The pid the data directory's lock file (postmaster.pid) names, live or not; undefined when it is gone. */
export function lockFilePid(cluster: string): number | undefined {
  return readPid(join(cluster, 'data', 'postmaster.pid'));
}

/** Whether live process `pid` runs `program` (a recycled pid runs another); true where there is no /proc (macOS). */
function runs(pid: number, program: 'postgres' | 'cluster-keeper'): boolean {
  try {
    if (program === 'postgres') return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .some((arg) => arg.endsWith('cluster-keeper.js'));
  } catch {
    return true; // no /proc (macOS), or not ours to read: trust the pid file
  }
}

/** Whether the process is the live postgres server `pid` named: false once it is gone, or its pid is another program's. */
export function isServer(pid: number): boolean {
  return isAlive(pid) && runs(pid, 'postgres');
}

/**
 * Whether a running server's program is gone from where it started: a
 * node_modules or checkout since removed. Its new backends then fail to load
 * libraries such as plpgsql from that path. (Reinstalled in place, the files
 * are back and it runs on.) Linux only.
 */
export function serverBinariesRemoved(pid: number): boolean {
  const deleted = ' (deleted)';
  try {
    const exe = readlinkSync(`/proc/${pid}/exe`);
    return exe.endsWith(deleted) && !existsSync(exe.slice(0, -deleted.length));
  } catch {
    return false; // no /proc (macOS), or not ours to read
  }
}

/**
 * Fast shutdown, immediate after 10 s; `immediate` at once (nothing in its
 * directory is kept). Resolves when the server is gone.
 */
export async function stopServer(pid: number, immediate = false): Promise<void> {
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  };
  signal(immediate ? 'SIGQUIT' : 'SIGINT');
  for (let waited = 0; isAlive(pid); waited += 100) {
    if (waited === 10_000) signal('SIGQUIT');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The live keeper watching this server (keeper.pid: "<keeper pid> <server
 * pid>"), if any: not a dead keeper's pid that another program has now.
 */
export function keeperOf(cluster: string, server: number): number | undefined {
  try {
    const [keeper, watched] = readFileSync(join(cluster, 'keeper.pid'), 'utf8').split(' ').map(Number);
    return keeper && watched === server && isAlive(keeper) && runs(keeper, 'cluster-keeper') ? keeper : undefined;
  } catch {
    return undefined;
  }
}

export function writeKeeper(cluster: string, server: number): void {
  writeFileSync(join(cluster, 'keeper.pid'), `${process.pid} ${server}`);
}

/**
 * Stops the server of every kept cluster under `root` (a PGWORK_EMBEDDED_DIR:
 * `<root>/<major-platform>/<name>`) at once, SIGQUIT since nothing in them is
 * kept, and removes `root`; their keepers exit with their servers.
 */
export async function removeClusters(root: string): Promise<void> {
  const list = (dir: string) => {
    try {
      return readdirSync(dir);
    } catch {
      return []; // gone, or a file
    }
  };
  const servers = list(root).flatMap((key) =>
    list(join(root, key)).flatMap((name) => serverPid(join(root, key, name)) ?? []),
  );
  for (const pid of servers) {
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      // already gone
    }
  }
  for (let waited = 0; servers.some(isAlive) && waited < 10_000; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  rmSync(root, { recursive: true, force: true });
}
