import { writeFileSync } from 'node:fs';
import { bindingOf } from '../binding';
import { conciseError } from '../errors';
import type { RunGroup } from '../run-group';
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
  const group = activeRuns().get(key);
  activeRuns().delete(key);
  try {
    if (binding.globalTeardown)
      await runUserHook(binding.globalTeardown, 'globalTeardown', globalConfig, projectConfig);
  } finally {
    if (group) await finish(group, binding.project);
  }
}

async function finish(group: RunGroup, project: string | undefined): Promise<void> {
  try {
    const result = await group.finish();
    const fate = result.dropped ? 'dropped' : 'kept (PGWORK_KEEP=1)';
    const [first] = group.runs;
    const runIds = group.runs.map((run) => run.summary.runId).join(', ');
    const unit = first?.state.workerSchemas ? 'schema(s)' : 'database(s)';
    const of = project ? ` (project "${project}")` : '';
    process.stderr.write(`pgwork: run ${runIds}${of} used ${result.databases.length} ${unit}, now ${fate}\n`);
    const report = process.env[REPORT_VARIABLE];
    if (report && first) {
      const servers = group.runs.length;
      writeFileSync(
        report,
        `${JSON.stringify({ ...first.summary, project: project ?? null, servers, shared: first.state.shared ?? null, ...result })}\n`,
      );
    }
  } catch (error) {
    throw conciseError(error);
  }
}

export = globalTeardown;
