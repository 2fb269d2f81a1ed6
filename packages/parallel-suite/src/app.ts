import { resolve } from 'node:path';

/** A row of `urls` as every example's app returns it. */
export interface Url {
  id: number;
  slug: string;
  target: string;
  createdAt: Date;
}

/**
 * What each example implements with its own ORM, over the same two tables:
 * `urls` (identity id, unique slug, target, created_at) and `clicks`
 * (identity id, url_id referencing urls ON DELETE CASCADE, clicked_at).
 */
export interface UrlShortenerApp {
  createUrl(slug: string, target: string): Promise<Url>;
  /** Every url, ordered by id. */
  listUrls(): Promise<Url[]>;
  countUrls(): Promise<number>;
  findUrl(slug: string): Promise<Url | null>;
  deleteUrl(id: number): Promise<void>;
  recordClick(urlId: number): Promise<void>;
  countClicks(urlId: number): Promise<number>;
  /**
   * One application-level transaction: insert the url, then `clicks` clicks.
   * With `fail`, throw after the inserts so the transaction rolls back.
   */
  createUrlWithClicks(slug: string, target: string, clicks: number, fail?: boolean): Promise<Url>;
  /** Close the app's pool or connection. */
  close(): Promise<void>;
}

/** The module name an example's Jest config maps to its app (see suiteConfig). */
export const APP_MODULE = 'pgwork-suite-app';

/** Whether Jest runs this (Bun's test runner defines a `jest` object too). */
export const underJest = () => typeof jest !== 'undefined' && !process.versions.bun;

/** Where node:test, Mocha and Bun find the example's app: PGWORK_SUITE_APP, else src/app.ts of the folder they run in. */
export const suiteAppPath = () => process.env.PGWORK_SUITE_APP ?? resolve('src/app.ts');

/**
 * The example's app. Jest maps APP_MODULE with moduleNameMapper and runs this
 * file as CommonJS (its sandbox has no import()); Vitest aliases it, which only
 * its import() sees; node:test, Mocha and Bun require the app's file itself
 * (Bun compiles TypeScript, the others through the suite's register module).
 */
export async function loadSuiteApp(): Promise<UrlShortenerApp> {
  // Vitest: a literal specifier (APP_MODULE's value), so Vite's import analysis links the app
  // to every test and watch mode reruns them when the app or its schema changes.
  const loaded = (
    process.env.VITEST
      ? await import('pgwork-suite-app' as string)
      : underJest()
        ? require(APP_MODULE)
        : require(suiteAppPath())
  ) as {
    app?: UrlShortenerApp;
  };
  if (!loaded.app) throw new Error(`${APP_MODULE} must export const app: UrlShortenerApp`);
  loadedApps.add(loaded.app);
  return loaded.app;
}

const loadedApps = new Set<UrlShortenerApp>();

/**
 * Closes the apps this process loaded: where one app serves several files
 * (Mocha, Bun, Vitest with isolate: false), once its files are done. Under
 * serial Mocha that is before the run's end drops the database, which would
 * end the app's idle connections under it (an error event nobody handles).
 */
export async function closeSuiteApps(): Promise<void> {
  const apps = [...loadedApps];
  loadedApps.clear();
  await Promise.all(apps.map((app) => app.close()));
}
