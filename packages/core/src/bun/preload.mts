// Bun: `pgwork run -- bun test --parallel --preload @pgwork/core/bun`. Bun
// evaluates a preload before the test files (under --parallel, before each
// file, in the file's worker process) and applies its hooks to every test:
// the worker's number and database (and services) are set before the app's
// first import, then the database is reset before each test, once for the
// file, or never, as the file's docblock or the resetBefore option says.
import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeEach } from 'bun:test';
import type * as Worker from './worker.js';

const require = createRequire(import.meta.url);
const { bunTestProcess, SETUP_TIMEOUT_MS } = require('./worker.js') as typeof Worker;

const files = await bunTestProcess(process.env);
beforeEach(() => files.beforeTest(Bun.main), SETUP_TIMEOUT_MS);
// Bun tells a hook nothing of the test's outcome: PGWORK_KEEP=failed has nothing to keep.
afterEach(() => files.afterTest(undefined), SETUP_TIMEOUT_MS);
// Serial: once, after the last file; --parallel: after each file.
afterAll(() => files.endFile(), SETUP_TIMEOUT_MS);
