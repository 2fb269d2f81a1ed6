import { pause, useSuite } from '../probe';

const suite = useSuite();

test('click totals are exact per url', async () => {
  const urls = [];
  for (const slug of ['a', 'b', 'c', 'd']) urls.push(await suite.app.createUrl(slug, `https://example.com/${slug}`));
  for (const [index, url] of urls.entries()) {
    for (let i = 0; i <= index * 3; i++) await suite.app.recordClick(url.id);
  }
  await pause(20);
  expect(await Promise.all(urls.map((url) => suite.app.countClicks(url.id)))).toEqual([1, 4, 7, 10]);
  expect(await suite.probe.count('clicks')).toBe(22);
});
