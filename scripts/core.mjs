// pgwork's internals for the repo's own scripts (bench, stress, demo), loaded
// from core's build by path: they are not part of any public entry point.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT } from './examples.mjs';

const require = createRequire(import.meta.url);
export const CORE_DIST = join(ROOT, 'packages/core/dist');
const load = (path) => require(join(CORE_DIST, path));

export const core = {
  ...load('shared/naming.js'),
  ...load('shared/connection.js'),
  ...load('shared/fingerprint.js'),
  ...load('shared/child.js'),
  ...load('shared/adapter.js'),
  ...load('shared/packages.js'),
  ...load('admin/databases.js'),
  ...load('setup/embedded.js'),
  ...load('setup/cluster.js'),
  ...load('setup/cluster-files.js'),
  ...load('setup/run.js'),
  ...load('worker/reset.js'),
  ...load('worker/session.js'),
  ...load('testing/server.js'),
  ...load('cli/project.js'),
};
