// Jest setupFiles: runs in each test file's sandbox before any app module is
// imported, so an app that reads DATABASE_URL at import sees its worker's database,
// and its services (the services option) are running, their variables set.
import { projectOf } from '../shared/binding';
import { conciseError } from '../shared/errors';
import { nodeRequire } from '../shared/node-require';
import { applyWorkerEnvironment } from '../worker/env';
import type * as Services from '../worker/services';

// The worker's services live outside the sandbox: started by its first test file, found running by the next.
const { startWorkerServicesSync } = nodeRequire(__filename)('../worker/services') as typeof Services;

try {
  const project = projectOf(globalThis);
  applyWorkerEnvironment(process.env, project, (globalThis as { pgwork?: unknown }).pgwork);
  startWorkerServicesSync(process.env, project);
} catch (error) {
  throw conciseError(error);
}
