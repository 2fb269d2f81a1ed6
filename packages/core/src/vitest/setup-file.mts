// Vitest setupFiles: runs in the worker before each test file and before any
// app module is imported, so an app that reads DATABASE_URL at import sees its
// worker's database; then resets it before each test, once for the file, or
// never, as the file's docblock or the resetBefore option says. pgwork itself
// is loaded with Node's require: one kept session per worker process or thread.
import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, beforeEach, expect, inject } from 'vitest';
import type * as Worker from './worker.js';
import type * as Wiring from './wiring.js';
import type * as Lifecycle from '../worker/lifecycle.js';
import type * as Services from '../worker/services.js';

const require = createRequire(import.meta.url);
const { vitestWorker } = require('./worker.js') as typeof Worker;
const { attachToRunner } = require('../worker/lifecycle.js') as typeof Lifecycle;
const { STATE_KEY } = require('./wiring.js') as typeof Wiring;
const { startWorkerServices } = require('../worker/services.js') as typeof Services;

const lifecycle = vitestWorker(inject(STATE_KEY as never), expect.getState().testPath);
// Before the test file is imported: its services running, their variables set (the services option).
await startWorkerServices(process.env);
attachToRunner(lifecycle, { beforeAll, beforeEach, afterEach, afterAll }, globalThis, (context) => {
  const task = (context as { task?: { name: string; fullName?: string; result?: { state?: string } } } | undefined)
    ?.task;
  return task && { failed: task.result?.state === 'fail', name: task.fullName ?? task.name };
});
