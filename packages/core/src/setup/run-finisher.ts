// A run's finisher, a detached process started as the runner's process exits
// without the run's teardown (an uncaught error in the runner, such as Vitest's
// "Worker exited unexpectedly" when a worker is killed; process.exit from a
// test): once that process is gone and the run's lease is free, it does what
// the teardown would have done with the run's databases or schemas (dropped,
// or marked kept under PGWORK_KEEP=1) instead of leaving them to the next run.
// Best effort: what it cannot do is still the next run's to reclaim, and what
// it did or could not do is one line in its log (finisherLogFile).
import { appendFileSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import { ownedDatabases } from '../admin/databases';
import { dropRunObjects, runLease } from '../admin/owned';
import { ownedSchemas } from '../admin/schemas';
import type { RunObjectsPlace } from '../isolation/contract';
import { isAlive } from '../shared/child';
import { connect } from '../shared/connection';
import { describeDatabaseError } from '../shared/errors';
import { isLockHeld } from '../shared/locks';
import { stopRunServices } from '../shared/services';

/** The variable the places travel in (their URLs may hold passwords, which a process list would show). */
export const PLACES_VARIABLE = 'PGWORK_RUN_PLACES';

/** How long the finisher waits for the runner's process to be gone, then for the server to free its lease. */
const WAIT_MS = 60_000;

/** How long it waits for sessions still on the run's databases (test processes that outlived their runner). */
const ORPHANS_WAIT_MS = 30_000;

/** Where the finisher of run `runId` says what it did; swept after a day. */
export function finisherLogFile(runId: string): string {
  return join(finisherLogDirectory(), `${runId}.log`);
}

const finisherLogDirectory = () => join(tmpdir(), `pgwork-finisher-${process.getuid?.() ?? 'user'}`);

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `done` every 100 ms for up to `ms`; whether it held. */
async function waitFor(done: () => boolean | Promise<boolean>, ms = WAIT_MS): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await pause(100)) {
    if (await done()) return true;
  }
  return false;
}

/** Whether a session other than this one is on one of the run's databases (never true for schemas: no per-schema sessions). */
async function sessionsOnRun(admin: Client, place: RunObjectsPlace): Promise<boolean> {
  if (place.unit !== 'database') return false;
  const names = (await ownedDatabases.list(admin))
    .filter(({ marker }) => marker.run === place.runId)
    .map(({ name }) => name);
  const { rowCount } = await admin.query(
    'SELECT 1 FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid()',
    [names],
  );
  return (rowCount ?? 0) > 0;
}

async function finishPlace(place: RunObjectsPlace, log: (line: string) => void): Promise<void> {
  const applicationName = `pgwork finisher ${place.runId}`;
  const admin = await connect(place.url, { source: place.source, applicationName });
  try {
    // The dead process's connections end as the server notices; until then its run counts as alive.
    if (!(await waitFor(async () => !(await isLockHeld(admin, runLease(place.runId)))))) {
      return log(`its lease is still held after ${WAIT_MS / 1000} s: left for the next run`);
    }
    // First, as the run's end does: an app server still running would keep connecting while its database is dropped.
    await stopRunServices(place.runId).catch((error: unknown) => log(`stopping its services: ${String(error)}`));
    // A runner's test processes may outlive it by a moment (they notice their parent is gone).
    await waitFor(async () => !(await sessionsOnRun(admin, place)), ORPHANS_WAIT_MS);
    const objects = place.unit === 'schema' ? ownedSchemas : ownedDatabases;
    const { names, left } = await dropRunObjects(admin, objects, place.runId, place.keep);
    const fate = place.keep ? 'kept (PGWORK_KEEP=1)' : 'dropped';
    const refused = left.length ? `; refused: ${left.map((l) => `${l.name} (${l.reason})`).join(', ')}` : '';
    log(`${names.length - left.length} ${place.unit}(s) ${fate}${refused}`);
  } finally {
    await admin.end().catch(() => undefined);
  }
}

/** Removes the logs of finishers more than a day old. */
function sweepLogs(): void {
  const directory = finisherLogDirectory();
  for (const file of readdirSync(directory)) {
    const path = join(directory, file);
    if (Date.now() - statSync(path).mtimeMs > 86_400_000) rmSync(path, { force: true });
  }
}

async function main(): Promise<void> {
  const { parent } = JSON.parse(process.argv[2]!) as { parent: number };
  const places = JSON.parse(process.env[PLACES_VARIABLE] ?? '[]') as RunObjectsPlace[];
  mkdirSync(finisherLogDirectory(), { recursive: true, mode: 0o700 });
  sweepLogs();
  const logOf = (runId: string) => (line: string) =>
    appendFileSync(finisherLogFile(runId), `${new Date().toISOString()} run ${runId}: ${line}\n`);
  if (!(await waitFor(() => !isAlive(parent)))) {
    for (const place of places) logOf(place.runId)(`process ${parent} still runs after ${WAIT_MS / 1000} s`);
    return;
  }
  for (const place of places) {
    const log = logOf(place.runId);
    try {
      await finishPlace(place, log);
    } catch (error) {
      log(`could not finish: ${describeDatabaseError(error)}; left for the next run`);
    }
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    () => process.exit(1),
  );
}
