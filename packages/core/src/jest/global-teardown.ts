import { writeFileSync } from 'node:fs';
import { ACTIVE_RUN, conciseError } from './global-setup';
import type { Run } from '../run';

/** When set, globalTeardown writes the run's summary there as JSON (used by `pnpm demo` and tooling). */
export const REPORT_VARIABLE = 'PGWORK_REPORT';

/** Jest globalTeardown: drop this run's databases (unless PGWORK_KEEP=1) and stop the embedded server. */
export default async function globalTeardown(): Promise<void> {
  const slot = globalThis as Record<symbol, Run | undefined>;
  const run = slot[ACTIVE_RUN];
  if (!run) return;
  slot[ACTIVE_RUN] = undefined;
  try {
    const result = await run.finish();
    const fate = result.dropped ? 'dropped' : 'kept (PGWORK_KEEP=1)';
    process.stderr.write(`pgwork: run ${run.summary.runId} used ${result.databases.length} database(s), now ${fate}\n`);
    const report = process.env[REPORT_VARIABLE];
    if (report) writeFileSync(report, `${JSON.stringify({ ...run.summary, shared: run.state.shared ?? null, ...result })}\n`);
  } catch (error) {
    throw conciseError(error);
  }
}
