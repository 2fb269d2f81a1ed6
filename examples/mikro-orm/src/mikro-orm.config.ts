import { defineConfig } from '@mikro-orm/postgresql';
import { ClickSchema, UrlSchema } from './entities';

// Built from DATABASE_URL at import, as real apps do; under pgwork each Jest worker sees its own database here.
if (!process.env.DATABASE_URL) throw new Error('DATABASE_URL is not set');
const url = new URL(process.env.DATABASE_URL);

export default defineConfig({
  clientUrl: url.toString(),
  // Under schema isolation pgwork's URL names the worker's schema (`?schema=`); MikroORM ignores
  // the URL's search_path, so the schema goes in its own option (which qualifies every table).
  schema: url.searchParams.get('schema') ?? undefined,
  entities: [UrlSchema, ClickSchema],
  pool: { max: 5 },
  migrations: { path: './migrations' },
});
