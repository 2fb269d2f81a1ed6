// The keeper of a kept embedded cluster, a detached process (one per running
// server): it stops the server once no run has been attached for the idle
// time, or at once when the cluster directory was removed (the documented way
// to clear the cache), and exits when the server is gone.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '../shared/child';
import { keeperOf, liveRuns, serverPid, stopServer, tryLock, unlock, writeKeeper } from './cluster-files';

const { directory, server, idleMs } = JSON.parse(process.argv[2]!) as {
  directory: string;
  server: number;
  idleMs: number;
};
const TICK_MS = 1000;

if (keeperOf(directory, server)) process.exit(0); // another keeper already watches this server
writeKeeper(directory, server);

let idleSince: number | undefined;

async function tick(): Promise<void> {
  if (!isAlive(server)) process.exit(0);
  if (!existsSync(join(directory, 'data'))) {
    await stopServer(server);
    process.exit(0);
  }
  if (serverPid(directory) !== server) process.exit(0); // another server took the directory over
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
