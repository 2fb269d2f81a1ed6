import type { Url, UrlShortenerApp } from '@pgwork/parallel-suite';
import { prisma } from './db';

const toUrl = (row: { id: number; slug: string; target: string; createdAt: Date }): Url => ({
  id: row.id,
  slug: row.slug,
  target: row.target,
  createdAt: row.createdAt,
});

export const app: UrlShortenerApp = {
  async createUrl(slug, target) {
    return toUrl(await prisma.url.create({ data: { slug, target } }));
  },
  async listUrls() {
    return (await prisma.url.findMany({ orderBy: { id: 'asc' } })).map(toUrl);
  },
  countUrls: () => prisma.url.count(),
  async findUrl(slug) {
    const row = await prisma.url.findUnique({ where: { slug } });
    return row ? toUrl(row) : null;
  },
  async deleteUrl(id) {
    await prisma.url.delete({ where: { id } });
  },
  async recordClick(urlId) {
    await prisma.click.create({ data: { urlId } });
  },
  countClicks: (urlId) => prisma.click.count({ where: { urlId } }),
  async createUrlWithClicks(slug, target, clicks, fail = false) {
    return prisma.$transaction(async (tx) => {
      const url = await tx.url.create({ data: { slug, target } });
      for (let i = 0; i < clicks; i++) await tx.click.create({ data: { urlId: url.id } });
      if (fail) throw new Error('failing on purpose after the inserts');
      return toUrl(url);
    });
  },
  close: () => prisma.$disconnect(),
};
