import { lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Client } from 'pg';
import { PgworkError, describeDatabaseError, sqlState } from '../shared/errors';
import {
  DELETE_ROW_LIMIT,
  PROBE,
  readCatalog,
  type Catalog,
  type ProbeResult,
  type ResetOptions,
} from './reset-catalog';

export {
  DELETE_ROW_LIMIT,
  applicationTables,
  qualifiedName,
  type ApplicationTable,
  type ResetOptions,
} from './reset-catalog';

/**
 * How one reset emptied the database, as Resetter.counts tallies it: "clean",
 * nothing to do; "delete", DELETEs and sequence restarts only; "truncate", a
 * TRUNCATE among its statements; "fallback", the schema changed under the
 * cached catalog, so it was read again and every table TRUNCATEd.
 */
export type ResetStrategy = 'clean' | 'delete' | 'truncate' | 'fallback';

export interface ResetterOptions extends ResetOptions {
  /**
   * The connection is the reset's alone: it is put in session_replication_role
   * "replica" once, for good. Otherwise each reset that needs the role sets it
   * for its own transaction. Each change of the role discards every cached
   * plan of the session, the probe's included: a kept connection avoids that,
   * unless ON TRUNCATE triggers make each reset switch to the default role.
   */
  readonly ownConnection?: boolean;
}

/**
 * Resets a database to empty application tables with restarted identities,
 * exactly as `TRUNCATE <every application table> RESTART IDENTITY` would, but
 * touching only what changed. One call of the session's probe function finds
 * the tables that hold rows and the sequences that moved; a clean database
 * costs that one round trip. Small tables are emptied with DELETE (TRUNCATE
 * costs milliseconds per table even when empty): where the role may, in
 * session_replication_role "replica", where user triggers, rules and
 * foreign-key actions do not fire (those enabled ALWAYS or REPLICA aside), so
 * any table goes, in any order; otherwise all dirty tables in foreign-key
 * order when none of them fires anything on DELETE, or none. The rest (big
 * tables, row security the role does not bypass, cycles, triggers that would
 * fire) go through one TRUNCATE of them and every table referencing them.
 * Tables with ON TRUNCATE triggers are TRUNCATEd on every reset, last, as a
 * TRUNCATE of everything fires those triggers every time; a BEFORE TRUNCATE
 * trigger, which sees every table still full, makes every reset that
 * TRUNCATE of everything. The catalog is read once per connection and again
 * when the schema changes.
 */
export class Resetter {
  /** How often each strategy ran: for benchmarks and tests. */
  readonly counts: Record<ResetStrategy, number> = { clean: 0, delete: 0, truncate: 0, fallback: 0 };
  private catalog: Catalog | undefined;
  private readOwnCatalog = false;
  private readonly options: ResetOptions;
  private readonly ownConnection: boolean;
  /** The connection is in session_replication_role "replica" (ownConnection, and the role may). */
  private replicaSession = false;

  constructor(
    private readonly client: Client,
    options: ResetterOptions = {},
  ) {
    this.options = {
      keepTables: [...(options.keepTables ?? [])],
      schemas: options.schemas && [...options.schemas],
      sharedCatalog: options.sharedCatalog,
    };
    this.ownConnection = options.ownConnection ?? false;
  }

  /** Reads the catalog and plans the probe now, so the first reset costs what every other one does. */
  async prepare(): Promise<void> {
    await this.probe();
  }

  async reset(): Promise<void> {
    try {
      await this.resetOnce();
    } catch (error) {
      if (error instanceof PgworkError) throw error;
      // The schema changed under the cached catalog (a dropped table, row
      // security turned on): read it again and empty everything the plain way.
      try {
        await this.load();
        await this.truncateAll();
        this.counts.fallback++;
      } catch (retryError) {
        throw resetError(retryError);
      }
    }
  }

  /** The catalog (the shared one, when `shared` and there is one), installed as this session's probe. */
  private async load(shared = false): Promise<Catalog> {
    const file = this.options.sharedCatalog;
    const known = shared && file ? readSharedCatalog(file) : undefined;
    const catalog = known ?? (await readCatalog(this.client, this.options));
    // A session's first read is of the database as cloned: share it (later ones may see a test's DDL).
    if (file && !known && !this.readOwnCatalog) writeSharedCatalog(file, catalog);
    this.readOwnCatalog ||= !known;
    // Set before the probe is planned: changing the role later would discard its plans.
    const replica =
      this.ownConnection && catalog.replicaAllowed && !this.replicaSession
        ? 'SET session_replication_role = replica; '
        : '';
    // Row security off: a query a policy would filter fails instead, so the probe never misses a hidden row.
    // Generic plans from the first call: PL/pgSQL would otherwise re-plan every chunk on each of the first five.
    try {
      await this.client.query(
        `${replica}SET row_security = off; SET plan_cache_mode = force_generic_plan; ${catalog.probeFunction}`,
      );
    } catch (error) {
      // The shared catalog was another role's (one that may set the replication role): read this role's own.
      if (known) return this.load();
      throw error;
    }
    this.replicaSession ||= replica !== '';
    this.catalog = catalog;
    return catalog;
  }

  private async probe(): Promise<{ catalog: Catalog; result: ProbeResult }> {
    let catalog = this.catalog ?? (await this.load(true));
    let result = (await this.client.query<{ probe: ProbeResult }>(PROBE)).rows[0]!.probe;
    if (result.signature !== catalog.signature) {
      catalog = await this.load();
      result = (await this.client.query<{ probe: ProbeResult }>(PROBE)).rows[0]!.probe;
    }
    return { catalog, result };
  }

  private async resetOnce(): Promise<void> {
    const { catalog, result } = await this.probe();
    const pairs = result.dirty ?? [];
    const rows = new Map<number, number>();
    for (let k = 0; k < pairs.length; k += 2) rows.set(Number(pairs[k]), Number(pairs[k + 1]));
    const dirty = [...rows.keys()];
    const moved = (result.moved ?? []).map((i) => catalog.sequences[i]!);
    const fired = catalog.truncateTriggered;
    if (dirty.length === 0 && moved.length === 0 && fired.length === 0) {
      this.counts.clean++;
      return;
    }
    if (catalog.beforeTruncate) {
      await this.truncateAll();
      this.counts.truncate++;
      return;
    }

    const { tables } = catalog;
    const small = (i: number) => rows.get(i)! <= DELETE_ROW_LIMIT && !tables[i]!.rowSecurity;
    // In the default role: DELETE in foreign-key order, all or none, of tables whose DELETE fires nothing.
    const asOrigin =
      !this.replicaSession && dirty.every((i) => small(i) && !tables[i]!.deleteUnsafe)
        ? deleteOrder(dirty, catalog.referencedBy)
        : undefined;
    // In "replica": foreign keys unchecked, so any order; tables too big to DELETE are TRUNCATEd with what references them.
    const replica = !asOrigin && catalog.replicaAllowed && !this.replicaSession ? 'local' : this.replicaSession;
    const deletable = asOrigin ?? (replica ? dirty.filter((i) => small(i) && !tables[i]!.deleteUnsafeAsReplica) : []);
    const rest = dirty.filter((i) => !deletable.includes(i));
    // Tables with ON TRUNCATE triggers join the TRUNCATE, which comes last: once everything else is empty and
    // restarted, what their triggers write stays, as after a TRUNCATE of everything. Catalog order: they fire alike each time.
    const truncated = referencingClosure([...rest, ...fired], catalog.referencedBy);
    const deleted = deletable.filter((i) => !truncated.has(i));
    const statements: string[] = [];
    if (replica === 'local' && deleted.length) statements.push('SET LOCAL session_replication_role = replica');
    // ONLY: a table with inheritance children (not partitions) has them probed and emptied as tables of their own.
    for (const i of deleted)
      statements.push(`DELETE FROM ${tables[i]!.partitioned ? '' : 'ONLY '}${tables[i]!.qualified}`);
    const restart = moved.filter((sequence) => !truncated.has(sequence.table));
    // A cached sequence needs a new relfilenode, as TRUNCATE gives it: only that voids the values other connections hold.
    for (const s of restart.filter((s) => s.cached)) statements.push(`ALTER SEQUENCE ${s.qualified} RESTART`);
    const plain = restart.filter((s) => !s.cached);
    if (plain.length) {
      const values = plain.map((s) => `(${s.oid})`).join(', ');
      statements.push(
        `SELECT pg_catalog.setval(q.seqrelid, q.seqstart, false) FROM pg_catalog.pg_sequence q JOIN (VALUES ${values}) v(oid) ON q.seqrelid = v.oid::oid`,
      );
    }
    const order = [...truncated].sort((a, b) => a - b);
    // The role a TRUNCATE of everything fires ON TRUNCATE triggers in.
    if (replica && (fired.length || order.some((i) => tables[i]!.truncateFiresAsReplica)))
      statements.push('SET LOCAL session_replication_role = origin');
    if (order.length) statements.push(`TRUNCATE ${order.map((i) => tables[i]!.qualified).join(', ')} RESTART IDENTITY`);
    // One simple-protocol script: one round trip, one implicit transaction.
    await this.client.query(statements.join(';\n'));
    this.counts[truncated.size ? 'truncate' : 'delete']++;
  }

  private async truncateAll(): Promise<void> {
    const tables = this.catalog!.tables;
    // ON TRUNCATE triggers fire, as in the TRUNCATE this stands for.
    const origin = this.replicaSession ? 'SET LOCAL session_replication_role = origin; ' : '';
    if (tables.length)
      await this.client.query(`${origin}TRUNCATE ${tables.map((t) => t.qualified).join(', ')} RESTART IDENTITY`);
  }
}

/**
 * Dirty tables ordered so that every table comes before the tables it
 * references (children first), or undefined when their foreign keys form a
 * cycle between tables, which only TRUNCATE handles safely. A table that
 * references itself is no cycle: one DELETE removes all its rows, and its
 * foreign key is checked once that statement is done.
 */
function deleteOrder(dirty: number[], referencedBy: number[][]): number[] | undefined {
  const inSet = new Set(dirty);
  const order: number[] = [];
  const state = new Map<number, 'visiting' | 'done'>();
  const visit = (table: number): boolean => {
    if (state.get(table) === 'done') return true;
    if (state.get(table) === 'visiting') return false;
    state.set(table, 'visiting');
    for (const child of referencedBy[table]!) if (child !== table && inSet.has(child) && !visit(child)) return false;
    state.set(table, 'done');
    order.push(table);
    return true;
  };
  for (const table of dirty) if (!visit(table)) return undefined;
  return order;
}

/** The tables and every table that references them, transitively: TRUNCATE needs them all in one statement. */
function referencingClosure(tables: number[], referencedBy: number[][]): Set<number> {
  const closure = new Set<number>();
  const pending = [...tables];
  while (pending.length) {
    const table = pending.pop()!;
    if (closure.has(table)) continue;
    closure.add(table);
    pending.push(...referencedBy[table]!);
  }
  return closure;
}

function resetError(error: unknown): PgworkError {
  if (sqlState(error) === '55P03') {
    return new PgworkError(
      'RESET_FAILED',
      `reset waited too long for a lock: ${describeDatabaseError(error)}; a connection of your app still holds a transaction open on this database (commit or roll it back, or close the pool, at the end of each test).`,
      { cause: error },
    );
  }
  return new PgworkError('RESET_FAILED', `reset could not empty the tables: ${describeDatabaseError(error)}`, {
    cause: error,
  });
}

/** One reset without a cached catalog. Worker sessions keep a Resetter instead. */
export async function resetDatabase(client: Client, options: ResetOptions = {}): Promise<void> {
  await new Resetter(client, options).reset();
}

/**
 * The catalog becomes SQL this session runs: only from a directory and file
 * that are this user's and that no other user can write.
 */
function isPrivate(path: string): boolean {
  const stats = lstatSync(path);
  return stats.uid === process.getuid?.() && (stats.mode & 0o022) === 0 && !stats.isSymbolicLink();
}

function readSharedCatalog(file: string): Catalog | undefined {
  try {
    if (!isPrivate(dirname(file)) || !isPrivate(file)) return undefined;
    return JSON.parse(readFileSync(file, 'utf8')) as Catalog;
  } catch {
    return undefined; // none yet, or half-written by a process that died: read the database's own
  }
}

/** Written whole or not at all (rename), so a reader never sees half of it. */
function writeSharedCatalog(file: string, catalog: Catalog): void {
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    if (!isPrivate(dirname(file))) return;
    const temporary = `${file}.${process.pid}`;
    writeFileSync(temporary, JSON.stringify(catalog), { mode: 0o600 });
    renameSync(temporary, file);
  } catch {
    // only a cache: the next worker reads its own catalog
  }
}
