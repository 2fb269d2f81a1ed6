import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The line users add to their turbo.json so pgwork's variables reach the test runner. */
export const TURBO_PASS_THROUGH = '"globalPassThroughEnv": ["PGWORK_*", "DATABASE_URL"]';

/**
 * Under turbo 2 (strict env mode) a task sees only the variables turbo.json
 * declares, so `PGWORK_DATABASE_URL=... turbo run test` silently runs on the
 * embedded server. When this process is a turbo task (TURBO_HASH), no PGWORK_
 * variable reached it and the nearest turbo.json declares none, returns the
 * one-line notice to print; otherwise undefined.
 */
export function turboNotice(rootDir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (
    !env.TURBO_HASH ||
    Object.keys(env).some(
      (name) => name.startsWith('PGWORK_') && name !== 'PGWORK_RUN' && !name.startsWith('PGWORK_RUN_'),
    )
  )
    return undefined;
  const found = turboPassesPgworkVariables(rootDir);
  if (!found || found.passes) return undefined;
  return `pgwork: running as a turbo task, and ${turboPassThroughProblem(found.file)}`;
}

/** What is wrong with a turbo.json that passes no PGWORK_* variable, and the fix: the run's notice and `pgwork doctor` say it alike. */
export function turboPassThroughProblem(file: string): string {
  return `${file} passes no PGWORK_* variable through (turbo's strict env mode drops undeclared ones, so PGWORK_DATABASE_URL, PGWORK_DISABLE and the rest would be ignored); add ${TURBO_PASS_THROUGH} to it.`;
}

/**
 * The nearest turbo.json above rootDir, and whether it lets PGWORK_* variables
 * reach tasks (loose env mode, or a declared PGWORK_ name or "*"). Undefined
 * without a turbo.json, or with one pgwork cannot read (not ours to judge).
 */
export function turboPassesPgworkVariables(rootDir: string): { file: string; passes: boolean } | undefined {
  const file = nearestTurboJson(rootDir);
  if (!file) return undefined;
  try {
    const config = JSON.parse(readFileSync(file, 'utf8').replace(/^\s*\/\/.*$/gm, '')) as Record<string, unknown>;
    if (config.envMode === 'loose') return { file, passes: true };
    const tasks = Object.values((config.tasks ?? {}) as Record<string, Record<string, unknown>>);
    const declared = [
      config.globalEnv,
      config.globalPassThroughEnv,
      ...tasks.flatMap((task) => [task.env, task.passThroughEnv]),
    ].flatMap((list) => (Array.isArray(list) ? list.map(String) : []));
    return { file, passes: declared.some((name) => name === '*' || name.startsWith('PGWORK_')) };
  } catch {
    return undefined;
  }
}

function nearestTurboJson(from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'turbo.json'))) return join(dir, 'turbo.json');
    if (dirname(dir) === dir) return undefined;
  }
}
