import type { Url, UrlShortenerApp } from '@pgwork/parallel-suite';
import { asc, count, eq } from 'drizzle-orm';
import { db, pool } from './db';
import { clicks, urls } from './schema';

const toUrl = (row: typeof urls.$inferSelect): Url => ({
  id: row.id,
  slug: row.slug,
  target: row.target,
  createdAt: row.createdAt,
});

export const app: UrlShortenerApp = {
  async createUrl(slug, target) {
    const [row] = await db.insert(urls).values({ slug, target }).returning();
    return toUrl(row!);
  },
  async listUrls() {
    return (await db.select().from(urls).orderBy(asc(urls.id))).map(toUrl);
  },
  async countUrls() {
    const [row] = await db.select({ n: count() }).from(urls);
    return row!.n;
  },
  async findUrl(slug) {
    const [row] = await db.select().from(urls).where(eq(urls.slug, slug));
    return row ? toUrl(row) : null;
  },
  async deleteUrl(id) {
    await db.delete(urls).where(eq(urls.id, id));
  },
  async recordClick(urlId) {
    await db.insert(clicks).values({ urlId });
  },
  async countClicks(urlId) {
    const [row] = await db.select({ n: count() }).from(clicks).where(eq(clicks.urlId, urlId));
    return row!.n;
  },
  async createUrlWithClicks(slug, target, clickCount, fail = false) {
    return db.transaction(async (tx) => {
      const [row] = await tx.insert(urls).values({ slug, target }).returning();
      for (let i = 0; i < clickCount; i++) await tx.insert(clicks).values({ urlId: row!.id });
      if (fail) throw new Error('failing on purpose after the inserts');
      return toUrl(row!);
    });
  },
  async close() {
    await pool.end();
  },
};
