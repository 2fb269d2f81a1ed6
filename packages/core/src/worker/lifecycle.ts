import { appendFileSync, readFileSync } from 'node:fs';
import type { Client } from 'pg';
import { SESSION_LOCK_TIMEOUT_MS, connect } from '../shared/connection';
import { oneOf } from '../shared/choices';
import { PgworkError, conciseError } from '../shared/errors';
import { RESET_BEFORE, type ResetBefore } from '../shared/modes';
import { readRunState, type RunState } from '../shared/run-state';
import { resolveWorkerId } from '../shared/worker-id';
import { overwrittenVariables } from './env';
import { keptWorkerSession, type WorkerSession } from './session';
import { appPg, installTransactionMode, type TransactionMode } from './transaction';
import { keepFailedDatabase, keptLine } from './keep-failed';
import { withRealTimers } from './real-timers';
import { assertServicesRunning } from './services';

/**
 * What a runner binding calls around a test file and its tests. Runner-free:
 * each binding (Jest's, Vitest's) registers these as hooks with attachToRunner;
 * the state it reads is the run's.
 */
export interface WorkerLifecycle {
  /**
   * Starts opening the worker's session now, while the runner loads the test
   * file: connecting and planning the reset probe (tens of ms on a big schema,
   * once per worker process) overlap the app's own imports. A warm-up never
   * fails a file: if it failed, beforeFile opens the session again.
   */
  warmUp(): void;
  beforeFile(): Promise<void>;
  beforeTest(): Promise<void>;
  /** After each test; `outcome`: whether it failed, as the runner says (PGWORK_KEEP=failed keeps its database then). */
  afterTest(outcome?: TestOutcome): Promise<void>;
  afterFile(): Promise<void>;
  /** Empty the worker's database now (in "transaction" mode: roll back, empty, begin again). */
  reset(): Promise<void>;
}

/** A finished test as the runner reports it. */
export interface TestOutcome {
  readonly failed: boolean;
  /** Its full name, with its describe blocks. */
  readonly name: string;
}

export interface WorkerLifecycleOptions {
  /** The test file's environment: the one pgwork's setup rewrote. */
  env: NodeJS.ProcessEnv;
  /** The project of a multi-project Jest config the file belongs to (Vitest hands each project's run to its workers itself). */
  project?: string;
  /** The test file, whose docblock may choose when to reset. */
  testPath?: string;
  /**
   * The require the test file's own modules load with (Jest: the file's sandbox
   * registry; Vitest: Node's): reset "transaction" takes the app's `pg` from it,
   * the copy the app's pools come from.
   */
  appRequire: NodeJS.Require;
  /** Where a warning line goes. Default: stderr. */
  warn?: (line: string) => void;
}

// The first comment of the file; TypeScript's CommonJS output puts "use strict" and an __esModule line before it.
const DOCBLOCK =
  /^\s*(?:#![^\n]*\n\s*)?(?:(['"])use strict\1;?\s*)?(?:Object\.defineProperty\(exports, "__esModule", \{ value: true \}\);\s*)?\/\*\*([\s\S]*?)\*\//;
const RESET_BEFORE_PRAGMA = /@pgwork-reset-before[ \t]+(\S+)/;

/**
 * A test file's own choice: `@pgwork-reset-before file` in the docblock at its
 * top (where Jest reads `@jest-environment`), or undefined.
 */
export function resetBeforeOfFile(testPath: string | undefined): ResetBefore | undefined {
  if (!testPath) return undefined;
  let source: string;
  try {
    source = readFileSync(testPath, 'utf8');
  } catch {
    return undefined;
  }
  const value = RESET_BEFORE_PRAGMA.exec(DOCBLOCK.exec(source)?.[2] ?? '')?.[1];
  if (value === undefined) return undefined;
  return oneOf(value, RESET_BEFORE, `${testPath}: @pgwork-reset-before ${value}`, 'test, file or never');
}

/** When this file resets: PGWORK_RESET_BEFORE, else the file's docblock, else the resetBefore option. */
export function resetBeforeFor(state: RunState, testPath: string | undefined): ResetBefore {
  if (state.settings.resetBeforeForced) return state.settings.resetBefore;
  return resetBeforeOfFile(testPath) ?? state.settings.resetBefore;
}

export function workerLifecycle(options: WorkerLifecycleOptions): WorkerLifecycle {
  const warn = options.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
  let state: RunState | undefined;
  let session: WorkerSession | undefined;
  let transactions: TransactionMode | undefined;
  /** reset "transaction": the connection the app's pools share, made with the app's own pg (its rows are the app realm's). */
  let appConnection: Client | undefined;
  let inTransaction = false;
  let when: ResetBefore = 'test';
  /** The session warmUp started, until beforeFile has taken it. */
  let warming: Promise<WorkerSession> | undefined;

  /**
   * The worker's session. A warm-up's attempt is a miss, not an error, when it
   * failed: imports that keep the event loop busy longer than the connect
   * timeout (ts-jest type-checking a big app on a loaded machine) fire its timer
   * as soon as the loop resumes, or let the server close the half-open startup,
   * while the server is up. So the session is opened again, now that the file
   * has loaded; an error then is the server's.
   */
  const openSession = async (runState: RunState, workerId: number): Promise<WorkerSession> => {
    const warm = warming;
    warming = undefined;
    try {
      return await keptWorkerSession(runState, workerId);
    } catch (error) {
      if (!warm) throw error;
      return keptWorkerSession(runState, workerId);
    }
  };

  const begin = async () => {
    if (!transactions) return;
    await transactions.begin();
    inTransaction = true;
  };
  const rollback = async () => {
    if (!transactions || !inTransaction) return;
    inTransaction = false;
    await transactions.rollback();
  };
  const keepFailed = async (name: string) => {
    const reader = inTransaction && appConnection ? appConnection : session!.client;
    const outcome = await keepFailedDatabase(state!, resolveWorkerId(options.env), reader, name);
    warn('kept' in outcome ? keptLine(name, outcome.kept) : `pgwork: ${outcome.skipped}.`);
  };
  // Even with transactions: restarts sequences a rolled-back test advanced, and empties what a second connection committed.
  const emptyThenBegin = async () => {
    await session!.reset();
    await begin();
  };

  return {
    warmUp() {
      try {
        warming = keptWorkerSession(readRunState(options.env, options.project), resolveWorkerId(options.env));
      } catch {
        return; // beforeFile says what is wrong
      }
      warming.catch(() => undefined);
    },
    async beforeFile() {
      state = readRunState(options.env, options.project);
      const workerId = resolveWorkerId(options.env);
      when = resetBeforeFor(state, options.testPath);
      const { settings } = state;
      const overwritten = settings.checkEnv === 'off' ? undefined : overwrittenVariables(state, workerId, options.env);
      if (overwritten && settings.checkEnv === 'warn') warn(`pgwork: ${overwritten}`);
      else if (overwritten) throw new PgworkError('ENV_OVERWRITTEN', overwritten);
      assertServicesRunning();
      session = await openSession(state, workerId);
      if (settings.reset === 'transaction') {
        const pg = appPg(options.appRequire, settings.rootDir);
        appConnection = await connect(
          session.url,
          { source: session.source, lockTimeoutMs: SESSION_LOCK_TIMEOUT_MS },
          pg.Client,
        );
        transactions = installTransactionMode(pg, appConnection);
      }
      if (when === 'file') await emptyThenBegin();
      else if (when === 'never') await begin();
    },
    async beforeTest() {
      assertServicesRunning();
      if (when === 'test') await emptyThenBegin();
    },
    async afterTest(outcome) {
      // Before the rollback: in transaction mode the failed test's rows live in its open transaction.
      if (outcome?.failed && state?.settings.keepFailed) await keepFailed(outcome.name);
      // Throws, failing the test, when the rollback's check finds a deferred constraint it left violated.
      if (when === 'test') await rollback();
    },
    async afterFile() {
      try {
        await rollback();
      } finally {
        transactions?.uninstall();
        transactions = undefined;
        await appConnection?.end().catch(() => undefined);
        appConnection = undefined;
        // The session stays open for this worker's next test file (keptWorkerSession).
        session = undefined;
      }
    },
    async reset() {
      if (!session)
        throw new PgworkError(
          'NO_RUN',
          'reset() was called before pgwork connected this test file; call it inside a test or a beforeAll/beforeEach hook.',
        );
      const wasOpen = inTransaction;
      // A deferred constraint the rollback found violated fails the caller, once the database is ready again.
      const violation = await rollback().then(
        () => undefined,
        (error: unknown) => error,
      );
      await session.reset();
      if (wasOpen) await begin();
      if (violation) throw violation;
    },
  };
}

/** A runner's per-file hooks (Jest's and Vitest's have this shape; Vitest passes a test's context to its hooks). */
type Hook = (fn: (...context: unknown[]) => Promise<void>, timeout?: number) => void;

/** Connecting or cloning on a cold machine can take long; a stuck lock says so itself well before this. */
export const SETUP_TIMEOUT_MS = 120_000;

/**
 * What both runner bindings do with a test file's lifecycle: register it for
 * reset() on the test file's own global `scope` (under Jest the sandbox's, not
 * the one this module sees), start opening the session while the file loads, and hook its steps to
 * the runner's hooks, pgwork's own errors shown as their one line, without a stack.
 */
export function attachToRunner(
  lifecycle: WorkerLifecycle,
  hooks: { beforeAll: Hook; beforeEach: Hook; afterEach: Hook; afterAll: Hook },
  scope: object,
  /** How the runner says a test failed: from afterEach's arguments (Vitest's context), or what it recorded (Jest). */
  outcomeOf: (...context: unknown[]) => TestOutcome | undefined = () => undefined,
): void {
  registerWorker(lifecycle, scope);
  lifecycle.warmUp();
  const timings = process.env[TIMINGS_VARIABLE];
  const hook = (name: string, step: () => Promise<void>) => async () => {
    const started = performance.now();
    await withRealTimers(step).catch((error: unknown) => Promise.reject(conciseError(error)));
    if (timings)
      recordTiming(timings, {
        step: name,
        worker: resolveWorkerId(process.env),
        pid: process.pid,
        ms: performance.now() - started,
      });
  };
  hooks.beforeAll(hook('beforeFile', lifecycle.beforeFile), SETUP_TIMEOUT_MS);
  hooks.beforeEach(hook('beforeTest', lifecycle.beforeTest), SETUP_TIMEOUT_MS);
  // Rest parameters keep the function's length 0: Jest takes a hook with a parameter for a done-callback one.
  hooks.afterEach(
    (...context) => hook('afterTest', () => lifecycle.afterTest(outcomeOf(...context)))(),
    SETUP_TIMEOUT_MS,
  );
  hooks.afterAll(hook('afterFile', lifecycle.afterFile), SETUP_TIMEOUT_MS);
}

/** A file each worker appends one JSON line to per pgwork step it ran (step, worker, pid, ms): what `pnpm bench` reads. */
export const TIMINGS_VARIABLE = 'PGWORK_TIMINGS';

function recordTiming(file: string, line: object): void {
  try {
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new PgworkError(
      'INVALID_OPTION',
      `${TIMINGS_VARIABLE}=${file} cannot be appended to (${reason}); point it at a writable file or unset it.`,
    );
  }
}

const WORKER = Symbol.for('pgwork.worker');

/** Where a test file's reset() finds its worker: the test file's own global, which the binding's setup file shares. */
export function registerWorker(lifecycle: WorkerLifecycle | undefined, scope: object = globalThis): void {
  (scope as Record<symbol, WorkerLifecycle | undefined>)[WORKER] = lifecycle;
}

/**
 * Empties the worker's database now, as pgwork does before each test: for
 * suites with `resetBefore: "never"` (or "file") that reset at points of their own.
 */
export async function reset(): Promise<void> {
  const lifecycle = (globalThis as Record<symbol, WorkerLifecycle | undefined>)[WORKER];
  if (!lifecycle) {
    throw new PgworkError(
      'NO_RUN',
      "reset() found no pgwork worker in this test file: call it inside a test or a beforeEach hook (under Playwright, pgwork opens a file at its first test, after beforeAll), and wrap your runner's config with withPgwork(...) so pgwork's setup runs.",
    );
  }
  await withRealTimers(() => lifecycle.reset());
}
