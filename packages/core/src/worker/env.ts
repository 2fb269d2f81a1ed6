import { isolationOf } from '../isolation';
import { PgworkError, maskUrl } from '../shared/errors';
import { optionsDigest } from '../shared/binding';
import { expandWorkerEnv, readRunState, runStateVariable, type RunState, type WorkerTarget } from '../shared/run-state';
import { resolveWorkerId } from '../shared/worker-id';

/** Where worker N's tests go, whatever the isolation. */
export function workerTarget(state: RunState, workerId: number = resolveWorkerId()): WorkerTarget {
  return isolationOf(state.mode).target(state as never, workerId);
}

/**
 * The part of the worker lifecycle that must be synchronous and run before any
 * app module is imported: point every configured variable at this worker's database.
 */
export function applyWorkerEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  project?: string,
  options?: unknown,
): string {
  const state = readRunState(env, project);
  if (
    options !== undefined &&
    state.settings.optionsDigest &&
    optionsDigest(options) !== state.settings.optionsDigest
  ) {
    throw new PgworkError(
      'NO_RUN',
      `this test file's Jest project has other pgwork options than the run ${runStateVariable(project)} describes: Jest runs one globalSetup per distinct file, so in a multi-project config give every project wrapped by withPgwork its own displayName.`,
    );
  }
  const workerId = resolveWorkerId(env);
  for (const [name, value] of Object.entries(workerVariables(state, workerId))) env[name] = value;
  return workerTarget(state, workerId).appUrl;
}

/** Every variable pgwork sets in a worker, and its value there: `env` names the worker's database, `workerEnv` expanded. */
export function workerVariables(state: RunState, workerId: number): Record<string, string> {
  const target = workerTarget(state, workerId);
  const variables: Record<string, string> = {};
  for (const name of state.settings.env) variables[name] = target.appUrl;
  for (const [name, value] of Object.entries(state.settings.workerEnv)) {
    variables[name] = expandWorkerEnv(value, workerId, target, state.settings.slotBase);
  }
  return variables;
}

/**
 * The variables whose value is no longer what pgwork set (a setup file or test
 * code overwrote them), as one line naming each, its value now and the fix;
 * undefined when all still hold.
 */
export function overwrittenVariables(state: RunState, workerId: number, env: NodeJS.ProcessEnv): string | undefined {
  const changed = Object.entries(workerVariables(state, workerId)).filter(([name, value]) => env[name] !== value);
  if (!changed.length) return undefined;
  // A variable pgwork set to the password holds one now too, likely: never shown.
  const secret = (name: string) => state.settings.workerEnv[name]?.includes('{password}');
  const now = (name: string) =>
    env[name] === undefined ? 'unset' : secret(name) ? '"***"' : JSON.stringify(maskUrl(env[name]!));
  const shown = changed.map(([name]) => `${name} (now ${now(name)})`).join(', ');
  const fix = changed.some(([name]) => state.settings.env.includes(name))
    ? 'remove the assignment from your setup files or test code, or add the variable your app reads to pgwork\'s env option (env: ["DATABASE_URL", "TEST_DATABASE_URL"]) so pgwork rewrites that one instead'
    : 'remove the assignment from your setup files or test code';
  return `worker ${workerId}: ${shown} changed after pgwork set it for this worker, so tests would not use the worker's own database or service; ${fix} (checkEnv: "warn" or "off" relaxes this check).`;
}

/**
 * This worker's database URL while running under pgwork, else undefined: for
 * adapters whose apps build connections from host/port/database options.
 */
export function currentWorkerUrl(env: NodeJS.ProcessEnv = process.env, project?: string): string | undefined {
  if (!env[runStateVariable(project)]) return undefined;
  return workerTarget(readRunState(env, project), resolveWorkerId(env)).appUrl;
}
