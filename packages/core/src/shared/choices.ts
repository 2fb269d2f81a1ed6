import { PgworkError } from './errors';

/**
 * `value` when it is one of `choices`, else a one-line INVALID_OPTION error
 * that names where the value came from (`source`, e.g. `reset "fast"` or
 * `prisma({ mode: "x" })`) and what to use instead (`use`, default: the choices).
 */
export function oneOf<T extends string>(value: unknown, choices: readonly T[], source: string, use?: string): T {
  if (choices.includes(value as T)) return value as T;
  const fallback = orList(choices.map((choice) => JSON.stringify(choice)));
  throw new PgworkError('INVALID_OPTION', `${source} is not understood; use ${use ?? fallback}.`);
}

/** "a", "a or b", "a, b or c". */
export function orList(items: readonly string[]): string {
  return items.length > 1 ? `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}` : (items[0] ?? '');
}

/** Option `key` of an adapter's options: one of `choices`, the first when unset. */
export function adapterChoice<T extends string>(
  adapter: string,
  key: string,
  value: T | undefined,
  choices: readonly T[],
): T {
  return oneOf(value ?? choices[0], choices, `${adapter}({ ${key}: ${JSON.stringify(value)} })`);
}

/**
 * A choice an environment variable overrides: `PGWORK_RESET=transaction` wins
 * over the `reset` option, which wins over the default. The error names the one used.
 */
export function envOrOption<T extends string>(
  env: NodeJS.ProcessEnv,
  variable: string,
  option: unknown,
  name: string,
  fallback: T,
  choices: readonly T[],
  use?: string,
): T {
  const fromEnv = env[variable];
  if (fromEnv) return oneOf(fromEnv, choices, `${variable}=${JSON.stringify(fromEnv)}`, use);
  return oneOf(option || fallback, choices, `${name} ${JSON.stringify(option)}`, use);
}

/** A yes/no environment variable: unset, "", 0 or false is no; 1 or true is yes; anything else an error. */
export function flag(env: NodeJS.ProcessEnv, name: string, values = '1 or 0'): boolean {
  const value = env[name];
  if (value === undefined || value === '' || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  throw new PgworkError('INVALID_OPTION', `${name}=${JSON.stringify(value)} is not understood; set it to ${values}.`);
}
