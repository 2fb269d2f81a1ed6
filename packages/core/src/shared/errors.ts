/**
 * Every failure a user can meet is a PgworkError: one line that says what went
 * wrong and how to fix it. `code` is stable so tests and tools can branch on it.
 */
export type PgworkErrorCode =
  | 'INVALID_OPTION'
  | 'INVALID_WORKER_ID'
  | 'INVALID_NAME'
  | 'INVALID_URL'
  | 'SERVER_UNREACHABLE'
  | 'CONNECT_TIMEOUT'
  | 'AUTH_FAILED'
  | 'NO_CREATEDB'
  | 'NO_CREATE_SCHEMA'
  | 'MIGRATION_FAILED'
  | 'ADAPTER_FAILED'
  | 'NOT_OWNED'
  | 'EMBEDDED_MISSING'
  | 'EMBEDDED_FAILED'
  | 'NO_RUN'
  | 'RESET_FAILED'
  | 'CONNECTION_BUDGET'
  | 'ENV_OVERWRITTEN'
  | 'DATABASE_ERROR'
  | 'SERVICE_FAILED';

export class PgworkError extends Error {
  readonly code: PgworkErrorCode;
  constructor(code: PgworkErrorCode, message: string, options?: { cause?: unknown }) {
    super(`pgwork: ${message}`, options);
    this.name = 'PgworkError';
    this.code = code;
  }
}

/** Where a run's server came from when pgwork started it (ServerChoice.source), as errors name it. */
export const EMBEDDED_SOURCE = 'the embedded server';

/** The password part of a connection URL, replaced so it never reaches a log. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
  }
}

interface PgErrorLike {
  message?: string;
  code?: string;
  position?: string;
  detail?: string;
  hint?: string;
}

/**
 * Postgres' own words for an error: message, then SQLSTATE, position and hint
 * when present. Given the `sql` that failed, the position reads as a line and column of it.
 */
export function describeDatabaseError(error: unknown, sql?: string): string {
  if (!isError(error)) return String(error);
  // An ORM's wrapper ("Failed query: ...") around the driver's error: Postgres' words are in the cause.
  if (!sqlState(error) && isError(error.cause) && sqlState(error.cause)) return describeDatabaseError(error.cause, sql);
  const e = error as Error & PgErrorLike;
  const parts = [firstLine(e.message)];
  if (e.code && /^[0-9A-Z]{5}$/.test(e.code)) parts.push(`(SQLSTATE ${e.code})`);
  if (e.position) parts.push(sql ? lineAndColumn(sql, Number(e.position)) : `at position ${e.position}`);
  if (e.detail) parts.push(`; ${firstLine(e.detail)}`);
  if (e.hint) parts.push(`; hint: ${firstLine(e.hint)}`);
  return parts.join(' ');
}

/** An Error of this realm or another: the app's pg, loaded in Jest's sandbox, throws the sandbox's. */
function isError(value: unknown): value is Error {
  return (
    value instanceof Error ||
    (typeof value === 'object' && value !== null && typeof (value as Error).message === 'string')
  );
}

/** "at line L, column C" of Postgres' 1-based character position in `sql`. */
function lineAndColumn(sql: string, position: number): string {
  const before = sql.slice(0, Math.max(position - 1, 0)).split('\n');
  return `at line ${before.length}, column ${before[before.length - 1]!.length + 1}`;
}

export function firstLine(text: string | undefined): string {
  return (text ?? '').split('\n')[0]!.trim();
}

export function sqlState(error: unknown): string | undefined {
  const code = (error as PgErrorLike | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A runner prints a thrown error's stack: for pgwork's own errors the one-line message is the whole story. */
export function conciseError(error: unknown): unknown {
  // By name: the worker side loads pgwork outside Jest's sandbox, so its classes are not the sandbox's.
  if (error instanceof Error && error.name === 'PgworkError') error.stack = error.message;
  return error;
}
