import { existsSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Client } from 'pg';
import { isAlive } from '../shared/child';
import { connect } from '../shared/connection';
import { EMBEDDED_SOURCE, maskUrl, sqlState } from '../shared/errors';
import { ISOLATION_MODES, type IsolationMode } from '../shared/modes';
import { clusterWorker, databaseOfUrl, databaseUrl } from '../shared/naming';
import { attachEmbeddedCluster } from '../setup/cluster';
import { clusterCacheRoot, clusterDirectory, serverPid } from '../setup/cluster-files';
import { embeddedBinaries } from '../setup/embedded-binaries';
import { isolationOf } from '../isolation';
import type { RunServer } from '../isolation/contract';
import { describeSince, describeSize } from './output';
import type { CliProject } from './project';

/** A server the CLI looks at: where it is, and a connection to its maintenance database. */
export interface OpenServer {
  /** How the server is named in output: the masked URL, or the kept cluster's directory. */
  readonly label: string;
  readonly url: string;
  /** What `pgwork url` prints, where apps reach the server another way than pgwork (the embedded server's TCP). */
  readonly appUrl?: string;
  readonly source: string;
  readonly version: string;
  /** On the maintenance database: databases, leases and locks are visible from any database. */
  readonly admin: Client;
  /** On the URL's own database, where schema isolation keeps its schemas (the admin when the same). */
  readonly schemas: Client | undefined;
  /** Databases pgwork never drops from here: the URL's own and the maintenance database. */
  readonly protectedDatabases: readonly string[];
  close(): Promise<void>;
}

/** A server the project names that holds nothing yet (an embedded cluster no run has created). */
export interface AbsentServer {
  readonly label: string;
  readonly absent: string;
}

/**
 * What a command does with a kept cluster whose server is stopped (the embedded
 * default). A stopped cluster holds no live run: only ended runs (kept or died)
 * and templates, which only its server can list. Starting it costs a server
 * start (and keeps it up for the idle time), so a command starts only those it needs.
 */
export type StoppedClusters =
  /** Every one, as a run starts its cluster: `ls --start`, `clean --start`, and the default. */
  | { readonly start: 'all' }
  /** None: each is reported as stopped, with what its files say (`ls`). */
  | { readonly start: 'none' }
  /** Those that keep runs of these isolations: where a mode puts some worker's server (`clean`). */
  | { readonly start: 'isolation'; readonly isolations: readonly IsolationMode[] }
  /** The one the project's isolation keeps worker N's run in (`url`). */
  | { readonly start: 'worker'; readonly worker: number };

const stoppedClusters = new WeakMap<CliProject, { how: StoppedClusters; projects: number; leftStopped: number }>();

/** How eachServer treats the stopped kept clusters of these projects (default: it starts them all). */
export function whenStopped(projects: readonly CliProject[], how: StoppedClusters): void {
  for (const project of projects) stoppedClusters.set(project, { how, projects: projects.length, leftStopped: 0 });
}

/** How many stopped clusters eachServer left stopped for this project (not looked into) since whenStopped. */
export function clustersLeftStopped(project: CliProject): number {
  return stoppedClusters.get(project)?.leftStopped ?? 0;
}

/** The kept cluster an embedded server choice names. */
const clusterOf = (server: RunServer) => server.cluster ?? 'main';

/** The modes that keep runs in a kept cluster: those that put a worker's server there (main: the shared one). */
function modesKeepingRunsIn(cluster: string): IsolationMode[] {
  const embedded: RunServer = { url: undefined, source: EMBEDDED_SOURCE };
  const worker = clusterWorker(cluster) ?? 1;
  return ISOLATION_MODES.filter((mode) => clusterOf(isolationOf(mode).serverFor(embedded, worker)) === cluster);
}

/** Whether a stopped cluster is to be started; else what to say of it after its state. */
function startStopped(project: CliProject, cluster: string): true | string {
  const { how, projects } = stoppedClusters.get(project) ?? { how: { start: 'all' }, projects: 1 };
  const keeps = modesKeepingRunsIn(cluster);
  switch (how.start) {
    case 'all':
      return true;
    case 'none':
      return 'so no run is live in it; pgwork ls --start starts it to list its kept runs and templates';
    case 'isolation': {
      if (how.isolations.some((isolation) => keeps.includes(isolation))) return true;
      const uses = projects > 1 ? "this config's projects use" : 'this project uses';
      return `left stopped: it keeps runs of ${keeps.join(' and ')} isolation, and ${uses} ${how.isolations.join(' and ')} isolation; pgwork clean --start starts it to clean it too`;
    }
    case 'worker':
      if (cluster === clusterOf(isolationOf(project.isolation).serverFor(project.server, how.worker))) return true;
      return `left stopped: ${project.isolation} isolation keeps worker ${how.worker}'s runs elsewhere`;
  }
}

/**
 * The servers a project's runs are on, each once with how many of its workers
 * it serves, worker 1's first: the isolation says where worker N's server is
 * (the configured one, or under server isolation one of the worker's own).
 */
export function serversOf(project: CliProject): Array<{ readonly server: RunServer; readonly workers: number }> {
  const isolation = isolationOf(project.isolation);
  const servers = new Map<string, { server: RunServer; workers: number }>();
  for (let id = 1; id <= Math.max(1, project.workers); id++) {
    const server = isolation.serverFor(project.server, id);
    const key = server.url ?? `embedded ${clusterOf(server)}`;
    const seen = servers.get(key);
    if (seen) seen.workers++;
    else servers.set(key, { server, workers: 1 });
  }
  return [...servers.values()];
}

/**
 * Where a project's runs keep things. A URL: the servers its runs are on
 * (serversOf). The embedded default: every kept cluster in the cache (the
 * main one, and those a mode gives a worker of its own). One that runs, or
 * that a run is attached to, is opened (attached to as a run would); one that is
 * stopped is started only where `whenStopped` says, else reported as stopped
 * with its size on disk; a cluster no run has created is reported, not created.
 */
function projectServers(project: CliProject): Array<() => Promise<OpenServer | AbsentServer>> {
  const { server } = project;
  if (server.url !== undefined) {
    const open =
      ({ url, source }: RunServer) =>
      () =>
        openServer(url!, source, maskUrl(url!), project);
    return serversOf(project).map(({ server }) => open(server));
  }
  const major = project.server.embeddedMajor;
  const binaries = embeddedBinaries({ rootDir: project.rootDir, major });
  const main = clusterDirectory(project.rootDir, binaries);
  const clusters = [
    'main',
    ...readdirSafe(dirname(main))
      .filter((name) => clusterWorker(name) !== undefined)
      .sort(byNumber),
  ];
  return clusters.map((name) => async () => {
    const directory = name === 'main' ? main : join(dirname(main), name);
    const label = `embedded Postgres in ${directory}`;
    if (!existsSync(join(directory, 'initialised')))
      return { label, absent: 'no run has created this kept cluster yet' };
    if (isStopped(directory)) {
      const start = startStopped(project, name);
      if (start !== true) {
        const record = stoppedClusters.get(project);
        if (record) record.leftStopped++;
        return { label, absent: `${describeStopped(directory)}, ${start}` };
      }
    }
    const cluster = await attachEmbeddedCluster({
      rootDir: project.rootDir,
      name: name === 'main' ? undefined : name,
      major,
    });
    try {
      const open = await openServer(cluster.url, EMBEDDED_SOURCE, label, project, cluster.appUrl);
      return { ...open, close: () => open.close().finally(() => cluster.detach()) };
    } catch (error) {
      await cluster.detach();
      throw error;
    }
  });
}

/**
 * No server runs in the cluster and no live run is attached to it (one that
 * attaches now may be starting it): read from its files, without the lock.
 */
function isStopped(directory: string): boolean {
  if (serverPid(directory) !== undefined) return false;
  return !readdirSafe(join(directory, 'runs')).some((name) => /^\d+$/.test(name) && isAlive(Number(name)));
}

/** "stopped 4m ago (55 MB on disk)": the server's log was last written as it shut down. */
function describeStopped(directory: string): string {
  let since = '';
  try {
    since = ` ${describeSince(statSync(join(directory, 'server.log')).mtime.toISOString())} ago`;
  } catch {}
  const bytes = diskUsage(join(directory, 'data'));
  return `stopped${since}${bytes === undefined ? '' : ` (${describeSize(bytes)} on disk)`}`;
}

/** Bytes a directory takes on disk, as du counts them; undefined when it cannot be read. */
function diskUsage(path: string): number | undefined {
  try {
    const stat = lstatSync(path);
    if (!stat.isDirectory()) return stat.blocks * 512;
    let total = stat.blocks * 512;
    for (const entry of readdirSync(path)) total += diskUsage(join(path, entry)) ?? 0;
    return total;
  } catch {
    return undefined;
  }
}

export async function openServer(
  url: string,
  source: string,
  label: string,
  project: CliProject,
  appUrl?: string,
): Promise<OpenServer> {
  const own = databaseOfUrl(url);
  const admin = await connect(databaseUrl(url, project.maintenanceDatabase), { source, applicationName: 'pgwork cli' });
  let schemas: Client | undefined = admin;
  if (own && own !== project.maintenanceDatabase) {
    schemas = await connect(url, { source, applicationName: 'pgwork cli' }).catch((error: Error) => {
      if (sqlState(error.cause) === '3D000') return undefined; // not created yet: no schemas in it either
      throw error;
    });
  }
  const { rows } = await admin.query<{ version: string }>(`SELECT current_setting('server_version') AS version`);
  return {
    label,
    url,
    appUrl,
    source,
    version: rows[0]!.version,
    admin,
    schemas,
    protectedDatabases: [own, project.maintenanceDatabase].filter((name): name is string => !!name),
    async close() {
      if (schemas && schemas !== admin) await schemas.end().catch(() => undefined);
      await admin.end().catch(() => undefined);
    },
  };
}

/**
 * The servers of the projects, each once: multi-project configs usually share
 * one. Projects on the embedded default share the kept clusters of one cache
 * (every one, whatever their isolation), however their rootDirs differ;
 * projects on one URL, its server, or (server isolation) the ports after it.
 */
export function distinctServers(projects: readonly CliProject[], env = process.env): CliProject[] {
  const seen = new Set<string>();
  return projects.filter((project) => {
    const { url } = project.server;
    const key =
      url === undefined
        ? `embedded ${clusterCacheRoot(project.rootDir, env)}`
        : `${url} ${isolationOf(project.isolation).serverFor(project.server, 1).url !== url}`;
    return !seen.has(key) && !!seen.add(key);
  });
}

/**
 * Opens every server at once (kept clusters that are stopped and to be started
 * start side by side, not one after another), hands each to `work` in turn, and
 * closes it; results in the servers' order, a server left unopened with why
 * (`absent`). The first failure is thrown once every opened server is closed.
 */
export async function eachServer<T>(
  project: CliProject,
  work: (server: OpenServer) => Promise<T>,
): Promise<Array<{ label: string; absent?: string; result?: T }>> {
  // Worked one at a time: `clean` asks on the terminal per server, and two questions at once would share one answer.
  const opening = projectServers(project).map((open) =>
    open().then(
      (server) => ({ server }),
      (error) => ({ error }),
    ),
  );
  const results: Array<{ label: string; absent?: string; result?: T }> = [];
  let failure: unknown;
  for (const opened of opening) {
    const outcome = await opened;
    if ('error' in outcome) {
      failure ??= outcome.error;
      continue;
    }
    const { server } = outcome;
    if ('absent' in server) {
      results.push({ label: server.label, absent: server.absent });
      continue;
    }
    try {
      if (failure === undefined) results.push({ label: server.label, result: await work(server) });
    } catch (error) {
      failure = error;
    } finally {
      await server.close();
    }
  }
  if (failure !== undefined) throw failure;
  return results;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

const byNumber = (a: string, b: string) => Number(a.replace(/\D/g, '')) - Number(b.replace(/\D/g, ''));
