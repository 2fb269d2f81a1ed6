import type { Client } from 'pg';
import { PgworkError } from './errors';

/** The database an adapter migrates or resets, with an open connection to it. */
export interface MigrationTarget {
  /** Connection URL of the target database (same server, user and password as pgwork's). */
  readonly url: string;
  readonly database: string;
  /** A connected client on the target; pgwork closes it. */
  readonly client: Client;
}

/**
 * An adapter tells pgwork how one ORM or tool builds a schema. Keep it narrow:
 * a fingerprint of everything that shapes the schema, a way to migrate an empty
 * database, and (only when core's reset is not right for it) a reset.
 */
export interface Adapter {
  /** Short, stable, shown in errors: "raw-pg", "prisma". */
  readonly name: string;
  /**
   * Tables reset must never empty (migration bookkeeping). "schema.table", or a
   * bare "table" for that name in any schema.
   */
  readonly bookkeepingTables?: readonly string[];
  /** A stable hash of every input that shapes the migrated schema. Same inputs, same hash. */
  fingerprint(): Promise<string> | string;
  /** Bring an empty database to the current schema. Must close any connection it opens. */
  migrate(target: MigrationTarget): Promise<void>;
  /** Optional: replaces core's reset for this adapter. */
  reset?(target: MigrationTarget): Promise<void>;
}

export interface AdapterContext {
  /** Where relative paths in the adapter's options are resolved: Jest's rootDir. */
  readonly rootDir: string;
}

export type AdapterFactory<Options> = (options: Options, context: AdapterContext) => Adapter;

/**
 * What a Jest config holds: a module to load and plain JSON options. Jest hands
 * config to other processes as JSON, so an adapter is named, never passed as an object.
 */
export interface AdapterReference {
  readonly module: string;
  readonly options: unknown;
}

/**
 * Each adapter package exports `createAdapter` and a config helper built with
 * this: `export const rawPg = adapterHelper(__filename)`.
 */
export function adapterHelper<Options>(
  moduleFile: string,
): (...options: undefined extends Options ? [options?: Options] : [options: Options]) => AdapterReference {
  return (...[options]) => Object.freeze({ module: moduleFile, options: structuredClone(options ?? {}) });
}

export function isAdapterReference(value: unknown): value is AdapterReference {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AdapterReference).module === 'string' &&
    'options' in value
  );
}

export function loadAdapter(reference: AdapterReference, context: AdapterContext): Adapter {
  let loaded: { createAdapter?: AdapterFactory<unknown> };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(reference.module);
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
  for (const method of ['fingerprint', 'migrate'] as const) {
    if (typeof adapter[method] !== 'function') {
      throw new PgworkError('ADAPTER_FAILED', `adapter ${adapter.name} has no ${method}() method.`);
    }
  }
  return adapter;
}
