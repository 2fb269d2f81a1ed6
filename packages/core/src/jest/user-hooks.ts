import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { PgworkError } from '../shared/errors';

/** The parts of Jest's project config pgwork reads in its global hooks. */
export interface JestProjectConfig {
  rootDir: string;
  globals?: Record<string, unknown>;
  [option: string]: unknown;
}

interface JestUtil {
  /** require, or import() for an ES module; with interop, a transpiled module's default export. */
  requireOrImportModule(path: string, applyInteropRequireDefault: boolean): Promise<unknown>;
}

/**
 * Runs the project's own globalSetup or globalTeardown as Jest would: resolved
 * from rootDir, loaded with Jest's own loader and called with Jest's two
 * arguments. pgwork's hook runs inside Jest's loading of it, whose require hook
 * compiles what it loads with the project's transform (a global-setup.ts works):
 * a transformer of pgwork's own would compile the file a second time, which a
 * type-checking ts-jest rejects (TS7022 on the first pass's `__importDefault`).
 */
export async function runUserHook(
  hook: string,
  kind: 'globalSetup' | 'globalTeardown',
  globalConfig: unknown,
  projectConfig: JestProjectConfig,
): Promise<void> {
  const path = resolveHook(hook, kind, projectConfig.rootDir);
  const loaded = await jestModule<JestUtil>(projectConfig.rootDir, 'jest-util').requireOrImportModule(path, true);
  const fn = typeof loaded === 'function' ? loaded : (loaded as { default?: unknown } | undefined)?.default;
  if (typeof fn !== 'function')
    throw new PgworkError(
      'INVALID_OPTION',
      `your ${kind} ${path} must export a function (module.exports = async () => {} or export default).`,
    );
  await fn(globalConfig, projectConfig);
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

/** A package of the running Jest's: found through jest -> @jest/core, as pnpm's strict layout requires. */
function jestModule<T>(rootDir: string, name: string): T {
  const starts = [join(rootDir, 'package.json'), require.main?.filename, __filename].filter(
    (start): start is string => !!start,
  );
  for (const start of starts) {
    for (const chain of [['jest/package.json', '@jest/core/package.json'], ['@jest/core/package.json'], []]) {
      try {
        let from = createRequire(start);
        for (const step of chain) from = createRequire(from.resolve(step));
        return from(name) as T;
      } catch {
        // try the next way
      }
    }
  }
  throw new PgworkError(
    'INVALID_OPTION',
    `cannot find ${name} from ${rootDir} to load your own global hooks; install jest in the project.`,
  );
}
