// pgwork's options for this example: read by `pgwork run` (node:test, Bun) and
// by Mocha's binding, and imported by jest.config.ts and vitest.config.mts.
const { sequelize } = require('@pgwork/sequelize');

module.exports = { adapter: sequelize({ sequelize: 'src/db.ts' }), baseName: 'shortener_sequelize' };
