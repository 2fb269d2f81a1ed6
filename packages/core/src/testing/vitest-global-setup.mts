// Vitest globalSetup for pgwork's and adapters' own test suites (the twin of
// global-setup/global-teardown for Jest): one real Postgres for the run, its
// URL in PGWORK_TEST_SERVER_URL, which both pools' workers inherit.
import { createRequire } from 'node:module';
import type * as Server from './server.js';

const require = createRequire(import.meta.url);
const { startTestServer, stopTestServer } = require('./server.js') as typeof Server;

export default async function setup(): Promise<() => Promise<void>> {
  await startTestServer();
  return stopTestServer;
}
