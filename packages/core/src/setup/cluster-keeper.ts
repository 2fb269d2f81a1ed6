// The keeper of a kept embedded cluster, a detached process (one per running
// server): it stops the server once no run has been attached for the idle
// time, or at once when the cluster directory is being removed (the
// documented way to clear the cache), and exits when the server is gone.
import { isServer, keeperOf, liveRuns, lockFilePid, stopServer, tryLock, unlock, writeKeeper } from './cluster-files';

const { directory, server, idleMs } = JSON.parse(process.argv[2]!) as {
  directory: string;
  server: number;
  idleMs: number;
};
const TICK_MS = 1000;

if (keeperOf(directory, server)) process.exit(0); // another keeper already watches this server
try {
  writeKeeper(directory, server);
} catch {
  // The directory is gone already: the first tick stops the server.
}

let idleSince: number | undefined;

async function tick(): Promise<void> {
  if (!isServer(server)) process.exit(0);
  // The data directory's lock file no longer names the server: the directory is being removed (rm -rf
  // empties data/ before it removes it, so postmaster.pid goes first), is gone, or its lock file is.
  // No pgwork starts a server there while this one lives, so the pid is never another server's of
  // this directory. Postgres shuts down a server so orphaned by itself, immediately, but only at its
  // once-a-minute check of the lock file: do it now.
  if (lockFilePid(directory) !== server) {
    await stopServer(server, true);
    process.exit(0);
  }
  if (liveRuns(directory).length > 0) {
    idleSince = undefined;
    return;
  }
  idleSince ??= Date.now();
  if (Date.now() - idleSince < idleMs) return;
  // Under the lock, so no run attaches while the server goes down; a run that got in first keeps it up.
  if (!tryLock(directory)) return;
  try {
    if (liveRuns(directory).length > 0) {
      idleSince = undefined;
      return;
    }
    await stopServer(server);
  } finally {
    unlock(directory);
  }
  process.exit(0);
}

const loop = async () => {
  await tick().catch(() => undefined);
  setTimeout(loop, idleMs === 0 ? 50 : TICK_MS);
};
void loop();
