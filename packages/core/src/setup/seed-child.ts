// Runs the user's seed module in a child process (TypeScript through the
// project's loader), against the template or a worker's schema.
import { childMain } from '../shared/child';

interface SeedRequest {
  module: string;
  pg: string;
  url: string;
  database: string;
}

childMain<SeedRequest, null>(async ({ module, pg, url, database }) => {
  const loaded = require(module);
  const seed = typeof loaded === 'function' ? loaded : (loaded.default ?? loaded.seed);
  if (typeof seed !== 'function') {
    throw new Error('the module exports no seed function (export default async ({ client }) => { ... })');
  }
  const { Client } = require(pg);
  const client = new Client({ connectionString: url, application_name: 'pgwork' });
  await client.connect();
  try {
    await seed({ client, url, database });
  } finally {
    await client.end();
  }
  return null;
});
