import type { Url as UrlRecord, UrlShortenerApp } from '@pgwork/parallel-suite';
import { AppDataSource } from './data-source';
import { Click, Url } from './entities';

let ready: Promise<unknown> | undefined;
const db = async () => {
  await (ready ??= AppDataSource.initialize());
  return AppDataSource;
};

const toUrl = (url: Url): UrlRecord => ({ id: url.id, slug: url.slug, target: url.target, createdAt: url.createdAt });

export const app: UrlShortenerApp = {
  async createUrl(slug, target) {
    return toUrl(await (await db()).getRepository(Url).save({ slug, target }));
  },
  async listUrls() {
    return (await (await db()).getRepository(Url).find({ order: { id: 'ASC' } })).map(toUrl);
  },
  async countUrls() {
    return (await db()).getRepository(Url).count();
  },
  async findUrl(slug) {
    const url = await (await db()).getRepository(Url).findOneBy({ slug });
    return url ? toUrl(url) : null;
  },
  async deleteUrl(id) {
    await (await db()).getRepository(Url).delete({ id });
  },
  async recordClick(urlId) {
    await (await db()).getRepository(Click).insert({ urlId });
  },
  async countClicks(urlId) {
    return (await db()).getRepository(Click).countBy({ urlId });
  },
  async createUrlWithClicks(slug, target, clicks, fail = false) {
    return (await db()).transaction(async (manager) => {
      const url = await manager.getRepository(Url).save({ slug, target });
      for (let i = 0; i < clicks; i++) await manager.getRepository(Click).insert({ urlId: url.id });
      if (fail) throw new Error('failing on purpose after the inserts');
      return toUrl(url);
    });
  },
  async close() {
    if (AppDataSource.isInitialized) await AppDataSource.destroy();
  },
};
