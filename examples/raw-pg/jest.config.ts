/** @jest-config-loader esbuild-register */
import { withPgwork } from '@pgwork/core';
import { suiteConfig } from '@pgwork/parallel-suite/jest';
import { rawPg } from '@pgwork/raw-pg';

// A Redis server per worker (Debian's redis-server), started by pgwork before the worker's first
// test file on a port of its own, named to the tests in REDIS_PORT, stopped when the run ends: a
// test can FLUSHALL without touching another worker's keys. The same in vitest.config.mts.
const perWorkerRedis = {
  redis: {
    command: "redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no",
    env: { REDIS_PORT: '{port}' },
  },
};

const suite = suiteConfig({ rootDir: __dirname, app: 'src/app.ts' });

// The plain config (the shared suite, 4 workers, and this example's own Redis tests in test/),
// wrapped by pgwork: each worker gets its own database cloned from a template migrated once
// from ./migrations, and its own Redis server.
export default withPgwork(
  {
    ...suite,
    roots: [...suite.roots, '<rootDir>/test'],
    testMatch: [...suite.testMatch, '<rootDir>/test/**/*.test.ts'],
  },
  {
    adapter: rawPg({ migrations: 'migrations' }),
    baseName: 'shortener_raw',
    services: perWorkerRedis,
  },
);
