// Jest setupFilesAfterEnv: ensures the worker's database before the file's
// first test and resets it before each test. Jest gives every test file a fresh
// global, so the session lives per file; opening it again is one connection,
// because the database already exists after the worker's first file.
import { installTransactionMode, type TransactionMode } from '../transaction';
import { readRunState } from '../run-group';
import { openWorkerSession, type WorkerSession } from '../worker-session';
import { conciseError } from './global-setup';

declare const beforeAll: (fn: () => Promise<void>, timeout?: number) => void;
declare const beforeEach: (fn: () => Promise<void>, timeout?: number) => void;
declare const afterEach: (fn: () => Promise<void>, timeout?: number) => void;
declare const afterAll: (fn: () => Promise<void>, timeout?: number) => void;

const SETUP_TIMEOUT_MS = 120_000;
let session: WorkerSession | undefined;
let transactions: TransactionMode | undefined;

beforeAll(async () => {
  const state = readRunState(process.env);
  const opened = await openWorkerSession(state).catch((error: unknown) => Promise.reject(conciseError(error)));
  session = opened;
  if (state.reset === 'transaction') {
    // The app's own copy of pg: the one its pools come from (Jest's registry, this test file).
    const pg = require(require.resolve('pg', { paths: [state.rootDir] }));
    transactions = installTransactionMode(pg, opened.client);
  }
}, SETUP_TIMEOUT_MS);

beforeEach(async () => {
  // Even with transactions: restarts sequences the rolled-back test advanced, and empties what a second connection committed.
  await session?.reset().catch((error: unknown) => Promise.reject(conciseError(error)));
  await transactions?.begin();
}, SETUP_TIMEOUT_MS);

afterEach(async () => {
  await transactions?.rollback();
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  transactions?.uninstall();
  transactions = undefined;
  await session?.close();
  session = undefined;
});
