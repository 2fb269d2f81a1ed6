// pgwork's options for this example: read by `pgwork run` (node:test, Bun) and
// by Mocha's binding, and imported by jest.config.ts and vitest.config.mts.
const { rawPg } = require('@pgwork/raw-pg');

module.exports = {
  adapter: rawPg({ migrations: 'migrations' }),
  baseName: 'shortener_raw',
  // A Redis server per worker (its tests call FLUSHALL): started before the worker's first file.
  services: {
    redis: {
      command: "redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no",
      env: { REDIS_PORT: '{port}' },
    },
  },
};
