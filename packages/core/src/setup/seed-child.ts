// Runs the user's seed module in a child process (TypeScript through the
// project's loader), against the template or a worker's schema.
import { childMain } from '../shared/child';
import { pickExport } from '../shared/module-export';

interface SeedRequest {
  module: string;
  pg: string;
  url: string;
  database: string;
}

childMain<SeedRequest, null>(async ({ module, pg, url, database }) => {
  const seed = pickExport(require(module), {
    accepts: (value): value is (target: { client: unknown; url: string; database: string }) => unknown =>
      typeof value === 'function',
    what: 'seed function',
    usual: ['default', 'seed'],
    option: 'export default',
    example: 'export default async ({ client }) => { ... }',
  });
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
