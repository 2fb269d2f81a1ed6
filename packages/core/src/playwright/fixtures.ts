import { PgworkError, conciseError } from '../shared/errors';
import { RUN_STATE_VARIABLE, readRunState } from '../shared/run-state';
import { lastOutput } from '../shared/services';
import { applyWorkerEnvironment } from '../worker/env';
import { lifecycleByFile } from '../worker/files';
import { withRealTimers } from '../worker/real-timers';
import { startWorkerServices, stopWorkerServices, type RunningService } from '../worker/services';
import { WEB_SERVER } from './wiring';

/** The worker's own app server (pgwork's `webServer` option). */
export interface PgworkWebServer {
  /** Its origin, http://127.0.0.1:<port>: the tests' baseURL. */
  readonly url: string;
  readonly port: number;
  /** The last lines it printed. */
  output(): string;
}

/** Worker-scoped fixtures pgwork adds. */
export interface PgworkWorkerFixtures {
  /** This worker's database, as DATABASE_URL (and the `env` option's variables) name it in the worker. */
  databaseUrl: string;
  /** This worker's app server, when the config has pgwork's `webServer`; else undefined. */
  webServer: PgworkWebServer | undefined;
}

/** What the worker fixture holds for the others. */
interface PgworkWorker {
  readonly databaseUrl: string;
  readonly webServer: PgworkWebServer | undefined;
  readonly services: readonly RunningService[];
}

interface TestInfoLike {
  readonly file: string;
  readonly titlePath: readonly string[];
  readonly status?: string;
  readonly expectedStatus: string;
  attach(name: string, options: { body: string; contentType: string }): Promise<void>;
}

type Use<T> = (value: T) => Promise<void>;

/**
 * Worker N is Playwright's parallelIndex + 1: the same for a worker Playwright
 * starts to replace one that failed, which finds its database as every test
 * does (emptied first) and starts an app server of its own. Set when this
 * module loads, before the test file's own code, so a module of the test that
 * reads DATABASE_URL at import sees the worker's database.
 */
function prepareWorker(env: NodeJS.ProcessEnv): string | PgworkError {
  try {
    if (env.TEST_PARALLEL_INDEX === undefined) {
      throw new PgworkError('NO_RUN', "pgwork's Playwright fixtures run in Playwright's workers only.");
    }
    if (!env[RUN_STATE_VARIABLE]) {
      throw new PgworkError(
        'NO_RUN',
        `${RUN_STATE_VARIABLE} is not set, so pgwork's global setup did not run; wrap your Playwright config with withPgwork(...) from '@pgwork/playwright'.`,
      );
    }
    env.PGWORK_WORKER_ID = String(Number(env.TEST_PARALLEL_INDEX) + 1);
    return applyWorkerEnvironment(env);
  } catch (error) {
    return conciseError(error) as PgworkError;
  }
}

const prepared = process.env.TEST_PARALLEL_INDEX === undefined ? undefined : prepareWorker(process.env);

/** A worker's setup may clone its database and start its services: their own timeouts, and room to connect. */
function workerSetupTimeout(): number {
  try {
    const services = readRunState(process.env).settings.services ?? [];
    return services.reduce((sum, service) => sum + service.timeoutMs, 120_000);
  } catch {
    return 120_000;
  }
}

const webServerOf = (services: readonly RunningService[]): PgworkWebServer | undefined => {
  const service = services.find((running) => running.name === WEB_SERVER);
  return (
    service && {
      url: `http://127.0.0.1:${service.port}`,
      port: service.port,
      output: () => lastOutput(service.log, 50),
    }
  );
};

/** One test file's lifecycle at a time: a Playwright worker runs a file's tests, then the next file's. */
const files = lifecycleByFile(process.env, require);

const step = <T>(work: () => Promise<T>) =>
  withRealTimers(work).catch((error: unknown) => Promise.reject(conciseError(error)));

/**
 * The fixtures `@pgwork/playwright` extends Playwright's `test` with (typed there):
 * the worker's database and app server, baseURL pointed at it, and the reset
 * before each test (or file, or never: `resetBefore`, a file's docblock).
 */
export function pgworkFixtures() {
  const setupTimeout = workerSetupTimeout();
  return {
    _pgworkWorker: [
      // biome-ignore lint/correctness/noEmptyPattern: Playwright reads a fixture's dependencies from this pattern
      async ({}, use: Use<PgworkWorker>) => {
        const databaseUrl = prepared ?? prepareWorker(process.env);
        if (typeof databaseUrl !== 'string') throw databaseUrl;
        const state = readRunState(process.env);
        if (state.settings.reset === 'transaction' && state.settings.services?.some((s) => s.name === WEB_SERVER)) {
          throw new PgworkError(
            'INVALID_OPTION',
            'reset "transaction" rolls back only what the test process writes, and the web server writes from its own process, where it commits; use reset "empty" (the default) with webServer.',
          );
        }
        const services = await step(() => startWorkerServices(process.env));
        try {
          await use({ databaseUrl, webServer: webServerOf(services), services });
        } finally {
          await files.endFile().finally(() => step(stopWorkerServices));
        }
      },
      { scope: 'worker', auto: true, box: true, timeout: setupTimeout },
    ],
    databaseUrl: [
      async ({ _pgworkWorker }: { _pgworkWorker: PgworkWorker }, use: Use<string>) => use(_pgworkWorker.databaseUrl),
      { scope: 'worker' },
    ],
    webServer: [
      async ({ _pgworkWorker }: { _pgworkWorker: PgworkWorker }, use: Use<PgworkWebServer | undefined>) =>
        use(_pgworkWorker.webServer),
      { scope: 'worker' },
    ],
    baseURL: async (
      { baseURL, _pgworkWorker }: { baseURL: string | undefined; _pgworkWorker: PgworkWorker },
      use: Use<string | undefined>,
    ) => use(_pgworkWorker.webServer?.url ?? baseURL),
    _pgworkTest: [
      async ({ _pgworkWorker }: { _pgworkWorker: PgworkWorker }, use: Use<void>, testInfo: TestInfoLike) => {
        await files.beforeTest(testInfo.file);
        await use();
        const failed = testInfo.status !== testInfo.expectedStatus;
        if (failed) {
          for (const service of _pgworkWorker.services) {
            const output = lastOutput(service.log, 50);
            const name = service.name === WEB_SERVER ? 'web server output' : `service "${service.name}" output`;
            if (output) await testInfo.attach(name, { body: output, contentType: 'text/plain' });
          }
        }
        await files.afterTest({ failed, name: testInfo.titlePath.slice(1).join(' > ') });
      },
      { auto: true, box: true, timeout: 120_000 },
    ],
  };
}
