import { join } from 'node:path';
import type { Client } from 'pg';
import { isSchemaReady, listOwnedSchemas } from '../src/admin/schemas';
import { connect } from '../src/shared/connection';
import { startRun } from '../src/setup/run';
import { withScratchDatabase } from '../src/testing/server';
import { workerSchemaName } from '../src/isolation/schema';
import { expectPassed, runConfig, runFixture, sqlAdapter, uniqueBase } from './helpers';

// Schema isolation makes every worker's schema on the run's one admin connection. pg 8 queues
// a query handed to a client still executing one, with a DeprecationWarning ("Calling
// client.query() when the client is already executing a query", from the third query at
// once); pg 9 drops the queue. With more than two workers these runs handed it several at
// once. query-warning-guard.js, loaded in every process of pgwork's test run, throws that
// warning where pg emits it, and the run's globalTeardown fails on any it recorded.
const SCHEMA = 'CREATE TABLE items (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, label text NOT NULL);';
const FOUR_WORKERS = join(__dirname, 'fixtures/worker-count/jest.config.js');

async function withClientOn<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = await connect(url);
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

describe('schema isolation with more workers than two, one query at a time per connection', () => {
  it('prepares a migrated, ready schema for each of 6 workers, and drops them all at the end', async () => {
    await withScratchDatabase(async (url) => {
      const baseName = uniqueBase('sw');
      const workerIds = [1, 2, 3, 4, 5, 6];
      const run = await startRun(
        runConfig(sqlAdapter(SCHEMA), baseName, {
          server: { url, source: 'test' },
          isolation: 'schema',
          workerIds,
        }),
      );
      const { runId } = run.state;
      const schemas = workerIds.map((id) => workerSchemaName(baseName, runId, id));
      try {
        await withClientOn(url, async (client) => {
          for (const schema of schemas) {
            expect(await isSchemaReady(client, schema, runId)).toBe(true);
            const { rows } = await client.query('SELECT to_regclass($1)::text AS found', [`${schema}.items`]);
            expect(rows).toEqual([{ found: `${schema}.items` }]);
          }
        });
      } finally {
        await run.finish();
      }
      const left = await withClientOn(url, listOwnedSchemas);
      expect(left.filter((schema) => schema.marker.run === runId)).toEqual([]);
    });
  });

  it('a Jest run of 4 workers passes with no process of it handing a busy client a query', async () => {
    await withScratchDatabase(async (url) => {
      const run = runFixture(
        { PGWORK_DATABASE_URL: url, PGWORK_ISOLATION: 'schema', FIXTURE_BASE_NAME: uniqueBase('swj'), NO_COLOR: '1' },
        FOUR_WORKERS,
        ['--maxWorkers=4'],
      );
      // pg prints the warning to the fixture's stderr even where the guard is not loaded.
      expect(run.output).not.toMatch(/already executing a query/);
      expectPassed(run, 8);
      expect(run.output).toMatch(/schema per worker: 4 in database/);
    });
  });
});
