import { PgworkError } from '../shared/errors';
import { resolveOptions, type PgworkOptions } from '../setup/options';
import { validateServices, type ServiceOptions } from '../setup/services-option';
import { OPTIONS_VARIABLE, WEB_SERVER, playwrightEntryPoints } from './wiring';

/** pgwork's options for a Playwright config: the ones every runner has, and the worker's own app server. */
export interface PgworkPlaywrightOptions extends PgworkOptions {
  /**
   * The app under test, one per Playwright worker, on the worker's own
   * database (DATABASE_URL and the `env` / `workerEnv` variables) and a port
   * pgwork picks (PORT, or {port} in the command): the tests' baseURL. Started
   * after `services`, whose variables it gets; stopped with the worker.
   */
  webServer?: ServiceOptions;
}

/** The parts of a Playwright config pgwork touches; everything else passes through unchanged. */
export interface PlaywrightConfigLike {
  globalSetup?: string | string[];
  globalTeardown?: string | string[];
  webServer?: unknown;
}

const list = (value: string | string[] | undefined) => (value === undefined ? [] : [value].flat());

/**
 * The one change a Playwright config needs:
 * `export default defineConfig(withPgwork(config, { adapter, webServer }))`.
 * pgwork's global setup runs first (the server, the template, a database per
 * worker) and its teardown last, around the config's own.
 */
export function withPgwork<Config extends PlaywrightConfigLike>(
  config: Config,
  options: PgworkPlaywrightOptions,
): Config {
  const { webServer, ...rest } = options;
  if (webServer !== undefined && options.services?.[WEB_SERVER] !== undefined) {
    throw new PgworkError(
      'INVALID_OPTION',
      `services.${WEB_SERVER} and webServer would be one service; rename the service.`,
    );
  }
  if (webServer !== undefined && config.webServer !== undefined) {
    throw new PgworkError(
      'INVALID_OPTION',
      "the config has Playwright's own webServer, one server for every worker, and pgwork's webServer starts one per worker on its own database; remove Playwright's webServer (its command goes in pgwork's).",
    );
  }
  if (webServer !== undefined) validateServices({ [WEB_SERVER]: webServer }, [], 'webServer');
  const coreOptions: PgworkOptions = webServer
    ? { ...rest, services: { ...rest.services, [WEB_SERVER]: webServer } }
    : rest;
  resolveOptions(coreOptions, {}); // fail at config time for a malformed option, whatever the environment says
  process.env[OPTIONS_VARIABLE] = JSON.stringify(coreOptions);
  return {
    ...config,
    globalSetup: [playwrightEntryPoints.globalSetup, ...list(config.globalSetup)],
    globalTeardown: [...list(config.globalTeardown), playwrightEntryPoints.globalTeardown],
  };
}
