// pgwork's options for this example: read by `pgwork run` (node:test, Bun) and
// by Mocha's binding, and imported by jest.config.ts and vitest.config.mts.
const { kysely } = require('@pgwork/kysely');

module.exports = { adapter: kysely({ migrations: 'migrations' }), baseName: 'shortener_kysely' };
