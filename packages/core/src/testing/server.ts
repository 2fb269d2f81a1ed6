// Jest globalSetup/globalTeardown for pgwork's own test suites (core and the
// adapters): one real Postgres per test run, the embedded one unless
// PGWORK_DATABASE_URL names a server. Tests read PGWORK_TEST_SERVER_URL.
import { startEmbeddedPostgres, type EmbeddedServer } from '../embedded';

export const TEST_SERVER_VARIABLE = 'PGWORK_TEST_SERVER_URL';
const SERVER = Symbol.for('pgwork.testServer');

export async function startTestServer(): Promise<void> {
  const given = process.env.PGWORK_DATABASE_URL;
  if (given) {
    process.env[TEST_SERVER_VARIABLE] = given;
    return;
  }
  const server = await startEmbeddedPostgres();
  (globalThis as Record<symbol, EmbeddedServer>)[SERVER] = server;
  process.env[TEST_SERVER_VARIABLE] = server.url;
}

export async function stopTestServer(): Promise<void> {
  const slot = globalThis as Record<symbol, EmbeddedServer | undefined>;
  await slot[SERVER]?.stop();
  slot[SERVER] = undefined;
}

/** Inside a test: the server's URL, or a clear error when the test server setup is missing. */
export function testServerUrl(): string {
  const url = process.env[TEST_SERVER_VARIABLE];
  if (!url) throw new Error(`${TEST_SERVER_VARIABLE} is not set: add @pgwork/core/testing/global-setup as the Jest globalSetup.`);
  return url;
}
