// pgwork's options for this example: read by `pgwork run` (node:test, Bun) and
// by Mocha's binding, and imported by jest.config.ts and vitest.config.mts.
const { prisma } = require('@pgwork/prisma');

module.exports = { adapter: prisma(), baseName: 'shortener_prisma' };
