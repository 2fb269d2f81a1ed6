import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Client } from 'pg';
import { connect } from '../shared/connection';
import { EMBEDDED_SOURCE, maskUrl, sqlState } from '../shared/errors';
import { databaseOfUrl, databaseUrl } from '../shared/naming';
import { attachEmbeddedCluster } from '../setup/cluster';
import { clusterCacheRoot, clusterDirectory } from '../setup/cluster-files';
import { embeddedBinaries } from '../setup/embedded-binaries';
import { workerServer } from '../isolation/server';
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
 * Where a project's runs keep things. A URL: that server (under server
 * isolation, each worker's). The embedded default: every kept cluster in the
 * cache (the main one, and server isolation's per worker), started if it is
 * stopped, as a run would start it; a cluster no run has created is reported, not created.
 */
function projectServers(project: CliProject): Array<() => Promise<OpenServer | AbsentServer>> {
  const { server } = project;
  if (server.url !== undefined) {
    const urls =
      project.isolation === 'server'
        ? Array.from({ length: project.workers }, (_, i) => workerServer(server, i + 1))
        : [server];
    return urls.map((choice) => () => openServer(choice.url!, choice.source, maskUrl(choice.url!), project));
  }
  const major = project.server.embeddedMajor;
  const binaries = embeddedBinaries({ rootDir: project.rootDir, major });
  const main = clusterDirectory(project.rootDir, binaries);
  const clusters = [
    'main',
    ...readdirSafe(dirname(main))
      .filter((name) => /^worker-\d+$/.test(name))
      .sort(byNumber),
  ];
  return clusters.map((name) => async () => {
    const directory = name === 'main' ? main : join(dirname(main), name);
    const label = `embedded Postgres in ${directory}`;
    if (!existsSync(join(directory, 'initialised')))
      return { label, absent: 'no run has created this kept cluster yet' };
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
 * (main and worker-N, whatever their isolation), however their rootDirs differ.
 */
export function distinctServers(projects: readonly CliProject[], env = process.env): CliProject[] {
  const seen = new Set<string>();
  return projects.filter((project) => {
    const { url } = project.server;
    const key =
      url === undefined
        ? `embedded ${clusterCacheRoot(project.rootDir, env)}`
        : `${url} ${project.isolation === 'server'}`;
    return !seen.has(key) && !!seen.add(key);
  });
}

/**
 * Opens every server at once (kept clusters that are stopped start side by side,
 * not one after another), hands each to `work`, and closes it; results in the servers' order.
 */
export async function eachServer<T>(
  project: CliProject,
  work: (server: OpenServer) => Promise<T>,
): Promise<Array<{ label: string; absent?: string; result?: T }>> {
  return Promise.all(
    projectServers(project).map(async (open) => {
      const server = await open();
      if ('absent' in server) return { label: server.label, absent: server.absent };
      try {
        return { label: server.label, result: await work(server) };
      } finally {
        await server.close();
      }
    }),
  );
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

const byNumber = (a: string, b: string) => Number(a.replace(/\D/g, '')) - Number(b.replace(/\D/g, ''));
