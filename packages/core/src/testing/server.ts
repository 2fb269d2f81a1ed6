// Test support for pgwork's own suites (core and the adapters): one real
// Postgres per test run (Jest or Vitest), the embedded one unless
// PGWORK_DATABASE_URL names a server, and scratch databases on it. Tests read
// PGWORK_TEST_SERVER_URL.
import type { Client } from 'pg';
import type { Adapter } from '../shared/adapter';
import { compiledFile } from '../shared/child';
import { connect, withClient } from '../shared/connection';
import { dropOwnedDatabase, ensureDatabase } from '../admin/databases';
import { startEmbeddedPostgres, type EmbeddedServer } from '../setup/embedded';
import { lock } from '../shared/locks';
import { databaseUrl, newRunId } from '../shared/naming';
import type { RunConfig } from '../setup/run';
import { resolveOptions } from '../setup/options';

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
  if (!url)
    throw new Error(
      `${TEST_SERVER_VARIABLE} is not set: add @pgwork/core/testing/global-setup as the Jest globalSetup (adapterTestJestConfig), or use adapterTestVitestConfig under Vitest.`,
    );
  return url;
}

/** A connection to the (test) server's maintenance database. */
export function testAdminClient(serverUrl = testServerUrl()): Promise<Client> {
  return connect(databaseUrl(serverUrl, 'postgres'), { source: TEST_SERVER_VARIABLE });
}

/**
 * Runs `work` on a fresh, empty, pgwork-marked database and drops it afterwards.
 * The database belongs to a run whose lease is held meanwhile, so a run starting
 * in a parallel test file never reclaims it.
 */
export async function withScratchDatabase<T>(
  work: (url: string, database: string) => Promise<T>,
  serverUrl = testServerUrl(),
): Promise<T> {
  const runId = newRunId();
  const database = `scratch_${runId}`;
  const admin = await testAdminClient(serverUrl);
  try {
    await lock(admin, `run:${runId}`);
    await ensureDatabase(admin, database, {
      marker: { kind: 'worker', run: runId, created: new Date().toISOString() },
    });
    try {
      return await work(databaseUrl(serverUrl, database), database);
    } finally {
      await dropOwnedDatabase(admin, database);
    }
  } finally {
    await admin.end();
  }
}

/** Runs the adapter's migrate on a database, with a connection pgwork opens and closes, as a run does. */
export function migrateInto(adapter: Adapter, url: string, database: string, schema?: string): Promise<void> {
  return withClient(url, {}, (client) => adapter.migrate({ url, database, client, schema }));
}

export { connect, withClient } from '../shared/connection';

/**
 * The Vitest config of an adapter package's own tests (`vitest.config.mts`: `export default adapterTestVitestConfig()`):
 * the kit's describe/it/expect as globals, one test server for the run.
 */
export function adapterTestVitestConfig() {
  return {
    test: {
      include: ['test/**/*.test.ts'],
      globals: true,
      globalSetup: [compiledFile(__dirname, 'vitest-global-setup.mjs')],
      testTimeout: 120_000,
      hookTimeout: 120_000,
    },
  };
}

/** The Jest config of an adapter package's own tests. */
export function adapterTestJestConfig() {
  return {
    testEnvironment: 'node',
    roots: ['<rootDir>/test'],
    transform: { '^.+\\.ts$': 'ts-jest' },
    globalSetup: require.resolve('./global-setup'),
    globalTeardown: require.resolve('./global-teardown'),
    testTimeout: 120_000,
  };
}

/**
 * A valid base name that is the same on every run of a suite ("typeorm (migrations)" ->
 * "conf_se_typeorm_migrations"), for runs on a server that outlives them (the kept embedded
 * cluster): warm runs reuse the template, and template collection bounds what piles up,
 * where a name per run would leave one template behind each time.
 */
export function stableBaseName(prefix: string, suite: string): string {
  const slug = suite
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');
  return `${prefix}_${slug}`.slice(0, 40).replace(/_+$/, '');
}

/**
 * A complete run config for tests: the defaults resolveOptions gives a config
 * that sets nothing, the test server, one worker. `server: { url: undefined }`
 * starts an embedded one.
 */
export function testRunConfig(adapter: Adapter, baseName: string, overrides: Partial<RunConfig> = {}): RunConfig {
  // No option set and no variable read; resolveOptions wants a reference where the adapter itself goes below.
  const defaults = resolveOptions({ adapter: { module: adapter.name, options: {} } }, {});
  return {
    ...defaults,
    adapter,
    rootDir: process.cwd(),
    baseName,
    server: overrides.server ?? { url: testServerUrl(), source: TEST_SERVER_VARIABLE },
    workers: 1,
    workerIds: [1],
    ...overrides,
  };
}
