// @pgwork/playwright: a private, migrated database and an app server of its
// own per Playwright worker. The config wraps with withPgwork; the tests import
// `test` (and `expect`) from here instead of @playwright/test.
import {
  test as base,
  expect,
  type Fixtures,
  type PlaywrightTestArgs,
  type PlaywrightTestOptions,
  type PlaywrightWorkerArgs,
  type PlaywrightWorkerOptions,
} from '@playwright/test';
import { pgworkFixtures, type PgworkWorkerFixtures } from '@pgwork/core/playwright';

export {
  withPgwork,
  type PgworkPlaywrightOptions,
  type PgworkWebServer,
  type PgworkWorkerFixtures,
} from '@pgwork/core/playwright';
export { reset } from '@pgwork/core';
export { expect };

type PgworkFixtures = Fixtures<
  object,
  PgworkWorkerFixtures,
  PlaywrightTestArgs & PlaywrightTestOptions,
  PlaywrightWorkerArgs & PlaywrightWorkerOptions
>;

/**
 * Playwright's `test` with pgwork's fixtures: `databaseUrl` and `webServer`
 * (worker-scoped), `baseURL` set to the worker's own server, and the worker's
 * database emptied before each test (resetBefore: "test", the default).
 */
export const test = base.extend<object, PgworkWorkerFixtures>(pgworkFixtures() as unknown as PgworkFixtures);
