// @pgwork/core/adapter: what an adapter package is built from. The contract
// (describe, migrate, optional reset), the config helper, fingerprint
// hashing, the child-process helper for running a project's own code, and
// errors. The conformance kit is @pgwork/core/conformance, for tests.
export {
  adapterHelper,
  type Adapter,
  type AdapterContext,
  type AdapterDescription,
  type AdapterFactory,
  type AdapterReference,
  type MigrationTarget,
} from './shared/adapter';
export type { IsolationMode, ResetMode } from './shared/modes';
export {
  globFiles,
  hashDirectory,
  hashFiles,
  hashParts,
  listFiles,
  requireDirectory,
  requireFile,
} from './shared/fingerprint';
export { installedPackage, type InstalledPackage } from './shared/packages';
export {
  ChildError,
  PLACEHOLDER_DATABASE_URL,
  childFile,
  childMain,
  runChild,
  runProcess,
  type ChildOptions,
  type ProcessResult,
} from './shared/child';
export { adapterChoice, oneOf } from './shared/choices';
export { pickExport, type WantedExport } from './shared/module-export';
export { applyScripts, rewritingClient, type Ledger, type MigrationScript } from './shared/scripts';
export { PgworkError, describeDatabaseError } from './shared/errors';
export { currentWorkerUrl } from './worker/env';
