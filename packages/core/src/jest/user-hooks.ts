import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { PgworkError } from '../shared/errors';

/** The parts of Jest's project config pgwork reads in its global hooks. */
export interface JestProjectConfig {
  rootDir: string;
  globals?: Record<string, unknown>;
  [option: string]: unknown;
}

interface ScriptTransformer {
  requireAndTranspileModule<T>(modulePath: string, callback: (module: T) => void | Promise<void>): Promise<T>;
}

/**
 * Runs the project's own globalSetup or globalTeardown as Jest would: resolved
 * from rootDir, compiled with the project's transform (a global-setup.ts works),
 * called with Jest's two arguments.
 */
export async function runUserHook(
  hook: string,
  kind: 'globalSetup' | 'globalTeardown',
  globalConfig: unknown,
  projectConfig: JestProjectConfig,
): Promise<void> {
  const path = resolveHook(hook, kind, projectConfig.rootDir);
  const transformer = await jestTransform(projectConfig.rootDir).createScriptTransformer(projectConfig);
  await transformer.requireAndTranspileModule(path, async (loaded: unknown) => {
    const fn = typeof loaded === 'function' ? loaded : (loaded as { default?: unknown } | undefined)?.default;
    if (typeof fn !== 'function')
      throw new PgworkError(
        'INVALID_OPTION',
        `your ${kind} ${path} must export a function (module.exports = async () => {} or export default).`,
      );
    await fn(globalConfig, projectConfig);
  });
}

/** Jest's own rule: <rootDir> replaced, a relative path from rootDir, else a module name. */
function resolveHook(hook: string, kind: string, rootDir: string): string {
  const path = hook.replace(/^<rootDir>/, rootDir);
  try {
    if (isAbsolute(path)) return require.resolve(path);
    try {
      return require.resolve(resolve(rootDir, path));
    } catch {
      return require.resolve(path, { paths: [rootDir] });
    }
  } catch (error) {
    throw new PgworkError(
      'INVALID_OPTION',
      `your ${kind} ${JSON.stringify(hook)} cannot be found from ${rootDir}; fix the path in your Jest config.`,
      { cause: error },
    );
  }
}

/** @jest/transform as the running Jest has it: found through jest -> @jest/core, as pnpm's strict layout requires. */
function jestTransform(rootDir: string): { createScriptTransformer(config: unknown): Promise<ScriptTransformer> } {
  const starts = [join(rootDir, 'package.json'), require.main?.filename, __filename].filter(
    (start): start is string => !!start,
  );
  for (const start of starts) {
    for (const chain of [['jest/package.json', '@jest/core/package.json'], ['@jest/core/package.json'], []]) {
      try {
        let from = createRequire(start);
        for (const step of chain) from = createRequire(from.resolve(step));
        return from('@jest/transform');
      } catch {
        // try the next way
      }
    }
  }
  throw new PgworkError(
    'INVALID_OPTION',
    `cannot find @jest/transform from ${rootDir} to load your own global hooks; install jest in the project.`,
  );
}
