import { PgworkError } from '../shared/errors';
import { databaseUrl } from '../shared/naming';
import { appUrlOf } from '../shared/run-state';
import type { CommandContext, CommandResult } from './commands';
import { takeInventory } from './inventory';
import type { CliProject } from './project';
import { eachServer, type OpenServer } from './servers';

// `pgwork url [worker]`: for psql "$(pgwork url 2)" after a PGWORK_KEEP=1 run.

/** A kept (or live) run's worker database or schema, as a URL psql takes. */
export async function url(
  context: CommandContext,
  worker: number,
  runId: string | undefined,
  projectName: string | undefined,
): Promise<CommandResult> {
  const project = chooseProject(context.projects, projectName);
  // A multi-project config's projects may share a base name: a run is the project's by its marker.
  const ofProject = (run: { project: string | null }) => project.name === undefined || run.project === project.name;
  const candidates: Array<{ url: string; run: string; alive: boolean; name: string; unit: string; created: string }> =
    [];
  await eachServer(project, async (server) => {
    const inventory = await takeInventory(server, new Set());
    for (const run of inventory.runs) {
      const ofBaseName = project.anyBaseName || run.baseName === project.baseName;
      if (!ofBaseName || !ofProject(run) || (runId && run.run !== runId)) continue;
      const object = run.objects.find((o) => o.worker === worker) ?? run.objects.find((o) => o.worker === undefined);
      if (object) {
        const { name, unit, created } = object;
        candidates.push({ url: objectUrl(server, object), run: run.run, alive: run.alive, name, unit, created });
      }
    }
  });
  const newest = candidates.sort((a, b) => Date.parse(b.created) - Date.parse(a.created))[0];
  if (!newest) {
    const of = project.name === undefined ? '' : ` (project "${project.name}")`;
    const ofBaseName = project.anyBaseName ? '' : ` of base name "${project.baseName}"`;
    const which = runId ? `run ${runId}${of}` : `no run${ofBaseName}${of}`;
    throw new PgworkError(
      'NO_RUN',
      `${which} keeps a database or schema for worker ${worker}; run your tests with PGWORK_KEEP=1 first (or pass --base-name or --run), then pgwork url ${worker}.`,
    );
  }
  context.out(`${newest.url}\n`);
  return { json: { ...newest, worker }, exitCode: 0 };
}

/** The project --project names; a config of several projects needs it. */
function chooseProject(projects: readonly CliProject[], name: string | undefined): CliProject {
  const names = projects.flatMap((p) => (p.name === undefined ? [] : [p.name]));
  if (name !== undefined) {
    const found = projects.find((p) => p.name === name);
    if (found) return found;
    const fix = names.length ? `use one of ${names.join(', ')}` : 'this config has no projects; leave --project out';
    throw new PgworkError(
      'INVALID_OPTION',
      `--project ${JSON.stringify(name)} is not a project of this config; ${fix}.`,
    );
  }
  if (projects.length > 1) {
    throw new PgworkError(
      'INVALID_OPTION',
      `this config has ${projects.length} projects (${names.join(', ')}), each with runs of its own; pass --project <name>.`,
    );
  }
  return projects[0]!;
}

/** psql takes `options` but not Prisma's `schema` parameter: the schema goes on search_path alone. */
function objectUrl(server: OpenServer, object: { name: string; unit: string }): string {
  if (object.unit === 'database') return appUrlOf(server, databaseUrl(server.url, object.name));
  const url = new URL(server.url);
  url.searchParams.set('options', `-c search_path=${object.name}`);
  return appUrlOf(server, url.toString());
}
