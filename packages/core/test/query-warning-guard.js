// Makes pg's warning that a client was handed a query while it was still running
// one an error in pgwork's own test runs. pg 8 queues such a query and warns once
// per process ("DeprecationWarning: Calling client.query() when the client is
// already executing a query"); pg 9 removes the queue. pgwork must never do it.
//
// jest.config.js installs this in Jest's own process (globalSetup and
// globalTeardown run there) and puts `--require` of this file in NODE_OPTIONS,
// so every process started after it loads it too: Jest's workers, the fixture
// runs tests spawn, their runners' workers, the CLI. There the warning is thrown
// where it is emitted (inside client.query(), as --throw-deprecation would, for
// this warning only), so the code that queued fails, and it is recorded in the
// file TEST_PG_QUERY_WARNINGS names, which the run's globalTeardown reads: a
// warning whose error someone caught, or a fixture run a test expected to fail,
// still fails the run.
const { appendFileSync } = require('node:fs');

const QUEUED_QUERY = /client\.query\(\) when the client is already executing a query/;
/** Not PGWORK_*: helpers strip those from fixture runs' environments. */
const RECORD = 'TEST_PG_QUERY_WARNINGS';
const INSTALLED = Symbol.for('pgwork.test.queryWarningGuard');

function install() {
  if (process[INSTALLED]) return;
  process[INSTALLED] = true;
  const emitWarning = process.emitWarning;
  process.emitWarning = function guardedEmitWarning(warning, ...rest) {
    const message = typeof warning === 'string' ? warning : warning?.message;
    if (QUEUED_QUERY.test(String(message))) {
      const error = new Error(`pg: ${message}`);
      error.name = 'DeprecationWarning';
      Error.captureStackTrace(error, guardedEmitWarning);
      record(error);
      throw error;
    }
    return emitWarning.call(this, warning, ...rest);
  };
}

function record(error) {
  const file = process.env[RECORD];
  const line = `${JSON.stringify({ pid: process.pid, argv: process.argv.slice(1, 4), stack: error.stack })}\n`;
  process.stderr.write(`query-warning-guard: ${error.stack}\n`);
  if (!file) return;
  try {
    appendFileSync(file, line);
  } catch {
    // The run that made the file is over: the thrown error is all that is left.
  }
}

/** The warnings recorded in `file`, one per process that saw it. */
function recorded(file) {
  try {
    return require('node:fs')
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
  } catch (error) {
    if (error.code === 'ENOENT') return [];
    throw error;
  }
}

module.exports = { install, recorded, RECORD, QUEUED_QUERY };

install();
