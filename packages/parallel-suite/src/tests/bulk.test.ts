import { slugs, useSuite } from '../probe';

const suite = useSuite();

test('200 urls get ids 1..200 and nobody else adds or removes any', async () => {
  for (const slug of slugs('bulk', 200)) await suite.app.createUrl(slug, 'https://example.com');
  const ids = await suite.probe.ids();
  expect(ids.length).toBe(200);
  expect(ids.reduce((sum, id) => sum + id, 0)).toBe(20100);
  expect(await suite.app.countUrls()).toBe(200);
});
