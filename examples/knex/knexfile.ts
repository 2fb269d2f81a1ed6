import type { Knex } from 'knex';

// What `knex migrate:latest` reads; pgwork runs the same migrations into its template.
const config: Knex.Config = {
  client: 'pg',
  connection: process.env.DATABASE_URL,
  migrations: { directory: './migrations', extension: 'ts' },
};

export default { development: config, test: config } satisfies Record<string, Knex.Config>;
