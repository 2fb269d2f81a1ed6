const { rmSync } = require('node:fs');
const { basename } = require('node:path');
const stopTestServer = require('../dist/testing/global-teardown.js');
const { RECORD, recorded } = require('./query-warning-guard');

/** The test server stopped, then the run failed if any of its processes handed a busy pg client a query. */
module.exports = async function globalTeardown() {
  await stopTestServer();
  const file = process.env[RECORD];
  if (!file) return;
  const warnings = recorded(file);
  // The file jest.config.js named, never one a caller did.
  if (basename(file).startsWith('pgwork-query-warnings-')) rmSync(file, { force: true });
  if (warnings.length === 0) return;
  const where = warnings.map((warning) => `process ${warning.pid} (${warning.argv.join(' ')}):\n${warning.stack}`);
  throw new Error(
    `${warnings.length} process(es) of this run called client.query() on a pg client still executing a query (pg 8 queues it with a DeprecationWarning, pg 9 removes the queue): run the queries one after another, or on clients of their own.\n\n${where.join('\n\n')}`,
  );
};
