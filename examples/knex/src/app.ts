import type { Url, UrlShortenerApp } from '@pgwork/parallel-suite';
import type { Knex } from 'knex';
import { db } from './db';

interface UrlRow {
  id: number;
  slug: string;
  target: string;
  created_at: Date;
}

const toUrl = (row: UrlRow): Url => ({ id: row.id, slug: row.slug, target: row.target, createdAt: row.created_at });

const insertUrl = async (query: Knex | Knex.Transaction, slug: string, target: string) => {
  const [row] = await query<UrlRow>('urls').insert({ slug, target }).returning('*');
  return row!;
};

export const app: UrlShortenerApp = {
  async createUrl(slug, target) {
    return toUrl(await insertUrl(db, slug, target));
  },
  async listUrls() {
    return (await db<UrlRow>('urls').orderBy('id', 'asc')).map(toUrl);
  },
  async countUrls() {
    const row = await db('urls').count<{ n: string }>({ n: '*' }).first();
    return Number(row!.n);
  },
  async findUrl(slug) {
    const row = await db<UrlRow>('urls').where({ slug }).first();
    return row ? toUrl(row) : null;
  },
  async deleteUrl(id) {
    await db('urls').where({ id }).delete();
  },
  async recordClick(urlId) {
    await db('clicks').insert({ url_id: urlId });
  },
  async countClicks(urlId) {
    const row = await db('clicks').where({ url_id: urlId }).count<{ n: string }>({ n: '*' }).first();
    return Number(row!.n);
  },
  async createUrlWithClicks(slug, target, clicks, fail = false) {
    return db.transaction(async (trx) => {
      const url = await insertUrl(trx, slug, target);
      for (let i = 0; i < clicks; i++) await trx('clicks').insert({ url_id: url.id });
      if (fail) throw new Error('failing on purpose after the inserts');
      return toUrl(url);
    });
  },
  async close() {
    await db.destroy();
  },
};
