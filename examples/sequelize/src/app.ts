import type { Url as UrlRecord, UrlShortenerApp } from '@pgwork/parallel-suite';
import { Click, sequelize, Url, type UrlRow } from './db';

const toUrl = (url: UrlRow): UrlRecord => ({
  id: url.id,
  slug: url.slug,
  target: url.target,
  createdAt: url.createdAt,
});

export const app: UrlShortenerApp = {
  async createUrl(slug, target) {
    return toUrl(await Url.create({ slug, target }));
  },
  async listUrls() {
    return (await Url.findAll({ order: [['id', 'ASC']] })).map(toUrl);
  },
  async countUrls() {
    return Url.count();
  },
  async findUrl(slug) {
    const url = await Url.findOne({ where: { slug } });
    return url ? toUrl(url) : null;
  },
  async deleteUrl(id) {
    await Url.destroy({ where: { id } });
  },
  async recordClick(urlId) {
    await Click.create({ urlId });
  },
  async countClicks(urlId) {
    return Click.count({ where: { urlId } });
  },
  async createUrlWithClicks(slug, target, clicks, fail = false) {
    // A managed transaction: committed when the callback resolves, rolled back when it throws.
    return sequelize.transaction(async (transaction) => {
      const url = await Url.create({ slug, target }, { transaction });
      for (let i = 0; i < clicks; i++) await Click.create({ urlId: url.id }, { transaction });
      if (fail) throw new Error('failing on purpose after the inserts');
      return toUrl(url);
    });
  },
  async close() {
    await sequelize.close();
  },
};
