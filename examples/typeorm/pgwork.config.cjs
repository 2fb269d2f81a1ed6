// pgwork's options for this example: read by `pgwork run` (node:test, Bun) and
// by Mocha's binding, and imported by jest.config.ts and vitest.config.mts.
const { typeorm } = require('@pgwork/typeorm');

module.exports = { adapter: typeorm({ dataSource: 'src/data-source.ts' }), baseName: 'shortener_typeorm' };
