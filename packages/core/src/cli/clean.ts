import { ownedDatabases } from '../admin/databases';
import type { DatabaseMarker } from '../admin/marker';
import { dropDeadRunObject, findDeadRunObjects, type OwnedObjects } from '../admin/owned';
import { ownedSchemas } from '../admin/schemas';
import { dropIdleTemplate, isTemplateInUse, lastUse, readyTemplates } from '../setup/template';
import { describeAge } from './output';
import type { OpenServer } from './servers';

// `pgwork clean`: what it would drop on one server, and dropping it. Every drop
// goes through the runner's own guarded functions, which check the marker
// again under the object's lock: a run that started meanwhile, or a template a
// run began to use, is left alone.

export interface CleanRequest {
  /** Also drop templates of these base names that are not current. */
  readonly templates: boolean;
  /** With templates: only those unused for this long (milliseconds). */
  readonly olderThanMs: number | undefined;
  /** Ended runs and templates of every base name on the server, not only the projects' (templates need olderThanMs). */
  readonly allBaseNames: boolean;
  /** The projects' base names, each with the template it clones from now (kept; undefined when only its config can say). */
  readonly baseNames: ReadonlyMap<string, string | undefined>;
}

export interface PlannedDrop {
  readonly name: string;
  readonly unit: 'database' | 'schema' | 'template';
  /** Why it goes, in words. */
  readonly reason: string;
  readonly marker: DatabaseMarker;
}

export interface KeptObject {
  readonly name: string;
  readonly reason: string;
}

export interface CleanPlan {
  readonly drops: readonly PlannedDrop[];
  /** What a user might expect to go and why it stays. */
  readonly kept: readonly KeptObject[];
}

export async function planClean(server: OpenServer, request: CleanRequest): Promise<CleanPlan> {
  const drops: PlannedDrop[] = [];
  const kept: KeptObject[] = [];
  const ended = (marker: DatabaseMarker) =>
    marker.kind === 'template'
      ? `template build of run ${marker.run} that died midway`
      : marker.kept
        ? `run ${marker.run} has ended, kept with PGWORK_KEEP=1`
        : `run ${marker.run} ended before its teardown (killed or interrupted)`;
  const ofProjects = request.allBaseNames ? undefined : [...request.baseNames.keys()];
  for (const found of await findDeadRunObjects(server.admin, ownedDatabases, undefined, ofProjects)) {
    if (server.protectedDatabases.includes(found.name)) {
      kept.push({ name: found.name, reason: 'the database the URL names; pgwork never drops it' });
      continue;
    }
    drops.push({
      ...found,
      unit: found.marker.kind === 'template' ? 'template' : 'database',
      reason: ended(found.marker),
    });
  }
  if (server.schemas) {
    for (const found of await findDeadRunObjects(server.schemas, ownedSchemas, undefined, ofProjects)) {
      drops.push({ ...found, unit: 'schema', reason: ended(found.marker) });
    }
  }
  if (!request.templates) return { drops, kept };
  const current = new Set(request.baseNames.values());
  // Without a base name, readyTemplates lists every base name's.
  const baseNames = request.allBaseNames ? [undefined] : [...request.baseNames.keys()];
  const candidates = [];
  for (const baseName of baseNames) candidates.push(...(await readyTemplates(server.admin, baseName)));
  for (const { name, marker } of candidates) {
    const idleMs = Date.now() - lastUse(marker);
    if (current.has(name)) kept.push({ name, reason: "the current template of this project's schema" });
    else if (request.olderThanMs !== undefined && idleMs < request.olderThanMs)
      kept.push({ name, reason: `used ${describeAge(idleMs)} ago, within --older-than` });
    else if (await isTemplateInUse(server.admin, name)) kept.push({ name, reason: 'in use by a live run' });
    else drops.push({ name, marker, unit: 'template', reason: `not current, last used ${describeAge(idleMs)} ago` });
  }
  return { drops, kept };
}

/** Drops what the plan lists, each only if it is still what was planned; what was dropped and what changed meanwhile. */
export async function carryOut(
  server: OpenServer,
  plan: CleanPlan,
): Promise<{ dropped: string[]; skipped: KeptObject[] }> {
  const dropped: string[] = [];
  const skipped: KeptObject[] = [];
  for (const drop of plan.drops) {
    const objects: OwnedObjects = drop.unit === 'schema' ? ownedSchemas : ownedDatabases;
    const client = drop.unit === 'schema' ? server.schemas! : server.admin;
    const done =
      drop.unit === 'template' && drop.marker.state === 'ready'
        ? await dropIdleTemplate(client, drop.name, drop.marker)
        : await dropDeadRunObject(client, objects, drop);
    if (done) dropped.push(drop.name);
    else skipped.push({ name: drop.name, reason: 'changed since it was listed (a run uses it now, or it is gone)' });
  }
  return { dropped, skipped };
}
