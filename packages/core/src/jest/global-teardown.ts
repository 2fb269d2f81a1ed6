import { writeFileSync } from 'node:fs';
import { bindingOf } from '../shared/binding';
import { conciseError } from '../shared/errors';
import type { Run } from '../setup/run';
import { activeRuns } from './active-runs';
import { runUserHook, type JestProjectConfig } from './user-hooks';

/** When set, globalTeardown writes the run's summary there as JSON (used by `pnpm demo` and tooling). */
const REPORT_VARIABLE = 'PGWORK_REPORT';

/**
 * Jest globalTeardown: the project's own globalTeardown first, if it had one;
 * then drop this run's databases (unless PGWORK_KEEP=1) and stop the embedded server(s).
 */
async function globalTeardown(globalConfig: unknown, projectConfig: JestProjectConfig): Promise<void> {
  const binding = bindingOf(projectConfig?.globals);
  const key = binding.project ?? '';
  const run = activeRuns().get(key);
  activeRuns().delete(key);
  try {
    if (binding.globalTeardown)
      await runUserHook(binding.globalTeardown, 'globalTeardown', globalConfig, projectConfig);
  } finally {
    if (run) await finish(run, binding.project);
  }
}

async function finish(run: Run, project: string | undefined): Promise<void> {
  try {
    const result = await run.finish();
    const fate = result.dropped ? 'dropped' : 'kept (PGWORK_KEEP=1)';
    const runIds = run.summaries.map((summary) => summary.runId).join(', ');
    const of = project ? ` (project "${project}")` : '';
    process.stderr.write(`pgwork: run ${runIds}${of} used ${result.databases.length} ${run.unit}(s), now ${fate}\n`);
    const report = process.env[REPORT_VARIABLE];
    if (report) {
      const shared = run.state.mode === 'database' ? (run.state.shared ?? null) : null;
      const line = { ...run.summaries[0], project: project ?? null, servers: run.summaries.length, shared, ...result };
      writeFileSync(report, `${JSON.stringify(line)}\n`);
    }
  } catch (error) {
    throw conciseError(error);
  }
}

export = globalTeardown;
