import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Client } from 'pg';
import { orList } from './choices';
import { PgworkError, describeDatabaseError } from './errors';
import { ISOLATION_MODES, RESET_MODES, type IsolationMode, type ResetMode } from './modes';

/** The database an adapter migrates or resets, with an open connection to it. */
export interface MigrationTarget {
  /** Connection URL of the target database (same server, user and password as pgwork's). */
  readonly url: string;
  /**
   * The same database as the app's driver reaches it, where that differs from
   * `url` (the embedded server: loopback TCP with its password, not its socket):
   * for code of the user's that connects with a driver of its own (a seed module).
   */
  readonly appUrl?: string;
  readonly database: string;
  /** A connected client on the target; pgwork closes it. */
  readonly client: Client;
  /**
   * Schema isolation: the worker's schema, first on the client's and the URL's
   * search_path. Everything migrate creates, bookkeeping tables included, must
   * land in it; undefined otherwise.
   */
  readonly schema?: string;
}

/** What an adapter says about itself, once per run, before anything is built. */
export interface AdapterDescription {
  /** A stable hash of every input that shapes the migrated schema. Same inputs, same hash. */
  readonly fingerprint: string;
  /**
   * Tables reset must never empty (migration bookkeeping), "schema.table" as
   * migrate creates them with database isolation (under schema isolation core
   * finds them in the worker's schema).
   */
  readonly bookkeepingTables: readonly string[];
  /** The isolation modes this adapter's migrate and reset work in. */
  readonly isolation: readonly IsolationMode[];
  /** The reset modes that work with it. */
  readonly reset: readonly ResetMode[];
  /** For a mode missing above, why: shown when a user asks for it, and by the conformance kit when it skips it. */
  readonly limits?: Readonly<Partial<Record<IsolationMode | ResetMode, string>>>;
}

/**
 * An adapter tells pgwork how one ORM or tool builds a schema. Keep it narrow:
 * a description (fingerprint, bookkeeping, supported modes), a way to migrate
 * an empty database or schema, and (only when core's reset is not right for it) a reset.
 */
export interface Adapter {
  /** Short, stable, shown in errors: "raw-pg", "prisma". */
  readonly name: string;
  /** Everything pgwork needs to know before it builds: called once per run, in every mode. */
  describe(): Promise<AdapterDescription> | AdapterDescription;
  /** Bring an empty database (or the target's schema) to the current schema. Must close any connection it opens. */
  migrate(target: MigrationTarget): Promise<void>;
  /** Optional: replaces core's reset for this adapter. */
  reset?(target: MigrationTarget): Promise<void>;
}

export interface AdapterContext {
  /** Where relative paths in the adapter's options are resolved: the project's root (Jest's rootDir, Vitest's root). */
  readonly rootDir: string;
}

export type AdapterFactory<Options> = (options: Options, context: AdapterContext) => Adapter;

/**
 * What a runner's config holds (Jest's globals, Vitest's provide): a module to
 * load and plain JSON options. Both runners pass config to other processes as
 * data, so an adapter is named, never passed as an object.
 */
export interface AdapterReference {
  readonly module: string;
  readonly options: unknown;
}

/**
 * Each adapter package exports `createAdapter` and a config helper built with this:
 * `export const rawPg = adapterHelper<RawPgOptions>(__filename, 'rawPg', ['migrations'])`.
 * `keys` are the helper's options: anything else is refused when the config is
 * read, with the keys to use, so a typo never silently falls back to a default.
 * `retired` says, for an option an earlier version had, what to do instead. The
 * helper's argument is optional when every option is.
 */
export function adapterHelper<Options>(
  moduleFile: string,
  name: string,
  keys: readonly (keyof NonNullable<Options> & string)[],
  retired: Readonly<Record<string, string>> = {},
): (...options: Partial<Options> extends Options ? [options?: Options] : [options: Options]) => AdapterReference {
  return (...[options]) => {
    if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
      const example = `${name}({ ${keys[0]}: ... })`;
      throw new PgworkError(
        'INVALID_OPTION',
        `${name}(${JSON.stringify(options)}) takes an options object: ${example}.`,
      );
    }
    const unknown = Object.keys(options ?? {}).filter((key) => !(keys as readonly string[]).includes(key));
    const old = unknown.find((key) => Object.hasOwn(retired, key));
    if (old) throw new PgworkError('INVALID_OPTION', `${name}({ ${old} }) is no longer an option; ${retired[old]}.`);
    if (unknown.length) {
      const what = unknown.length > 1 ? 'are not options' : 'is not an option';
      throw new PgworkError('INVALID_OPTION', `${name}({ ${unknown.join(', ')} }) ${what}; use ${orList(keys)}.`);
    }
    return Object.freeze({ module: moduleFile, options: structuredClone(options ?? {}) });
  };
}

export function isAdapterReference(value: unknown): value is AdapterReference {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AdapterReference).module === 'string' &&
    'options' in value
  );
}

/**
 * A module named in the options (a package name, as a JSON config holds it),
 * resolved from the project: pnpm's strict node_modules lets core see only its
 * own dependencies, not the adapter the project installed beside it.
 */
function resolveFromProject(module: string, rootDir: string): string | undefined {
  try {
    return createRequire(join(rootDir, 'package.json')).resolve(module);
  } catch {
    return undefined;
  }
}

export function loadAdapter(reference: AdapterReference, context: AdapterContext): Adapter {
  let loaded: { createAdapter?: AdapterFactory<unknown> };
  try {
    loaded = require(resolveFromProject(reference.module, context.rootDir) ?? reference.module);
  } catch (error) {
    throw new PgworkError(
      'ADAPTER_FAILED',
      `cannot load adapter module ${reference.module}: ${(error as Error).message}; install the adapter package.`,
      {
        cause: error,
      },
    );
  }
  if (typeof loaded.createAdapter !== 'function') {
    throw new PgworkError(
      'ADAPTER_FAILED',
      `adapter module ${reference.module} does not export createAdapter(options, context).`,
    );
  }
  return validateAdapter(loaded.createAdapter(reference.options, context));
}

export function validateAdapter(adapter: Adapter): Adapter {
  if (!adapter || typeof adapter.name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(adapter.name)) {
    throw new PgworkError('ADAPTER_FAILED', 'an adapter needs a name of a-z, 0-9 and - (for example "raw-pg").');
  }
  for (const method of ['describe', 'migrate'] as const) {
    if (typeof adapter[method] !== 'function') {
      throw new PgworkError('ADAPTER_FAILED', `adapter ${adapter.name} has no ${method}() method.`);
    }
  }
  return adapter;
}

const QUALIFIED_TABLE = /^[^.\s]+\.[^.\s]+$/;

/** The adapter's description, checked: a bad one fails here with the adapter's name, never later. */
export async function describeAdapter(adapter: Adapter): Promise<AdapterDescription> {
  let description: AdapterDescription;
  try {
    description = await adapter.describe();
  } catch (error) {
    if (error instanceof PgworkError) throw error;
    throw new PgworkError(
      'ADAPTER_FAILED',
      `adapter ${adapter.name} could not describe itself: ${describeDatabaseError(error)}`,
      {
        cause: error,
      },
    );
  }
  const wrong = (what: string) =>
    new PgworkError('ADAPTER_FAILED', `adapter ${adapter.name}'s describe() returned ${what}; fix the adapter.`);
  if (typeof description?.fingerprint !== 'string' || description.fingerprint === '')
    throw wrong('an empty fingerprint');
  const tables = description.bookkeepingTables;
  if (!Array.isArray(tables) || !tables.every((table) => typeof table === 'string' && QUALIFIED_TABLE.test(table))) {
    throw wrong(`bookkeepingTables ${JSON.stringify(tables)} (each must be "schema.table")`);
  }
  const isolation = description.isolation;
  if (!Array.isArray(isolation) || !isolation.length || !isolation.every((mode) => ISOLATION_MODES.includes(mode))) {
    throw wrong(`isolation ${JSON.stringify(isolation)} (a non-empty list of ${ISOLATION_MODES.join(', ')})`);
  }
  const reset = description.reset;
  if (!Array.isArray(reset) || !reset.length || !reset.every((mode) => RESET_MODES.includes(mode))) {
    throw wrong(`reset ${JSON.stringify(reset)} (a non-empty list of ${RESET_MODES.join(', ')})`);
  }
  return Object.freeze({ ...description });
}

/**
 * Refuses, up front and in one line, an isolation or reset mode the adapter
 * does not support, naming why and the alternative.
 */
export function assertSupported(
  adapter: Adapter,
  description: AdapterDescription,
  isolation: IsolationMode,
  reset: ResetMode,
): void {
  const check = (kind: 'isolation' | 'reset', mode: IsolationMode | ResetMode, supported: readonly string[]) => {
    if (supported.includes(mode)) return;
    const why = description.limits?.[mode] ? ` (${description.limits[mode]})` : '';
    const variable = kind === 'isolation' ? 'PGWORK_ISOLATION' : 'PGWORK_RESET';
    throw new PgworkError(
      'INVALID_OPTION',
      `adapter ${adapter.name} does not support ${kind} "${mode}"${why}; use ${kind} "${supported[0]}" (the ${kind} option or ${variable}).`,
    );
  };
  check('isolation', isolation, description.isolation);
  check('reset', reset, description.reset);
}
