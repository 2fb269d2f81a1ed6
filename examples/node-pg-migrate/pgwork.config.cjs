// pgwork's options for this example: read by `pgwork run` (node:test, Bun) and
// by Mocha's binding, and imported by jest.config.ts and vitest.config.mts.
const { nodePgMigrate } = require('@pgwork/node-pg-migrate');

module.exports = { adapter: nodePgMigrate({ migrations: 'migrations' }), baseName: 'shortener_node_pg_migrate' };
