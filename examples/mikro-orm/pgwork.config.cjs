// pgwork's options for this example: read by `pgwork run` (node:test, Bun) and
// by Mocha's binding, and imported by jest.config.ts and vitest.config.mts.
const { mikroOrm } = require('@pgwork/mikro-orm');

module.exports = { adapter: mikroOrm(), baseName: 'shortener_mikro_orm' };
