import type { Client } from 'pg';
import { isLockHeld } from '../shared/locks';
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
}

/** A run's lease: a session-level advisory lock, freed by Postgres when its connection dies (even on SIGKILL). */
export const runLease = (runId: string) => `run:${runId}`;

/**
 * Drops the objects of runs that are gone (their lease is free: the process
 * ended or was killed), and templates whose build died midway. Never anything
 * of a live run, never anything unmarked.
 */
export async function reclaimDeadRuns(admin: Client, objects: OwnedObjects, ownRunId: string): Promise<string[]> {
  const reclaimed: string[] = [];
  const liveness = new Map<string, boolean>();
  const isAlive = async (runId: string) => {
    if (!liveness.has(runId)) liveness.set(runId, runId === ownRunId || (await isLockHeld(admin, runLease(runId))));
    return liveness.get(runId)!;
  };
  const abandoned = (marker: DatabaseMarker) => marker.kind !== 'template' || marker.state === 'building';
  for (const { name, marker } of await objects.list(admin)) {
    if (!abandoned(marker) || (await isAlive(marker.run))) continue;
    // A template mid-build is protected by its builder's lease and template lock; re-check under the name lock.
    const accept = (current: DatabaseMarker) => current.run === marker.run && abandoned(current);
    if (await objects.drop(admin, name, accept)) reclaimed.push(name);
  }
  return reclaimed;
}

/** The objects one run made (never templates), dropped unless `keep`; their names either way. */
export async function dropRunObjects(
  admin: Client,
  objects: OwnedObjects,
  runId: string,
  keep: boolean,
): Promise<string[]> {
  const ownedByRun = (marker: DatabaseMarker) => marker.run === runId && marker.kind !== 'template';
  const names: string[] = [];
  for (const { name, marker } of await objects.list(admin)) {
    if (!ownedByRun(marker)) continue;
    names.push(name);
    if (!keep) await objects.drop(admin, name, ownedByRun);
  }
  return names;
}
