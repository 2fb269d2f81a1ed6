// @pgwork/core/adapter: what an adapter package is built from. The contract
// (describe, migrate, optional reset) and its types, the config helper,
// fingerprint hashing, the child-process helper for running a project's own
// code, migration scripts, and errors: what an adapter imports, and nothing it
// does not (an export here is one to keep stable). The conformance kit is
// @pgwork/core/conformance, for tests; the mode types are @pgwork/core's.
export {
  adapterHelper,
  type Adapter,
  type AdapterContext,
  type AdapterDescription,
  type AdapterReference,
  type MigrationTarget,
} from './shared/adapter';
export {
  globFiles,
  hashDirectory,
  hashFiles,
  hashParts,
  listFiles,
  requireDirectory,
  requireFile,
} from './shared/fingerprint';
export { installedPackage } from './shared/packages';
export { childFile, childMain, loadedProjectFiles, runChild, runProcess } from './shared/child';
export { adapterChoice } from './shared/choices';
export { pickExport } from './shared/module-export';
export { applyScripts, rewritingClient, type Ledger } from './shared/scripts';
export { PgworkError, describeDatabaseError } from './shared/errors';
export { currentWorkerUrl } from './worker/env';
