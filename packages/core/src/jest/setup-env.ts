// Jest setupFiles: runs in each test file's sandbox before any app module is
// imported, so an app that reads DATABASE_URL at import sees its worker's database.
import { projectOf } from '../shared/binding';
import { conciseError } from '../shared/errors';
import { applyWorkerEnvironment } from '../worker/env';

try {
  applyWorkerEnvironment(process.env, projectOf(globalThis), (globalThis as { pgwork?: unknown }).pgwork);
} catch (error) {
  throw conciseError(error);
}
