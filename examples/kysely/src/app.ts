import type { Url, UrlShortenerApp } from '@pgwork/parallel-suite';
import type { Selectable } from 'kysely';
import { type Database, db } from './db';

const toUrl = (row: Selectable<Database['urls']>): Url => ({
  id: row.id,
  slug: row.slug,
  target: row.target,
  createdAt: row.created_at,
});

export const app: UrlShortenerApp = {
  async createUrl(slug, target) {
    return toUrl(await db.insertInto('urls').values({ slug, target }).returningAll().executeTakeFirstOrThrow());
  },
  async listUrls() {
    return (await db.selectFrom('urls').selectAll().orderBy('id').execute()).map(toUrl);
  },
  async countUrls() {
    const { n } = await db
      .selectFrom('urls')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    return Number(n);
  },
  async findUrl(slug) {
    const row = await db.selectFrom('urls').selectAll().where('slug', '=', slug).executeTakeFirst();
    return row ? toUrl(row) : null;
  },
  async deleteUrl(id) {
    await db.deleteFrom('urls').where('id', '=', id).execute();
  },
  async recordClick(urlId) {
    await db.insertInto('clicks').values({ url_id: urlId }).execute();
  },
  async countClicks(urlId) {
    const { n } = await db
      .selectFrom('clicks')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('url_id', '=', urlId)
      .executeTakeFirstOrThrow();
    return Number(n);
  },
  async createUrlWithClicks(slug, target, clickCount, fail = false) {
    return db.transaction().execute(async (trx) => {
      const row = await trx.insertInto('urls').values({ slug, target }).returningAll().executeTakeFirstOrThrow();
      for (let i = 0; i < clickCount; i++) await trx.insertInto('clicks').values({ url_id: row.id }).execute();
      if (fail) throw new Error('failing on purpose after the inserts');
      return toUrl(row);
    });
  },
  async close() {
    await db.destroy();
  },
};
