// Jest setupFilesAfterEnv: ensures the worker's database before the file's
// first test and resets it before each test. Jest gives every test file a fresh
// global, so the session lives per file; opening it again is one connection,
// because the database already exists after the worker's first file.
import { openWorkerSession, readRunState, type WorkerSession } from '../worker-session';
import { conciseError } from './global-setup';

declare const beforeAll: (fn: () => Promise<void>, timeout?: number) => void;
declare const beforeEach: (fn: () => Promise<void>, timeout?: number) => void;
declare const afterAll: (fn: () => Promise<void>, timeout?: number) => void;

const SETUP_TIMEOUT_MS = 120_000;
let session: WorkerSession | undefined;

beforeAll(async () => {
  session = await openWorkerSession(readRunState(process.env)).catch((error: unknown) => Promise.reject(conciseError(error)));
}, SETUP_TIMEOUT_MS);

beforeEach(async () => {
  await session?.reset().catch((error: unknown) => Promise.reject(conciseError(error)));
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await session?.close();
  session = undefined;
});
