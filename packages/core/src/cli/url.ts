import { PgworkError } from '../shared/errors';
import { databaseUrl } from '../shared/naming';
import type { CommandContext, CommandResult } from './commands';
import { takeInventory } from './inventory';
import { eachServer, type OpenServer } from './servers';

// `pgwork url [worker]`: for psql "$(pgwork url 2)" after a PGWORK_KEEP=1 run.

/** A kept (or live) run's worker database or schema, as a URL psql takes. */
export async function url(context: CommandContext, worker: number, runId: string | undefined): Promise<CommandResult> {
  const project = context.projects[0]!;
  const candidates: Array<{ url: string; run: string; alive: boolean; name: string; unit: string; created: string }> =
    [];
  await eachServer(project, async (server) => {
    const inventory = await takeInventory(server, new Set());
    for (const run of inventory.runs) {
      if (run.baseName !== project.baseName || (runId && run.run !== runId)) continue;
      const object = run.objects.find((o) => o.worker === worker) ?? run.objects.find((o) => o.worker === undefined);
      if (object) {
        const { name, unit, created } = object;
        candidates.push({ url: objectUrl(server, object), run: run.run, alive: run.alive, name, unit, created });
      }
    }
  });
  const newest = candidates.sort((a, b) => Date.parse(b.created) - Date.parse(a.created))[0];
  if (!newest) {
    const which = runId ? `run ${runId}` : `no run of base name "${project.baseName}"`;
    throw new PgworkError(
      'NO_RUN',
      `${which} keeps a database or schema for worker ${worker}; run your tests with PGWORK_KEEP=1 first (or pass --base-name or --run), then pgwork url ${worker}.`,
    );
  }
  context.out(`${newest.url}\n`);
  return { json: { ...newest, worker }, exitCode: 0 };
}

/** psql takes `options` but not Prisma's `schema` parameter: the schema goes on search_path alone. */
function objectUrl(server: OpenServer, object: { name: string; unit: string }): string {
  if (object.unit === 'database') return databaseUrl(server.url, object.name);
  const url = new URL(server.url);
  url.searchParams.set('options', `-c search_path=${object.name}`);
  return url.toString();
}
