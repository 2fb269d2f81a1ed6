import type { Url as UrlRecord, UrlShortenerApp } from '@pgwork/parallel-suite';
import { close, em } from './db';
import { ClickSchema, UrlSchema, type Url } from './entities';

const toUrl = (url: Url): UrlRecord => ({ id: url.id, slug: url.slug, target: url.target, createdAt: url.createdAt });

export const app: UrlShortenerApp = {
  async createUrl(slug, target) {
    const manager = await em();
    const url = manager.create(UrlSchema, { slug, target });
    await manager.persistAndFlush(url);
    return toUrl(url);
  },
  async listUrls() {
    return (await (await em()).find(UrlSchema, {}, { orderBy: { id: 'asc' } })).map(toUrl);
  },
  async countUrls() {
    return (await em()).count(UrlSchema);
  },
  async findUrl(slug) {
    const url = await (await em()).findOne(UrlSchema, { slug });
    return url ? toUrl(url) : null;
  },
  async deleteUrl(id) {
    await (await em()).nativeDelete(UrlSchema, { id });
  },
  async recordClick(urlId) {
    await (await em()).insert(ClickSchema, { url: urlId });
  },
  async countClicks(urlId) {
    return (await em()).count(ClickSchema, { url: urlId });
  },
  async createUrlWithClicks(slug, target, clicks, fail = false) {
    return (await em()).transactional(async (manager) => {
      const url = manager.create(UrlSchema, { slug, target });
      await manager.flush();
      for (let i = 0; i < clicks; i++) await manager.insert(ClickSchema, { url: url.id });
      if (fail) throw new Error('failing on purpose after the inserts');
      return toUrl(url);
    });
  },
  close,
};
