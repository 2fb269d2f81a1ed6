import { PgworkError } from '../errors';
import { resolveOptions, type PgworkOptions } from '../options';

/** The parts of a Jest config pgwork touches; everything else passes through unchanged. */
export interface JestConfigLike {
  globalSetup?: string | null;
  globalTeardown?: string | null;
  setupFiles?: string[];
  setupFilesAfterEnv?: string[];
  globals?: Record<string, unknown>;
  projects?: unknown;
  [option: string]: unknown;
}

export const entryPoints = Object.freeze({
  globalSetup: require.resolve('./global-setup'),
  globalTeardown: require.resolve('./global-teardown'),
  setupFiles: require.resolve('./setup-env'),
  setupFilesAfterEnv: require.resolve('./setup-after-env'),
});

/**
 * The one change a Jest config needs: `export default withPgwork(config, { adapter })`.
 * Adds pgwork's four entry points and stores the options in `globals.pgwork`.
 */
export function withPgwork<Config extends JestConfigLike>(config: Config, options: PgworkOptions): Config {
  resolveOptions(options, {}); // fail at config time for a malformed option, whatever the environment says
  for (const hook of ['globalSetup', 'globalTeardown'] as const) {
    if (config[hook]) {
      throw new PgworkError(
        'INVALID_OPTION',
        `your Jest config already sets ${hook}; remove it from the config and call pgwork's from your own file: export default async (g, p) => { await require('@pgwork/core/jest/${hook === 'globalSetup' ? 'global-setup' : 'global-teardown'}').default(g, p); /* yours */ }.`,
      );
    }
  }
  if (config.projects) {
    throw new PgworkError('INVALID_OPTION', 'withPgwork wraps one project; wrap each entry of projects instead of the root config.');
  }
  return {
    ...config,
    globalSetup: entryPoints.globalSetup,
    globalTeardown: entryPoints.globalTeardown,
    setupFiles: [entryPoints.setupFiles, ...(config.setupFiles ?? [])],
    setupFilesAfterEnv: [entryPoints.setupFilesAfterEnv, ...(config.setupFilesAfterEnv ?? [])],
    globals: { ...config.globals, pgwork: options },
  };
}
