import { knex } from 'knex';

// Built from DATABASE_URL at import, as real apps do; under pgwork each Jest worker sees its own database here.
if (!process.env.DATABASE_URL) throw new Error('DATABASE_URL is not set');
export const db = knex({ client: 'pg', connection: process.env.DATABASE_URL, pool: { min: 0, max: 5 } });
