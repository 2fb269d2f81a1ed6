import { defineConfig } from '@playwright/test';
import { withPgwork } from '@pgwork/playwright';
import { rawPg } from '@pgwork/raw-pg';

// A plain Playwright config (4 workers, tests spread over them one by one), wrapped by
// pgwork: each worker gets its own database cloned from a template migrated once from
// ./migrations, and its own app server on that database, which is the tests' baseURL.
export default withPgwork(
  defineConfig({
    testDir: 'e2e',
    workers: 4,
    fullyParallel: true,
    // `pnpm test` runs this beside every other package's tests on a small machine: room for a slow page.
    timeout: 60_000,
    expect: { timeout: 10_000 },
    // Playwright's own browser download cannot run here: Debian's chromium package instead.
    use: { launchOptions: { executablePath: process.env.PGWORK_CHROMIUM ?? '/usr/bin/chromium' } },
  }),
  {
    adapter: rawPg({ migrations: 'migrations' }),
    baseName: 'shortener_playwright',
    // One app server per Playwright worker, on the worker's own database and a port pgwork
    // picks ({port}; also given as PORT).
    webServer: { command: 'node -r esbuild-register src/server.ts', readyUrl: 'http://127.0.0.1:{port}/health' },
  },
);
