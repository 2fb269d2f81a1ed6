// Teams point pgwork at the Postgres their docker-compose runs, often a major
// before the embedded 18: runs there take other paths (CREATE DATABASE's
// default strategy, sequences read one by one). This file runs whole runs on an
// installed older major when the machine has one (Debian's postgresql-N).
import { startRun } from '../src/setup/run';
import { openWorkerSession } from '../src/worker/session';
import {
  databaseExists,
  installedOlderPostgres,
  rows,
  runConfig,
  sqlAdapter,
  startInstalledPostgres,
  uniqueBase,
} from './helpers';

const SCHEMA = `
  CREATE TABLE fixture_migrations (name text PRIMARY KEY);
  INSERT INTO fixture_migrations VALUES ('001');
  CREATE TABLE urls (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, slug text UNIQUE NOT NULL);
  CREATE TABLE clicks (id bigserial PRIMARY KEY, url_id int NOT NULL REFERENCES urls (id));`;

const older = installedOlderPostgres();
let server: { url: string; stop(): Promise<void> } | undefined;
beforeAll(async () => {
  if (older) server = await startInstalledPostgres(older.bin);
}, 60_000);
afterAll(() => server?.stop());

const onOlder = older ? describe : describe.skip;

onOlder(`a run on an installed PostgreSQL ${older?.major ?? '(none installed here)'}`, () => {
  it.each(['database', 'schema'] as const)(
    'isolation "%s": each worker its own target from the migrated template, reset to empty with identities restarted, nothing left after',
    async (isolation) => {
      const url = server!.url;
      const version = await rows<{ major: number }>(
        url,
        `SELECT current_setting('server_version_num')::int / 10000 AS major`,
      );
      expect(version).toEqual([{ major: older!.major }]);
      const baseName = uniqueBase('older');
      const run = await startRun(
        runConfig(sqlAdapter(SCHEMA), baseName, {
          isolation,
          workerIds: [1, 2],
          server: { url, source: 'the older test server' },
          keepTables: ['fixture_migrations'],
        }),
      );
      const targets: string[] = [];
      try {
        for (const worker of [1, 2]) {
          const session = await openWorkerSession(run.state, worker);
          targets.push(session.schema ?? session.database);
          try {
            const write = `INSERT INTO urls (slug) VALUES ('w${worker}') RETURNING id;
              INSERT INTO clicks (url_id) SELECT id FROM urls; SELECT nextval('clicks_id_seq')`;
            await session.client.query(write);
            await session.reset();
            const after = await session.client.query<{ urls: number; clicks: number; kept: number }>(
              `SELECT (SELECT count(*) FROM urls)::int AS urls, (SELECT count(*) FROM clicks)::int AS clicks,
                      (SELECT count(*) FROM fixture_migrations)::int AS kept`,
            );
            expect(after.rows).toEqual([{ urls: 0, clicks: 0, kept: 1 }]);
            // Identities start over, as after TRUNCATE ... RESTART IDENTITY.
            const again = await session.client.query<{ url: number; click: string }>(
              `WITH u AS (INSERT INTO urls (slug) VALUES ('again') RETURNING id)
               SELECT (SELECT id FROM u) AS url, nextval('clicks_id_seq')::text AS click`,
            );
            expect(again.rows).toEqual([{ url: 1, click: '1' }]);
          } finally {
            await session.close();
          }
        }
        expect(new Set(targets).size).toBe(2);
      } finally {
        await run.finish();
      }
      if (isolation === 'database') {
        for (const name of targets) expect(await databaseExists(name, server!.url)).toBe(false);
      } else {
        const left = await rows(server!.url, 'SELECT nspname FROM pg_namespace WHERE nspname = ANY ($1)', [targets]);
        expect(left).toEqual([]);
      }
    },
    60_000,
  );
});
