import { pause, slugs, useSuite } from '../probe';

const suite = useSuite();

test('50 distinct slugs and one deliberate duplicate leave exactly 50 rows', async () => {
  const distinct = slugs('unique', 50);
  for (const slug of distinct.slice(0, 25)) await suite.app.createUrl(slug, 'https://example.com');
  await expect(suite.app.createUrl('unique-7', 'https://duplicate.example.com')).rejects.toThrow();
  for (const slug of distinct.slice(25)) await suite.app.createUrl(slug, 'https://example.com');
  await pause(25);
  expect(await suite.probe.count('urls')).toBe(50);
  expect(new Set(await suite.probe.slugs()).size).toBe(50);
  expect((await suite.app.findUrl('unique-7'))?.target).toBe('https://example.com');
});

test('a duplicate of a slug from the previous test is accepted: the table started empty', async () => {
  await suite.app.createUrl('unique-7', 'https://again.example.com');
  expect(await suite.probe.count('urls')).toBe(1);
});
