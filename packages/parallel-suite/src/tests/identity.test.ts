import { pause, slugs, useSuite } from '../probe';

const suite = useSuite();

test('the first url of a test gets id 1', async () => {
  const url = await suite.app.createUrl('first', 'https://example.com/1');
  expect(url.id).toBe(1);
  for (const slug of slugs('more', 9)) await suite.app.createUrl(slug, 'https://example.com');
  await pause(20);
  expect(await suite.probe.ids()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

test('identities restart before every test, even after deletes', async () => {
  const url = await suite.app.createUrl('again-first', 'https://example.com/1');
  expect(url.id).toBe(1);
  await suite.app.deleteUrl(url.id);
  const next = await suite.app.createUrl('after-delete', 'https://example.com/2');
  expect(next.id).toBe(2);
  await pause(20);
  expect(await suite.probe.ids()).toEqual([2]);
});
