// Mocha runs the shared suite (`mocha --parallel`) with pgwork's root hooks; options in pgwork.config.cjs.
module.exports = require('@pgwork/parallel-suite/mocha-config').suiteMochaConfig();
