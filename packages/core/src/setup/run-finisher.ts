// A run's finisher, a detached process started as the runner's process exits
// without the run's teardown (an uncaught error in the runner, such as Vitest's
// "Worker exited unexpectedly" when a worker is killed; process.exit from a
// test): once that process is gone and the run's lease is free, it does what
// the teardown would have done with the run's databases or schemas (dropped,
// or marked kept under PGWORK_KEEP=1) instead of leaving them to the next run.
// What it cannot do is still the next run's to reclaim.
import { ownedDatabases } from '../admin/databases';
import { dropRunObjects, runLease } from '../admin/owned';
import { ownedSchemas } from '../admin/schemas';
import type { RunObjectsPlace } from '../isolation/contract';
import { isAlive } from '../shared/child';
import { connect } from '../shared/connection';
import { isLockHeld } from '../shared/locks';
import { stopRunServices } from '../shared/services';

/** The variable the places travel in (their URLs may hold passwords, which a process list would show). */
export const PLACES_VARIABLE = 'PGWORK_RUN_PLACES';

/** How long the finisher waits for the runner's process to be gone, then for the server to free its lease. */
const WAIT_MS = 60_000;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(done: () => boolean | Promise<boolean>): Promise<boolean> {
  for (const deadline = Date.now() + WAIT_MS; Date.now() < deadline; await pause(100)) {
    if (await done()) return true;
  }
  return false;
}

async function finishPlace(place: RunObjectsPlace): Promise<void> {
  const admin = await connect(place.url, { source: place.source, applicationName: `pgwork finisher ${place.runId}` });
  try {
    // The dead process's connections end as the server notices; until then its run counts as alive.
    if (!(await waitFor(async () => !(await isLockHeld(admin, runLease(place.runId)))))) return;
    await dropRunObjects(admin, place.unit === 'schema' ? ownedSchemas : ownedDatabases, place.runId, place.keep);
  } finally {
    await admin.end().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const { parent } = JSON.parse(process.argv[2]!) as { parent: number };
  const places = JSON.parse(process.env[PLACES_VARIABLE] ?? '[]') as RunObjectsPlace[];
  if (!(await waitFor(() => !isAlive(parent)))) return;
  for (const runId of new Set(places.map((place) => place.runId))) await stopRunServices(runId);
  await Promise.allSettled(places.map(finishPlace));
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    () => process.exit(1),
  );
}
