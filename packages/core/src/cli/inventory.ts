import { listOwnedDatabases } from '../admin/databases';
import type { DatabaseMarker } from '../admin/marker';
import { runLiveness } from '../admin/owned';
import { listOwnedSchemas } from '../admin/schemas';
import { parseRunObjectName, templateBaseName } from '../shared/naming';
import { isTemplateInUse } from '../setup/template';
import type { OpenServer } from './servers';

// What pgwork keeps on one server, read from its markers and leases: what
// `pgwork ls` shows and `pgwork clean` and `pgwork url` choose from.

export interface RunObject {
  readonly name: string;
  readonly unit: 'database' | 'schema';
  /** The worker it belongs to; undefined for the shared one of PGWORK_DISABLE=1. */
  readonly worker: number | undefined;
  readonly sizeBytes: number | null;
  readonly created: string;
}

export interface RunInventory {
  readonly run: string;
  /** Its lease is held: the run is going on now. */
  readonly alive: boolean;
  /** It finished keeping its objects (PGWORK_KEEP=1); an ended run that is not kept was killed or interrupted. */
  readonly kept: boolean;
  readonly baseName: string;
  /** The project of a multi-project config that ran it (null: a single-project run). */
  readonly project: string | null;
  readonly objects: readonly RunObject[];
}

export interface TemplateInventory {
  readonly name: string;
  readonly baseName: string;
  readonly adapter: string | null;
  readonly fingerprint: string | null;
  /** "building" with a dead run: a build that died midway (the next run, or clean, drops it). */
  readonly state: 'building' | 'ready';
  readonly run: string;
  readonly sizeBytes: number | null;
  readonly created: string;
  readonly lastUsed: string | null;
  /** The template this project's schema clones from now. */
  readonly current: boolean;
  /** A live run holds it (cloning, building, or about to). */
  readonly inUse: boolean;
}

export interface ServerInventory {
  readonly server: string;
  readonly version: string;
  readonly runs: readonly RunInventory[];
  readonly templates: readonly TemplateInventory[];
}

/** Everything with pgwork's marker on the server: runs (newest first) and templates. */
export async function takeInventory(
  server: OpenServer,
  currentTemplates: ReadonlySet<string>,
): Promise<ServerInventory> {
  const { admin } = server;
  const isAlive = runLiveness(admin);
  const databases = await listOwnedDatabases(admin);
  const schemas = server.schemas ? await listOwnedSchemas(server.schemas) : [];
  const sizes = await objectSizes(
    server,
    databases.map((d) => d.name),
    schemas.map((s) => s.name),
  );
  const runs = new Map<
    string,
    { run: string; baseName: string; project: string | null; kept: boolean; objects: RunObject[] }
  >();
  const owned = [
    ...databases
      .filter(({ marker }) => marker.kind !== 'template')
      .map((found) => ({ ...found, unit: 'database' as const })),
    ...schemas.map((found) => ({ ...found, unit: 'schema' as const })),
  ];
  for (const { name, marker, unit } of owned) {
    const parsed = parseRunObjectName(name);
    const run = runs.get(marker.run) ?? {
      run: marker.run,
      baseName: parsed?.baseName ?? name,
      project: marker.project ?? null,
      kept: true,
      objects: [],
    };
    run.kept &&= !!marker.kept;
    runs.set(marker.run, run);
    const worker = parsed?.worker;
    run.objects.push({ name, unit, worker, sizeBytes: sizes.get(name) ?? null, created: marker.created });
  }
  const runList: RunInventory[] = [];
  for (const run of runs.values()) {
    run.objects.sort((a, b) => (a.worker ?? 0) - (b.worker ?? 0));
    runList.push({ ...run, alive: await isAlive(run.run) });
  }
  const newest = (run: RunInventory) => Math.max(...run.objects.map((o) => Date.parse(o.created) || 0));
  runList.sort((a, b) => newest(b) - newest(a));
  const templates: TemplateInventory[] = [];
  for (const { name, marker } of databases.filter(({ marker }) => marker.kind === 'template')) {
    templates.push(
      templateEntry(
        name,
        marker,
        sizes.get(name) ?? null,
        currentTemplates.has(name),
        (await isTemplateInUse(admin, name)) || (marker.state === 'building' && (await isAlive(marker.run))),
      ),
    );
  }
  return { server: server.label, version: server.version, runs: runList, templates };
}

function templateEntry(
  name: string,
  marker: DatabaseMarker,
  sizeBytes: number | null,
  current: boolean,
  inUse: boolean,
): TemplateInventory {
  return {
    name,
    baseName: templateBaseName(name) ?? name,
    adapter: marker.adapter ?? null,
    fingerprint: marker.fingerprint ?? null,
    state: marker.state === 'building' ? 'building' : 'ready',
    run: marker.run,
    sizeBytes,
    created: marker.created,
    lastUsed: marker.lastUsed ?? null,
    current,
    inUse,
  };
}

/** Bytes per database and per schema (of the URL's database); one it may not read has no size. */
export async function objectSizes(
  server: OpenServer,
  databases: readonly string[],
  schemas: readonly string[],
): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  if (databases.length) {
    // pg_database_size needs CONNECT on the database.
    const { rows } = await server.admin.query<{ name: string; size: string | null }>(
      `SELECT datname AS name,
              CASE WHEN has_database_privilege(datname, 'CONNECT') THEN pg_database_size(oid) END AS size
       FROM pg_database WHERE datname = ANY($1)`,
      [databases],
    );
    for (const row of rows) if (row.size !== null) sizes.set(row.name, Number(row.size));
  }
  if (schemas.length && server.schemas) {
    const { rows } = await server.schemas.query<{ name: string; size: string }>(
      `SELECT n.nspname AS name, coalesce(sum(pg_total_relation_size(c.oid)), 0) AS size
       FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'm')
       WHERE n.nspname = ANY($1) GROUP BY n.nspname`,
      [schemas],
    );
    for (const row of rows) sizes.set(row.name, Number(row.size));
  }
  return sizes;
}
