export { PgworkError, maskUrl, describeDatabaseError, type PgworkErrorCode } from './errors';
export { resolveWorkerId } from './worker';
export {
  DEFAULT_BASE_NAME,
  MAX_BASE_NAME_LENGTH,
  validateBaseName,
  assertDatabaseName,
  workerDatabaseName,
  templateDatabaseName,
  sharedDatabaseName,
  databaseUrl,
  databaseOfUrl,
  newRunId,
} from './naming';
export { connect, withClient, serverMajorVersion, APPLICATION_NAME } from './connection';
export {
  ensureDatabase,
  dropOwnedDatabase,
  describeDatabase,
  listOwnedDatabases,
  terminateSessions,
  formatMarker,
  parseMarker,
  type DatabaseMarker,
  type DatabaseInfo,
} from './databases';
export { lock, unlock, withLock, isLockHeld } from './locks';
export { hashParts, hashFiles, hashDirectory, listFiles, requireDirectory, globFiles } from './fingerprint';
export {
  adapterHelper,
  loadAdapter,
  validateAdapter,
  type Adapter,
  type AdapterContext,
  type AdapterFactory,
  type AdapterReference,
  type MigrationTarget,
} from './adapter';
export {
  Resetter,
  resetDatabase,
  applicationTables,
  qualifiedName,
  DELETE_ROW_LIMIT,
  type ResetOptions,
  type ResetStrategy,
  type ApplicationTable,
} from './reset';
export { ensureTemplate, templateFingerprint, CORE_VERSION } from './template';
export { startEmbeddedPostgres, embeddedBaseDirectory, EMBEDDED_SETTINGS, type EmbeddedServer } from './embedded';
export { resolveOptions, type PgworkOptions, type ResolvedOptions, type ResetBefore } from './options';
export {
  startRun,
  reclaimDeadRuns,
  RUN_STATE_VARIABLE,
  type Run,
  type RunConfig,
  type RunResult,
  type RunState,
  type RunSummary,
} from './run';
export { openWorkerSession, workerDatabase, applyWorkerEnvironment, type WorkerSession } from './worker-session';
export { readRunState, startRunGroup, workerServer, type RunGroup } from './run-group';
export { runStateVariable } from './run';
export { withPgwork, entryPoints, type JestConfigLike } from './jest/config';
export { runProcess, typescriptLoaderArgs, childAnswer, CHILD_ANSWER, type ProcessResult } from './process';
export { installedPackage, type InstalledPackage } from './packages';
export { loadSeed, type Seed } from './seed';
export { installTransactionMode, type TransactionMode } from './transaction';
export { reset, workerLifecycle, resetBeforeOfFile, type WorkerLifecycle } from './worker-lifecycle';
