import { PgworkError } from './errors';
import { hashParts } from './fingerprint';

/**
 * What a runner binding leaves for pgwork on a test file's global (Jest: the
 * config's `globals`): which project of a multi-project config the file
 * belongs to, and the user's own global hooks to chain.
 */
export interface BindingData {
  /** The project's key (its displayName) in a multi-project config. */
  readonly project?: string;
  /** The user's own globalSetup / globalTeardown, run after / before pgwork's. */
  readonly globalSetup?: string;
  readonly globalTeardown?: string;
}

export const BINDING_GLOBAL = 'pgworkBinding';

export function bindingOf(scope: object | undefined): BindingData {
  return ((scope as Record<string, unknown> | undefined)?.[BINDING_GLOBAL] as BindingData | undefined) ?? {};
}

/** The project a test file belongs to: from its global, where the runner put the config's globals. */
export function projectOf(scope: object | undefined): string | undefined {
  return bindingOf(scope).project;
}

/**
 * Refuses a multi-project config in which two projects would share one run:
 * `key` is what keys a project's run in the binding, `fix` says how to name one.
 */
export function assertDistinctProjects(names: readonly string[], key: (name: string) => string, fix: string): void {
  const seen = new Map<string, string>();
  for (const name of names) {
    const first = seen.get(key(name));
    if (first === undefined) {
      seen.set(key(name), name);
      continue;
    }
    const clash =
      first === name
        ? `two projects are named "${name}"`
        : `projects "${first}" and "${name}" would share one pgwork run`;
    throw new PgworkError('INVALID_OPTION', `${clash}; ${fix}.`);
  }
}

/** What a worker compares with its run's: the options as the runner hands them over (JSON). */
export function optionsDigest(options: unknown): string {
  return hashParts([JSON.stringify(options ?? null)]);
}
