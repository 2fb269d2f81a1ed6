import { escapeIdentifier } from 'pg';
import { describeDatabase, ensureDatabase, listOwnedDatabases } from '../src/admin/databases';
import type { DatabaseMarker } from '../src/admin/marker';
import { startRun } from '../src/setup/run';
import { collectTemplates } from '../src/setup/template';
import { hashParts } from '../src/shared/fingerprint';
import {
  adminClient,
  databaseExists,
  dropOwnedWithBase,
  liveRun,
  runConfig,
  sqlAdapter,
  uniqueBase,
  withAdmin,
} from './helpers';

const DAY = 86_400_000;
const fakeFingerprint = (seed: string) => hashParts([seed]).slice(0, 16);

/** A finished pgwork template of `baseName`, last used `daysAgo` days ago. */
async function oldTemplate(baseName: string, seed: string, daysAgo: number, run: string): Promise<string> {
  const name = `${baseName}_tpl_${fakeFingerprint(seed)}`;
  const when = new Date(Date.now() - daysAgo * DAY).toISOString();
  const marker: DatabaseMarker = {
    kind: 'template',
    run,
    fingerprint: seed,
    state: 'ready',
    created: when,
    lastUsed: when,
  };
  await withAdmin(async (admin) => {
    await ensureDatabase(admin, name, { marker });
    await admin.query(`ALTER DATABASE ${escapeIdentifier(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
  });
  return name;
}

describe('template garbage collection', () => {
  let lease: Awaited<ReturnType<typeof liveRun>>;
  beforeAll(async () => {
    lease = await liveRun();
  });
  afterAll(() => lease.release());

  it("drops stale and surplus templates of the base name, another base name's only once unused for unusedDays, never a decoy or one in use", async () => {
    const base = uniqueBase('gc');
    const other = uniqueBase('gcother');
    const decoy = `${base}_tpl_${fakeFingerprint('decoy')}`;
    try {
      const stale = await oldTemplate(base, 'stale', 30, lease.runId);
      const recent1 = await oldTemplate(base, 'recent1', 1, lease.runId);
      const recent2 = await oldTemplate(base, 'recent2', 2, lease.runId);
      const surplus = await oldTemplate(base, 'surplus', 3, lease.runId); // 4th newest with the run's own
      const otherBase = await oldTemplate(other, 'old', 90, lease.runId);
      const otherRecent = await oldTemplate(other, 'recent', 1, lease.runId);
      await withAdmin((admin) => admin.query(`CREATE DATABASE ${escapeIdentifier(decoy)}`)); // no marker

      // The run's own template is built (and used) now: the newest.
      const run = await startRun(runConfig(sqlAdapter('CREATE TABLE t (id int)'), base, { workerIds: [] }));
      try {
        const template = run.summaries[0]!.template!;
        // Templates unused for unusedDays may go at any run's start (a parallel test file's too): gone either way.
        const anyRun = [stale, otherBase];
        expect(template.dropped.filter((name) => !anyRun.includes(name))).toEqual([surplus]);
        for (const name of [...anyRun, surplus]) expect(await databaseExists(name)).toBe(false);
        for (const name of [recent1, recent2, otherRecent, decoy, template.name]) {
          expect(await databaseExists(name)).toBe(true);
        }
        const own = await withAdmin((admin) => describeDatabase(admin, template.name));
        expect(Date.now() - Date.parse(own!.marker!.lastUsed!)).toBeLessThan(60_000);
      } finally {
        await run.finish();
      }
    } finally {
      await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(decoy)}`));
      await dropOwnedWithBase(base);
      await dropOwnedWithBase(other);
    }
  });

  it('keeps a template a live run uses, however old, and drops it once that run has ended', async () => {
    const base = uniqueBase('gcuse');
    try {
      // A run on an older schema, still going (two terminals on two branches).
      const older = await startRun(runConfig(sqlAdapter('CREATE TABLE old (id int)'), base, { workerIds: [] }));
      const olderTemplate = older.summaries[0]!.template!.name;
      const admin = await adminClient();
      try {
        // Make it look old and surplus: only a live run's use protects it.
        const info = await describeDatabase(admin, olderTemplate);
        const aged = new Date(Date.now() - 60 * DAY).toISOString();
        await admin.query(
          `COMMENT ON DATABASE ${escapeIdentifier(olderTemplate)} IS 'pgwork:v1 ${JSON.stringify({ ...info!.marker, lastUsed: aged })}'`,
        );
        const strict = { newest: 1, unusedDays: 1 };
        expect(await collectTemplates(admin, base, `${base}_tpl_${fakeFingerprint('x')}`, strict)).toEqual([]);
        expect(await databaseExists(olderTemplate)).toBe(true);
        await older.finish();
        expect(await collectTemplates(admin, base, `${base}_tpl_${fakeFingerprint('x')}`, strict)).toEqual([
          olderTemplate,
        ]);
        const left = (await listOwnedDatabases(admin)).filter((db) => db.name.startsWith(base));
        expect(left).toEqual([]);
      } finally {
        await admin.end();
      }
    } finally {
      await dropOwnedWithBase(base);
    }
  });
});
