import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import { hashParts } from '../shared/fingerprint';
import { isolationOf } from '../isolation';
import { loadAdapter, type Adapter } from '../shared/adapter';
import type { RunState } from '../shared/run-state';
import { resolveWorkerId } from '../shared/worker-id';
import { Resetter } from './reset';

export interface WorkerSession {
  readonly database: string;
  /** The session's own connection to the worker's target. */
  readonly client: Client;
  readonly url: string;
  /** Where the server's URL came from, named in errors. */
  readonly source: string;
  /** Schema isolation: the worker's schema. */
  readonly schema?: string;
  /** Whether this session made the target (false: it already existed in this run). */
  readonly created: boolean;
  reset(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Makes sure the worker's target exists (the isolation decides how) and opens
 * the connection that resets it. Idempotent: a second call in the same run
 * reuses the target.
 */
export async function openWorkerSession(state: RunState, workerId: number = resolveWorkerId()): Promise<WorkerSession> {
  const { target, client, created } = await isolationOf(state.mode).open(state as never, workerId);
  const { settings } = state;
  const keepTables = keepTablesIn(settings.keepTables, target.schema);
  const { template } = target;
  const resetter = new Resetter(client, {
    ownConnection: true,
    keepTables,
    schemas: target.schema ? [target.schema] : undefined,
    sharedCatalog: template && sharedCatalogFile(target.url, template, keepTables),
  });
  // Catalog read and probe planned now: the first reset costs what every other one does.
  if (!settings.adapter) await resetter.prepare();
  let adapter: Adapter | undefined;
  return {
    database: target.database,
    client,
    url: target.url,
    source: target.source,
    schema: target.schema,
    created,
    async reset() {
      if (!settings.adapter) return resetter.reset();
      adapter ??= loadAdapter(settings.adapter, { rootDir: settings.rootDir });
      await adapter.reset!({ url: target.url, database: target.database, client, schema: target.schema });
    },
    async close() {
      await client.end().catch(() => undefined);
    },
  };
}

const KEPT = Symbol.for('pgwork.keptSession');
type KeptSlot = { key: string; session: Promise<WorkerSession>; broken: boolean };

/**
 * The worker's session, kept open across the test files a runner's worker
 * runs (this module is loaded outside Jest's per-file sandbox): the probe a
 * connection has planned stays planned, so no file pays for planning it again.
 * A connection that dies (the run ended, the server went away) is replaced.
 */
export function keptWorkerSession(state: RunState, workerId: number): Promise<WorkerSession> {
  const slots = globalThis as unknown as Record<symbol, KeptSlot | undefined>;
  const key = `${JSON.stringify(state)}#${workerId}`;
  const kept = slots[KEPT];
  if (kept && kept.key === key && !kept.broken) return kept.session;
  if (kept)
    void kept.session.then(
      (old) => old.close(),
      () => undefined,
    );
  const slot: KeptSlot = { key, broken: false, session: openWorkerSession(state, workerId) };
  slots[KEPT] = slot;
  slot.session.then(
    (session) => {
      const drop = () => {
        slot.broken = true;
      };
      session.client.on('error', drop);
      session.client.on('end', drop);
      // An idle kept connection must not keep Jest (or a run in band) from exiting.
      (session.client as unknown as { connection?: { stream?: { unref?(): void } } }).connection?.stream?.unref?.();
    },
    () => {
      slot.broken = true;
    },
  );
  return slot.session;
}

const CATALOG_FORMAT = 'catalog 2';

/** Where clones of one template on one server share their catalog: per user, cleared with the temp directory. */
function sharedCatalogFile(url: string, template: string, keepTables: readonly string[]): string {
  const server = new URL(url);
  server.pathname = '/';
  // The catalog's format is part of the key: a file an older pgwork wrote is not read as this one's.
  const key = hashParts([CATALOG_FORMAT, server.toString(), template, ...keepTables]).slice(0, 24);
  return join(tmpdir(), `pgwork-catalogs-${process.getuid?.() ?? 'user'}`, `${template}-${key}.json`);
}

/**
 * Kept tables as reset sees them. Under schema isolation everything migrate
 * made, bookkeeping included, is in the worker's schema: "public.t" is found there.
 */
export function keepTablesIn(tables: readonly string[], schema: string | undefined): string[] {
  if (!schema) return [...tables];
  return tables.map((table) => (table.includes('.') ? `${schema}.${table.slice(table.indexOf('.') + 1)}` : table));
}
