// How pgwork's Playwright files reach each other: withPgwork (in the config,
// evaluated in the runner process before its global setup) leaves the options
// in the environment, where the global setup finds them; the global setup
// leaves the run's state there, which Playwright hands to every worker.
import { compiledFile } from '../shared/child';

export const playwrightEntryPoints = Object.freeze({
  globalSetup: compiledFile(__dirname, 'global-setup.js'),
  globalTeardown: compiledFile(__dirname, 'global-teardown.js'),
});

/** The variable withPgwork leaves the options in, as JSON. */
export const OPTIONS_VARIABLE = 'PGWORK_PLAYWRIGHT_OPTIONS';

/** The service the `webServer` option becomes: its URL is the tests' baseURL. */
export const WEB_SERVER = 'webServer';

/** The Playwright run, from global setup to global teardown (one process). */
const ACTIVE_RUN = Symbol.for('pgwork.playwrightRun');

export function activeRun(): { run?: import('../setup/run').Run } {
  const slot = globalThis as Record<symbol, { run?: import('../setup/run').Run } | undefined>;
  return (slot[ACTIVE_RUN] ??= {});
}
