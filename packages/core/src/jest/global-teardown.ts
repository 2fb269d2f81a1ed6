import { ACTIVE_RUN, conciseError } from './global-setup';
import type { Run } from '../run';

/** Jest globalTeardown: drop this run's databases (unless PGWORK_KEEP=1) and stop the embedded server. */
export default async function globalTeardown(): Promise<void> {
  const slot = globalThis as Record<symbol, Run | undefined>;
  const run = slot[ACTIVE_RUN];
  if (!run) return;
  slot[ACTIVE_RUN] = undefined;
  try {
    await run.finish();
  } catch (error) {
    throw conciseError(error);
  }
}
