import { relative } from 'node:path';
import { withPgwork } from '@pgwork/core/vitest';
import { suiteVitestConfig } from '@pgwork/parallel-suite/vitest';
import { rawPg } from '@pgwork/raw-pg';

// A Redis server per worker (Debian's redis-server), started by pgwork before the worker's first
// test file on a port of its own, named to the tests in REDIS_PORT, stopped when the run ends: a
// test can FLUSHALL without touching another worker's keys. The same in jest.config.ts.
const perWorkerRedis = {
  redis: {
    command: "redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no",
    env: { REDIS_PORT: '{port}' },
  },
};

const suite = suiteVitestConfig({ rootDir: import.meta.dirname, app: 'src/app.ts' });

// The same shared suite under Vitest (4 workers), and this example's own Redis tests in test/
// (include is relative to the suite's directory), wrapped by pgwork the same way as
// jest.config.ts: each worker gets its own database cloned from one template, and its own Redis.
export default withPgwork(
  {
    ...suite,
    test: {
      ...suite.test,
      include: [...suite.test.include, `${relative(suite.test.dir, import.meta.dirname)}/test/**/*.test.ts`],
    },
  },
  {
    adapter: rawPg({ migrations: 'migrations' }),
    baseName: 'shortener_raw',
    services: perWorkerRedis,
  },
);
