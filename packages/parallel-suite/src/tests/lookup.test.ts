import { pause, slugs, useSuite } from '../probe';

const suite = useSuite();

test('finds a url by slug with exactly what was stored', async () => {
  for (const slug of slugs('look', 15)) await suite.app.createUrl(slug, `https://example.com/${slug}`);
  await pause(20);
  const found = await suite.app.findUrl('look-11');
  expect(found).toMatchObject({ id: 11, slug: 'look-11', target: 'https://example.com/look-11' });
  expect(found?.createdAt).toBeInstanceOf(Date);
  expect(await suite.app.findUrl('look-16')).toBeNull();
  expect(await suite.probe.count('urls')).toBe(15);
});
