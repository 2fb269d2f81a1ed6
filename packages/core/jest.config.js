const { randomUUID } = require('node:crypto');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const guard = require('./test/query-warning-guard');

// pg's warning of a query handed to a busy client fails the run, in this process and every one it starts.
// The record's file is made only by a process that saw one (loading this config leaves nothing behind).
process.env[guard.RECORD] ??= join(tmpdir(), `pgwork-query-warnings-${randomUUID()}.jsonl`);
const preload = `--require ${JSON.stringify(require.resolve('./test/query-warning-guard'))}`;
if (!process.env.NODE_OPTIONS?.includes(preload))
  process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, preload].filter(Boolean).join(' ');

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  // One real Postgres for the whole run (embedded unless PGWORK_DATABASE_URL is set).
  globalSetup: '<rootDir>/dist/testing/global-setup.js',
  // Stops it, then fails the run if any process of it saw pg's queued-query warning.
  globalTeardown: '<rootDir>/test/global-teardown.js',
  maxWorkers: 2,
  // Wall time, and a loaded machine is slow: at a load average of 35 to 46 on 2 cores a test of
  // one fixture run and seven CLI runs took 116 s. Those block the event loop (spawnSync), so the
  // timeout fires only after them, on a test that was moving all along.
  testTimeout: 300_000,
};
