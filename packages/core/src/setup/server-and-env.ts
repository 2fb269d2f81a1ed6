import { EMBEDDED_SOURCE, PgworkError } from '../shared/errors';
import { parseDatabaseUrl } from '../shared/naming';
import { WORKER_ENV_PLACEHOLDERS } from '../shared/run-state';

// The two options whose checks are more than a type and a choice: which server
// to use, and the per-worker variables with placeholders.

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface ServerChoice {
  /** undefined: start the embedded server. */
  readonly url: string | undefined;
  /** The embedded server's PostgreSQL major, when the project asks for one (embeddedMajor). */
  readonly embeddedMajor?: number;
  /** Where the choice came from, named in errors. */
  readonly source: string;
}

/**
 * Variables the runner gives its workers but not the process globalSetup runs
 * in: Vitest's `test.env` (often `loadEnv(mode, root, '')`, a .env file's values).
 */
export interface RunnerEnv {
  readonly values: Readonly<Record<string, unknown>>;
  /** Where they are set, named in the run line and errors: "test.env of the Vitest config". */
  readonly where: string;
}

/**
 * The server a run uses: PGWORK_DATABASE_URL (the shell's, then the runner's),
 * the databaseUrl option, DATABASE_URL (the runner's, as the workers see it
 * over the shell's), else the embedded server.
 */
export function chooseServer(
  option: unknown,
  env: NodeJS.ProcessEnv,
  runnerEnv?: RunnerEnv,
  embeddedMajor?: number,
): ServerChoice {
  const ofRunner = (name: string): Array<[unknown, string]> =>
    runnerEnv ? [[runnerEnv.values[name], `${name} in ${runnerEnv.where}`]] : [];
  const candidates: Array<[unknown, string]> = [
    [env.PGWORK_DATABASE_URL, 'PGWORK_DATABASE_URL'],
    ...ofRunner('PGWORK_DATABASE_URL'),
    [option, 'the databaseUrl option'],
    ...ofRunner('DATABASE_URL'),
    [env.DATABASE_URL, 'DATABASE_URL'],
  ];
  for (const [value, source] of candidates) {
    if (value === undefined || value === '') continue;
    if (typeof value !== 'string') throw new PgworkError('INVALID_OPTION', `${source} must be a string URL.`);
    if (value === 'embedded')
      return Object.freeze({ url: undefined, source: `${EMBEDDED_SOURCE} (${source} says "embedded")`, embeddedMajor });
    parseDatabaseUrl(value, source);
    return Object.freeze({ url: value, source });
  }
  return Object.freeze({ url: undefined, source: EMBEDDED_SOURCE, embeddedMajor });
}

export function validateWorkerEnv(raw: unknown, rewritten: readonly string[]): Readonly<Record<string, string>> {
  if (raw === undefined) return Object.freeze({});
  const example = 'e.g. { REDIS_URL: "redis://127.0.0.1:6379/{worker}" }';
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new PgworkError(
      'INVALID_OPTION',
      `workerEnv must map variable names to text, ${example} (got ${JSON.stringify(raw)}).`,
    );
  }
  for (const [name, value] of Object.entries(raw)) {
    if (!ENV_NAME.test(name))
      throw new PgworkError(
        'INVALID_OPTION',
        `workerEnv: ${JSON.stringify(name)} is not an environment variable name.`,
      );
    if (rewritten.includes(name)) {
      throw new PgworkError(
        'INVALID_OPTION',
        `workerEnv: ${name} is in env, which pgwork already points at the worker's database; remove it from one of them.`,
      );
    }
    if (typeof value !== 'string') {
      throw new PgworkError(
        'INVALID_OPTION',
        `workerEnv.${name} must be text with placeholders such as {worker} or {port} in it, ${example}; functions cannot cross the runner's processes.`,
      );
    }
    const unknown = value
      .match(/\{[^}]*\}/g)
      ?.find(
        (placeholder) =>
          !(WORKER_ENV_PLACEHOLDERS as readonly string[]).includes(placeholder) && !/^\{slot\+\d+\}$/.test(placeholder),
      );
    if (unknown) {
      throw new PgworkError(
        'INVALID_OPTION',
        `workerEnv.${name}: ${unknown} is not a placeholder; use ${WORKER_ENV_PLACEHOLDERS.join(', ')} or {slot+N}.`,
      );
    }
  }
  return Object.freeze({ ...(raw as Record<string, string>) });
}
