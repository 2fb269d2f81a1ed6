import { type ColumnType, type Generated, Kysely, PostgresDialect } from 'kysely';
import { Pool } from 'pg';

/** The tables as the migrations create them. */
export interface Database {
  urls: {
    id: Generated<number>;
    slug: string;
    target: string;
    created_at: ColumnType<Date, never, never>;
  };
  clicks: {
    id: Generated<number>;
    url_id: number;
    clicked_at: ColumnType<Date, never, never>;
  };
}

// Built from DATABASE_URL at import, as real apps do; under pgwork each Jest worker sees its own database here.
if (!process.env.DATABASE_URL) throw new Error('DATABASE_URL is not set');
export const db = new Kysely<Database>({
  dialect: new PostgresDialect({ pool: new Pool({ connectionString: process.env.DATABASE_URL, max: 5 }) }),
});
