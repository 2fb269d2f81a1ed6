import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { attachEmbeddedCluster, clusterUrls, type EmbeddedCluster } from '../src/setup/cluster';
import { keeperOf, removeClusters, serverPid } from '../src/setup/cluster-files';
import { embeddedBinaries, serverUser } from '../src/setup/embedded-binaries';
import { childFile, isAlive, startDetachedChild } from '../src/shared/child';
import { connect } from '../src/shared/connection';
import { waitUntil } from './helpers';

// The kept embedded cluster on a real server: what a run finds after crashes.

const live: EmbeddedCluster[] = [];
let cache: string;

beforeAll(() => {
  cache = mkdtempSync(join(tmpdir(), 'pgwork-cluster-'));
  chmodSync(cache, 0o755); // as root, the server runs as "postgres"
});

afterAll(async () => {
  for (const cluster of live) await cluster.detach();
  await removeClusters(cache);
});

async function attach(notices: string[] = []): Promise<EmbeddedCluster> {
  const cluster = await attachEmbeddedCluster({
    rootDir: cache,
    env: { PGWORK_EMBEDDED_DIR: cache, PGWORK_EMBEDDED_IDLE_SECONDS: '600' },
    notice: (line) => notices.push(line),
  });
  live.push(cluster);
  return cluster;
}

async function answers(url: string): Promise<number> {
  const client = await connect(url);
  try {
    return (await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one;
  } finally {
    await client.end();
  }
}

/** A query that needs the plpgsql library loaded into a new backend. */
async function plpgsql(url: string): Promise<string> {
  const client = await connect(url);
  try {
    await client.query(`DO $$ BEGIN PERFORM 1; END $$`);
    return 'ok';
  } finally {
    await client.end();
  }
}

/**
 * The kept cluster's server stopped and started again from a copy of the
 * Postgres binaries: what a run from another checkout leaves running.
 */
async function serverFromCopy(): Promise<{ running: EmbeddedCluster; copy: string; stale: number }> {
  const running = await attach();
  const pid = serverPid(running.directory)!;
  process.kill(pid, 'SIGQUIT');
  await waitUntil(() => serverPid(running.directory) === undefined);
  const copy = mkdtempSync(join(cache, 'other-checkout-'));
  chmodSync(copy, 0o755);
  cpSync(dirname(dirname(embeddedBinaries().postgres)), copy, { recursive: true, verbatimSymlinks: true });
  const data = join(running.directory, 'data');
  rmSync(join(data, 'postmaster.pid'), { force: true });
  // As pgwork starts it: its socket and loopback TCP on the recorded port, its pg_hba.conf.
  const port = new URL(clusterUrls(running.directory)!.url).port;
  const hba = `hba_file=${join(running.directory, 'pg_hba.conf')}`;
  const socket = ['-k', join(running.directory, 'socket'), '-p', port, '-c', 'listen_addresses=127.0.0.1', '-c', hba];
  spawn(join(copy, 'bin', 'postgres'), ['-D', data, ...socket, '-c', 'unix_socket_permissions=0700'], {
    detached: true,
    stdio: 'ignore',
    ...serverUser(),
  }).unref();
  await waitUntil(() => serverPid(running.directory) !== undefined);
  for (let tries = 0; (await answers(running.url).catch(() => 0)) !== 1; tries++) {
    if (tries > 200) throw new Error('the copied server did not answer');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { running, copy, stale: serverPid(running.directory)! };
}

describe('the kept embedded cluster', () => {
  it('is created once, attached to by the next run, and restarted after its server was SIGKILLed', async () => {
    const first = await attach();
    expect([first.created, first.started]).toEqual([true, true]);
    expect(await answers(first.url)).toBe(1);

    const second = await attach();
    expect([second.created, second.started]).toEqual([false, false]);
    expect(second.url).toBe(first.url);

    // The server dies hard: its postmaster.pid stays behind, naming a dead process.
    const pid = serverPid(first.directory)!;
    process.kill(pid, 'SIGKILL');
    await waitUntil(() => serverPid(first.directory) === undefined);
    expect(existsSync(join(first.directory, 'data', 'postmaster.pid'))).toBe(true);

    const third = await attach();
    expect([third.created, third.started]).toEqual([false, true]);
    expect(await answers(third.url)).toBe(1);
  });

  it('restarts a server left running from binaries since removed (another checkout), which could not load plpgsql', async () => {
    const { running, copy, stale } = await serverFromCopy();
    rmSync(copy, { recursive: true, force: true });
    await expect(plpgsql(running.url)).rejects.toThrow(/could not access file "plpgsql"/);

    const notices: string[] = [];
    const again = await attach(notices);
    expect(again.started).toBe(true);
    expect(notices).toEqual([
      expect.stringMatching(/runs Postgres binaries that have since been removed .* restarting it/),
    ]);
    expect(serverPid(again.directory)).not.toBe(stale);
    expect(await plpgsql(again.url)).toBe('ok');
  });

  it('leaves a server running whose binaries were reinstalled in place: it still loads them, and other runs may be on it', async () => {
    const { running, copy, stale } = await serverFromCopy();
    rmSync(copy, { recursive: true, force: true });
    cpSync(dirname(dirname(embeddedBinaries().postgres)), copy, { recursive: true, verbatimSymlinks: true });
    const notices: string[] = [];
    const again = await attach(notices);
    expect([again.started, notices]).toEqual([false, []]);
    expect(serverPid(again.directory)).toBe(stale);
    expect(await plpgsql(running.url)).toBe('ok');
  });

  it('gives apps loopback TCP with the cluster password (pgwork keeps the socket), and refuses TCP without it', async () => {
    const cluster = await attach();
    const app = new URL(cluster.appUrl);
    expect(app.hostname).toBe('127.0.0.1');
    expect(app.searchParams.has('host')).toBe(false);
    expect(app.port).toBe(new URL(cluster.url).port);
    expect(await answers(cluster.appUrl)).toBe(1);
    app.password = 'wrong';
    await expect(answers(app.toString())).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    app.password = '';
    await expect(answers(app.toString())).rejects.toThrow(/rejected user "postgres"|password/);
  });

  it('restarts, with a notice, a server an earlier pgwork started on the socket alone (no port recorded)', async () => {
    const running = await attach();
    const pid = serverPid(running.directory)!;
    process.kill(pid, 'SIGQUIT');
    await waitUntil(() => serverPid(running.directory) === undefined);
    rmSync(join(running.directory, 'port'));
    const data = join(running.directory, 'data');
    rmSync(join(data, 'postmaster.pid'), { force: true });
    const socket = ['-k', join(running.directory, 'socket'), '-p', '5432', '-c', 'listen_addresses='];
    spawn(embeddedBinaries().postgres, ['-D', data, ...socket, '-c', 'unix_socket_permissions=0700'], {
      detached: true,
      stdio: 'ignore',
      ...serverUser(),
    }).unref();
    await waitUntil(() => serverPid(running.directory) !== undefined);
    const old = serverPid(running.directory);

    // A run of that pgwork on it (this process's parent stands for one): left alone, with the reason.
    writeFileSync(join(running.directory, 'runs', String(process.ppid)), '');
    await expect(attach()).rejects.toThrow(
      /was started by an earlier pgwork \(Unix socket only\) and 1 run\(s\) of it are using it .*set PGWORK_EMBEDDED_DIR/,
    );
    expect(serverPid(running.directory)).toBe(old);
    rmSync(join(running.directory, 'runs', String(process.ppid)));

    const notices: string[] = [];
    const again = await attach(notices);
    expect(again.started).toBe(true);
    expect(notices).toEqual([
      expect.stringMatching(/was started by an earlier pgwork \(Unix socket only\); restarting it/),
    ]);
    expect(serverPid(again.directory)).not.toBe(old);
    expect(await answers(again.appUrl)).toBe(1);
  });

  it('creates a cluster again, with a notice, when initdb never finished', async () => {
    const running = await attach();
    const pid = serverPid(running.directory)!;
    process.kill(pid, 'SIGQUIT');
    await waitUntil(() => serverPid(running.directory) === undefined);
    // What a run killed during initdb leaves: a data directory without the "initialised" mark.
    rmSync(join(running.directory, 'initialised'));
    writeFileSync(join(running.directory, 'data', 'half-written'), '');

    const notices: string[] = [];
    const again = await attach(notices);
    expect([again.created, again.started]).toEqual([true, true]);
    expect(notices).toEqual([
      `pgwork: the kept embedded cluster in ${again.directory} was left half-created (a run was killed while creating it); creating it again.`,
    ]);
    expect(existsSync(join(again.directory, 'data', 'half-written'))).toBe(false);
    expect(readFileSync(join(again.directory, 'initialised'), 'utf8')).toMatch(/^\d+\./);
    expect(await answers(again.url)).toBe(1);
  });
});

describe('a kept cluster whose directory is removed', () => {
  const roots: string[] = [];
  const servers: number[] = [];

  afterAll(async () => {
    for (const pid of servers) if (isAlive(pid)) process.kill(pid, 'SIGQUIT');
    for (const root of roots) await removeClusters(root);
  });

  /** A cluster of its own (its directory goes), attached and detached as a run would: its keeper watches it. */
  async function ownCluster(): Promise<{ root: string; directory: string; server: number; keeper: number }> {
    const root = mkdtempSync(join(tmpdir(), 'pgwork-removed-'));
    chmodSync(root, 0o755);
    roots.push(root);
    const env = { PGWORK_EMBEDDED_DIR: root, PGWORK_EMBEDDED_IDLE_SECONDS: '600' };
    const cluster = await attachEmbeddedCluster({ rootDir: root, env });
    await cluster.detach();
    const server = serverPid(cluster.directory)!;
    servers.push(server);
    await waitUntil(() => keeperOf(cluster.directory, server) !== undefined, 60_000);
    return { root, directory: cluster.directory, server, keeper: keeperOf(cluster.directory, server)! };
  }

  /** Generous for a loaded machine, and short of Postgres' own check of its lock file, a minute or two after it started. */
  const STOPS_WITHIN_MS = 30_000;

  it('stops its server as soon as the removal takes postmaster.pid, which rm -rf does before the rest', async () => {
    const { directory, server } = await ownCluster();
    // What rm -rf has done while it still removes the databases under data/base: the lock file is gone.
    rmSync(join(directory, 'data', 'postmaster.pid'));
    await waitUntil(() => !isAlive(server), STOPS_WITHIN_MS);
    expect(existsSync(join(directory, 'data', 'base'))).toBe(true);
  });

  it('stops its server when the directory was moved away before the keeper started', async () => {
    const { directory, server, keeper } = await ownCluster();
    process.kill(keeper, 'SIGKILL');
    await waitUntil(() => !isAlive(keeper));
    // Renamed, as tools that delete a tree in the background do first: Postgres, whose files are all
    // still there, would never stop by itself.
    renameSync(directory, `${directory}.moved`);
    // What attach starts, finding the directory gone.
    startDetachedChild(childFile(join(__dirname, '../src/setup'), 'cluster-keeper'), {
      directory,
      server,
      idleMs: 600_000,
    });
    await waitUntil(() => !isAlive(server), STOPS_WITHIN_MS);
  });

  it('replaces a dead keeper whose pid another process has now, so the server still stops when the directory goes', async () => {
    const { root, directory, server, keeper } = await ownCluster();
    process.kill(keeper, 'SIGKILL');
    await waitUntil(() => !isAlive(keeper));
    // The pid recycled: this test's process, alive and no keeper.
    writeFileSync(join(directory, 'keeper.pid'), `${process.pid} ${server}`);
    const env = { PGWORK_EMBEDDED_DIR: root, PGWORK_EMBEDDED_IDLE_SECONDS: '600' };
    const again = await attachEmbeddedCluster({ rootDir: root, env });
    expect(again.started).toBe(false);
    await again.detach();
    await waitUntil(() => (keeperOf(directory, server) ?? process.pid) !== process.pid, STOPS_WITHIN_MS);
    renameSync(directory, `${directory}.moved`);
    await waitUntil(() => !isAlive(server), STOPS_WITHIN_MS);
  });
});
