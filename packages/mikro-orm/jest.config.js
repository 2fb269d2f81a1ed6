module.exports = require('@pgwork/core/testing').adapterTestJestConfig();
