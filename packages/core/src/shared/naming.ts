import { randomBytes } from 'node:crypto';
import { PgworkError, maskUrl } from './errors';

/** Postgres truncates identifiers longer than NAMEDATALEN-1 bytes; pgwork refuses them instead. */
export const MAX_IDENTIFIER_BYTES = 63;
/** Leaves room for the longest suffix pgwork appends (`_tpl_` + 16 hex digits). */
export const MAX_BASE_NAME_LENGTH = 40;

const SAFE_NAME = /^[a-z][a-z0-9_]*$/;
const RUN_ID = /^[a-z0-9]{8}$/;

export function validateBaseName(baseName: string, option = 'baseName'): string {
  if (typeof baseName !== 'string' || !SAFE_NAME.test(baseName) || baseName.length > MAX_BASE_NAME_LENGTH) {
    throw new PgworkError(
      'INVALID_NAME',
      `${option} ${JSON.stringify(baseName)} is not a valid base name: use 1-${MAX_BASE_NAME_LENGTH} characters of a-z, 0-9 and _, starting with a letter (for example "myapp_test").`,
    );
  }
  return baseName;
}

/** Any database name pgwork builds passes through here before it reaches SQL. */
export function assertDatabaseName(name: string): string {
  if (!SAFE_NAME.test(name) || Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES) {
    throw new PgworkError(
      'INVALID_NAME',
      `database name ${JSON.stringify(name)} is not safe: it must be at most ${MAX_IDENTIFIER_BYTES} bytes of a-z, 0-9 and _ (shorten the baseName option).`,
    );
  }
  return name;
}

/** A run id is random, so concurrent runs (two terminals, CI shards) never share a name. */
export function newRunId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(8), (byte) => alphabet[byte % alphabet.length]).join('');
}

export function assertRunId(runId: string): string {
  if (!RUN_ID.test(runId)) {
    throw new PgworkError(
      'INVALID_NAME',
      `run id ${JSON.stringify(runId)} is malformed; it must be 8 characters of a-z and 0-9.`,
    );
  }
  return runId;
}

export function workerDatabaseName(baseName: string, runId: string, workerId: number): string {
  return assertDatabaseName(`${validateBaseName(baseName)}_${assertRunId(runId)}_w${workerId}`);
}

/** The database every worker shares when isolation is switched off (PGWORK_DISABLE=1). */
export function sharedDatabaseName(baseName: string, runId: string): string {
  return assertDatabaseName(`${validateBaseName(baseName)}_${assertRunId(runId)}_shared`);
}

/** Templates are named by their fingerprint, so a schema change makes a new template. */
export function templateDatabaseName(baseName: string, fingerprint: string): string {
  if (!/^[0-9a-f]{16,}$/.test(fingerprint)) {
    throw new PgworkError(
      'INVALID_NAME',
      `fingerprint ${JSON.stringify(fingerprint)} must be lowercase hex of at least 16 digits.`,
    );
  }
  return assertDatabaseName(`${validateBaseName(baseName)}_tpl_${fingerprint.slice(0, 16)}`);
}

/** The copy of worker N's database PGWORK_KEEP=failed keeps, suffixed with when it was made. */
export function failedCopyName(baseName: string, runId: string, workerId: number): string {
  return assertDatabaseName(`${workerDatabaseName(baseName, runId, workerId)}_f${Date.now().toString(36)}`);
}

/** The kept embedded cluster of worker N's own server (server isolation); the one runs share is "main". */
export function workerClusterName(workerId: number): string {
  return `worker-${workerId}`;
}

/** The worker workerClusterName made a cluster's name for; undefined for "main" and any other name. */
export function clusterWorker(name: string): number | undefined {
  const parsed = /^worker-(\d+)$/.exec(name);
  return parsed ? Number(parsed[1]) : undefined;
}

/** What workerDatabaseName (or sharedDatabaseName, failedCopyName) made a name of; undefined for any other name. */
export function parseRunObjectName(name: string): { baseName: string; worker: number | undefined } | undefined {
  const parsed = /^(.+)_[a-z0-9]{8}_(?:w(\d+)(?:_f[a-z0-9]+)?|shared)$/.exec(name); // base, run id (RUN_ID), worker or shared
  return parsed ? { baseName: parsed[1]!, worker: parsed[2] === undefined ? undefined : Number(parsed[2]) } : undefined;
}

/** The base name templateDatabaseName made a name from; undefined for any other name. */
export function templateBaseName(name: string): string | undefined {
  return /^(.+)_tpl_[0-9a-f]{16}$/.exec(name)?.[1];
}

export function parseDatabaseUrl(url: string, option = 'PGWORK_DATABASE_URL'): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PgworkError(
      'INVALID_URL',
      `${option} is not a valid URL (${maskUrl(url)}); expected postgres://user:password@host:5432/database.`,
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new PgworkError(
      'INVALID_URL',
      `${option} must start with postgres:// or postgresql:// (got ${maskUrl(url)}).`,
    );
  }
  return parsed;
}

/** The database a URL names, or undefined when it names none. */
export function databaseOfUrl(url: string): string | undefined {
  const path = decodeURIComponent(parseDatabaseUrl(url).pathname.replace(/^\//, ''));
  return path === '' ? undefined : path;
}

/** Where a server URL points, without user or password: host:port, or a Unix socket's directory. */
export function serverAddress(url: string): string {
  const parsed = parseDatabaseUrl(url);
  return parsed.searchParams.get('host') ?? `${parsed.hostname}:${parsed.port || 5432}`;
}

/** The same server, user, password and query parameters, aimed at another database. */
export function databaseUrl(serverUrl: string, database: string): string {
  const parsed = parseDatabaseUrl(serverUrl);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}
