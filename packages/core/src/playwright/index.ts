// @pgwork/core/playwright: what @pgwork/playwright builds its `test` and
// `withPgwork` from (that package holds the @playwright/test peer).
export { withPgwork, type PgworkPlaywrightOptions, type PlaywrightConfigLike } from './config';
export { pgworkFixtures, type PgworkWebServer, type PgworkWorkerFixtures } from './fixtures';
