import type { Client } from 'pg';
import { describeDatabaseError, sqlState } from '../shared/errors';
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
 * own next run or `pgwork clean`. One Postgres refuses to drop (a session
 * another role still holds on it, or another role's database) is left for a
 * later run: a dead run's leftover never stops a live run from starting.
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
    const dropped = await dropDeadRunObject(admin, objects, found).catch((error: unknown) => {
      if (sqlState(error) === undefined) throw error; // not Postgres refusing: the connection is gone
      return false;
    });
    if (dropped) reclaimed.push(found.name);
  }
  return reclaimed;
}

/** What a run's end could not drop, and Postgres' reason. */
export interface LeftObject {
  readonly name: string;
  readonly reason: string;
}

/**
 * How long a run's end keeps retrying a drop that another session blocks: as
 * a role that is not a superuser, DROP DATABASE ... WITH (FORCE) may not end
 * another role's session on it, and an open transaction's locks hold off DROP SCHEMA.
 */
export const DROP_RETRY_MS = 5000;

/** A drop waits this long for a lock another session holds, then counts as blocked and is retried. */
const DROP_LOCK_TIMEOUT = '1s';

/**
 * The objects one run made (never templates), dropped, or with `keep` marked
 * as kept; their names either way. A drop Postgres refuses never costs the
 * others: every other one is dropped, the refused ones are retried for
 * `retryMs`, and what is still refused then is returned in `left`, for the
 * run's last line (leftClause); the next run's start reclaims it.
 */
export async function dropRunObjects(
  admin: Client,
  objects: OwnedObjects,
  runId: string,
  keep: boolean,
  retryMs = DROP_RETRY_MS,
): Promise<{ names: string[]; left: LeftObject[] }> {
  // What the run kept already (a failing test's copy, PGWORK_KEEP=failed) is no longer its to drop or count.
  const ownedByRun = (marker: DatabaseMarker) => marker.run === runId && marker.kind !== 'template' && !marker.kept;
  const names: string[] = [];
  const refused = new Map<string, unknown>();
  const drop = async (name: string) => {
    try {
      await objects.drop(admin, name, ownedByRun);
      refused.delete(name);
    } catch (error) {
      if (sqlState(error) === undefined) throw error; // not Postgres refusing: the connection is gone
      refused.set(name, error);
    }
  };
  const keptAt = new Date().toISOString();
  const owned = (await objects.list(admin)).filter(({ marker }) => ownedByRun(marker));
  if (keep) {
    for (const { name, marker } of owned) await objects.mark(admin, name, { ...marker, kept: keptAt });
    return { names: owned.map(({ name }) => name), left: [] };
  }
  await admin.query(`SET lock_timeout = '${DROP_LOCK_TIMEOUT}'`);
  try {
    for (const { name } of owned) {
      names.push(name);
      await drop(name);
    }
    const deadline = Date.now() + retryMs;
    for (let pause = 100; refused.size > 0 && Date.now() < deadline; pause = Math.min(pause * 2, 1000)) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(pause, Math.max(deadline - Date.now(), 0))));
      for (const name of [...refused.keys()]) await drop(name);
    }
  } finally {
    await admin.query('RESET lock_timeout').catch(() => undefined);
  }
  const left = [...refused].map(([name, error]) => ({ name, reason: describeDatabaseError(error) }));
  return { names, left };
}

/**
 * The end of a run's last line when something is left: what, why (Postgres'
 * words), and what becomes of it; '' when nothing is.
 */
export function leftClause(left: readonly LeftObject[] | undefined, unit: string): string {
  if (!left?.length) return '';
  const reasons = new Map<string, string[]>();
  for (const { name, reason } of left) reasons.set(reason, [...(reasons.get(reason) ?? []), name]);
  const why = [...reasons].map(([reason, names]) => `${names.join(', ')}: ${reason}`).join('; ');
  const seconds = Math.round(DROP_RETRY_MS / 1000);
  return ` but ${left.length} ${unit}(s) Postgres still refused to drop after ${seconds} s of retries, which the next run's start reclaims: ${why}`;
}
