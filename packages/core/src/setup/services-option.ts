import { PgworkError } from '../shared/errors';
import type { ServiceSpec } from '../shared/services';
import { ENV_NAME } from './server-and-env';

/** A per-worker service as the `services` option gives it. */
export interface ServiceOptions {
  /**
   * The shell command that starts it, in the project's root (or `cwd`), with the
   * worker's environment (its database variables already rewritten), PORT set
   * to the port pgwork chose for it, and the variables of the services before
   * it. Placeholders: {port}, {worker}, {run}.
   */
  command: string;
  /** Variables set in the worker (and for later services), e.g. { REDIS_PORT: "{port}" }. */
  env?: Record<string, string>;
  /** Ready when this URL answers (e.g. "http://127.0.0.1:{port}/health"); default: when the port accepts connections. */
  readyUrl?: string;
  /** Milliseconds it may take to become ready. Default 60000. */
  timeout?: number;
  /** Where the command runs, relative to the project's root. */
  cwd?: string;
}

const SERVICE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,39}$/;
const KNOWN = ['command', 'env', 'readyUrl', 'timeout', 'cwd'];
const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * The `services` option, checked whole: each service's command, its variables
 * (which must not be ones pgwork already sets to the worker's database), its
 * readiness URL and timeout. `reserved` are the variables pgwork sets.
 */
export function validateServices(raw: unknown, reserved: readonly string[], option = 'services'): ServiceSpec[] {
  if (raw === undefined) return [];
  const bad = (what: string, example: string) =>
    new PgworkError('INVALID_OPTION', `${what}; e.g. ${option}: ${example}.`);
  const example = '{ redis: { command: "redis-server --port {port} --save \'\'", env: { REDIS_PORT: "{port}" } } }';
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw bad(`${option} must be an object of services by name (got ${JSON.stringify(raw)})`, example);
  const taken = new Map(
    reserved.map((name) => [name, 'pgwork already sets in each worker (its env or workerEnv option)']),
  );
  return Object.entries(raw as Record<string, unknown>).map(([name, given]) => {
    // Playwright's webServer is checked as one service under its own option's name.
    const at = option === 'services' ? `${option}.${name}` : option;
    if (!SERVICE_NAME.test(name))
      throw bad(`${at}: a service's name is a letter then letters, digits, - or _`, example);
    if (typeof given !== 'object' || given === null) throw bad(`${at} must be an object with a command`, example);
    const service = given as Record<string, unknown>;
    const unknown = Object.keys(service).find((key) => !KNOWN.includes(key));
    if (unknown)
      throw bad(`${at}: unknown field ${JSON.stringify(unknown)} (the fields are ${KNOWN.join(', ')})`, example);
    if (typeof service.command !== 'string' || !service.command.trim())
      throw bad(`${at}.command must be the shell command that starts the service`, example);
    const env = service.env ?? {};
    if (typeof env !== 'object' || env === null || Array.isArray(env))
      throw bad(`${at}.env must be an object of variable names and values`, example);
    for (const [variable, value] of Object.entries(env as Record<string, unknown>)) {
      if (!ENV_NAME.test(variable) || typeof value !== 'string')
        throw bad(`${at}.env.${variable} must be a variable name with a string value`, example);
      const owner = taken.get(variable);
      if (owner) throw bad(`${at}.env sets ${variable}, which ${owner}: name another variable`, example);
      taken.set(variable, `services.${name}.env sets too`);
    }
    if (
      service.readyUrl !== undefined &&
      (typeof service.readyUrl !== 'string' || !/^https?:\/\//.test(service.readyUrl))
    )
      throw bad(
        `${at}.readyUrl must be an http(s) URL (got ${JSON.stringify(service.readyUrl)})`,
        '{ app: { command: "node server.js", readyUrl: "http://127.0.0.1:{port}/health" } }',
      );
    const timeout = service.timeout ?? DEFAULT_TIMEOUT_MS;
    // Finite: Jest's setup file waits that long for the services, and Node refuses an endless timeout.
    if (typeof timeout !== 'number' || !Number.isFinite(timeout) || !(timeout > 0)) {
      const shown = typeof timeout === 'number' ? String(timeout) : JSON.stringify(timeout);
      throw bad(`${at}.timeout must be a number of milliseconds (got ${shown})`, example);
    }
    if (service.cwd !== undefined && typeof service.cwd !== 'string')
      throw bad(`${at}.cwd must be a directory relative to the project's root`, example);
    return Object.freeze({
      name,
      command: service.command,
      env: Object.freeze({ ...(env as Record<string, string>) }),
      readyUrl: service.readyUrl as string | undefined,
      timeoutMs: timeout,
      cwd: (service.cwd as string | undefined) ?? '.',
    });
  });
}
