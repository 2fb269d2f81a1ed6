import { writeFileSync } from 'node:fs';
import { ACTIVE_RUN, conciseError } from './global-setup';
import type { RunGroup } from '../run-group';

/** When set, globalTeardown writes the run's summary there as JSON (used by `pnpm demo` and tooling). */
export const REPORT_VARIABLE = 'PGWORK_REPORT';

/** Jest globalTeardown: drop this run's databases (unless PGWORK_KEEP=1) and stop the embedded server(s). */
export default async function globalTeardown(): Promise<void> {
  const slot = globalThis as Record<symbol, RunGroup | undefined>;
  const group = slot[ACTIVE_RUN];
  if (!group) return;
  slot[ACTIVE_RUN] = undefined;
  try {
    const result = await group.finish();
    const fate = result.dropped ? 'dropped' : 'kept (PGWORK_KEEP=1)';
    const [first] = group.runs;
    const runIds = group.runs.map((run) => run.summary.runId).join(', ');
    const unit = first?.state.workerSchemas ? 'schema(s)' : 'database(s)';
    process.stderr.write(`pgwork: run ${runIds} used ${result.databases.length} ${unit}, now ${fate}\n`);
    const report = process.env[REPORT_VARIABLE];
    if (report && first) {
      const servers = group.runs.length;
      writeFileSync(report, `${JSON.stringify({ ...first.summary, servers, shared: first.state.shared ?? null, ...result })}\n`);
    }
  } catch (error) {
    throw conciseError(error);
  }
}
