import type { Client } from 'pg';
import { isLockHeld } from '../shared/locks';
import { parseRunObjectName, templateBaseName } from '../shared/naming';
import type { DatabaseMarker } from './marker';

/**
 * Databases or schemas that carry pgwork's marker: one interface, so reclaiming
 * what dead runs left and dropping what a run made are written once.
 */
export interface OwnedObjects {
  readonly unit: 'database' | 'schema';
  list(admin: Client): Promise<Array<{ name: string; marker: DatabaseMarker }>>;
  /** Drops it only if it carries the marker and `accept` agrees with it; whether it dropped. */
  drop(admin: Client, name: string, accept: (marker: DatabaseMarker) => boolean): Promise<boolean>;
  /** Replaces its marker. */
  mark(admin: Client, name: string, marker: DatabaseMarker): Promise<void>;
}

/** The base name a run object's or template's name was made from. */
const baseNameOfObject = (name: string) => parseRunObjectName(name)?.baseName ?? templateBaseName(name);

/** A run's lease: a session-level advisory lock, freed by Postgres when its connection dies (even on SIGKILL). */
export const runLease = (runId: string) => `run:${runId}`;

/** Whether a run is alive (its lease is held), asked once per run id. */
export function runLiveness(admin: Client, ownRunId?: string): (runId: string) => Promise<boolean> {
  const known = new Map<string, Promise<boolean>>();
  return (runId) => {
    if (!known.has(runId))
      known.set(runId, runId === ownRunId ? Promise.resolve(true) : isLockHeld(admin, runLease(runId)));
    return known.get(runId)!;
  };
}

/** Left by a run that is gone: its workers' objects, and a template whose build it did not finish. */
const abandoned = (marker: DatabaseMarker) => marker.kind !== 'template' || marker.state === 'building';

/** The objects of runs that are gone (their lease is free: the process ended or was killed). */
export async function findDeadRunObjects(
  admin: Client,
  objects: OwnedObjects,
  ownRunId?: string,
  /** Only these projects' (undefined: every project's). */
  baseNames?: readonly string[],
): Promise<Array<{ name: string; marker: DatabaseMarker }>> {
  const isAlive = runLiveness(admin, ownRunId);
  const dead: Array<{ name: string; marker: DatabaseMarker }> = [];
  for (const owned of await objects.list(admin)) {
    if (baseNames && !baseNames.includes(baseNameOfObject(owned.name) ?? '')) continue;
    if (abandoned(owned.marker) && !(await isAlive(owned.marker.run))) dead.push(owned);
  }
  return dead;
}

/**
 * Drops one object findDeadRunObjects found, if it is still its dead run's:
 * a template mid-build is protected by its builder's lease and template lock,
 * so the marker is checked again under the name's lock.
 */
export function dropDeadRunObject(
  admin: Client,
  objects: OwnedObjects,
  found: { name: string; marker: DatabaseMarker },
) {
  const accept = (current: DatabaseMarker) => current.run === found.marker.run && abandoned(current);
  return objects.drop(admin, found.name, accept);
}

/**
 * Drops the objects of runs that are gone, and templates whose build died
 * midway, of every base name: what a killed run left serves no one, whoever's
 * it was (a removed project's included). Never anything of a live run, never
 * anything unmarked, and what a run kept (PGWORK_KEEP=1) only when it is of
 * this base name: another project's is kept for someone to look at, until its
 * own next run or `pgwork clean`.
 */
export async function reclaimDeadRuns(
  admin: Client,
  objects: OwnedObjects,
  ownRunId: string,
  baseName: string,
): Promise<string[]> {
  const reclaimed: string[] = [];
  for (const found of await findDeadRunObjects(admin, objects, ownRunId)) {
    if (found.marker.kept && baseNameOfObject(found.name) !== baseName) continue;
    if (await dropDeadRunObject(admin, objects, found)) reclaimed.push(found.name);
  }
  return reclaimed;
}

/** The objects one run made (never templates), dropped, or with `keep` marked as kept; their names either way. */
export async function dropRunObjects(
  admin: Client,
  objects: OwnedObjects,
  runId: string,
  keep: boolean,
): Promise<string[]> {
  // What the run kept already (a failing test's copy, PGWORK_KEEP=failed) is no longer its to drop or count.
  const ownedByRun = (marker: DatabaseMarker) => marker.run === runId && marker.kind !== 'template' && !marker.kept;
  const names: string[] = [];
  const keptAt = new Date().toISOString();
  for (const { name, marker } of await objects.list(admin)) {
    if (!ownedByRun(marker)) continue;
    names.push(name);
    if (keep) await objects.mark(admin, name, { ...marker, kept: keptAt });
    else await objects.drop(admin, name, ownedByRun);
  }
  return names;
}
