import { Probe, pause, slugs, useSuite } from '../probe';

const suite = useSuite();

test('inserting 25 urls leaves exactly 25', async () => {
  for (const slug of slugs('count', 25)) await suite.app.createUrl(slug, `https://example.com/${slug}`);
  await pause(25);
  expect(await suite.app.countUrls()).toBe(25);
  expect(await suite.probe.count('urls')).toBe(25);
  // With reset "transaction" the app's writes stay in the test's transaction: nobody else sees them.
  expect(await Probe.committedCount('urls')).toBe(process.env.PGWORK_RESET === 'transaction' ? 0 : 25);
});

test('the list holds exactly what this test created, in order', async () => {
  const created = slugs('list', 25);
  for (const slug of created) await suite.app.createUrl(slug, `https://example.com/${slug}`);
  await pause(25);
  const listed = await suite.app.listUrls();
  expect(listed.map((url) => url.slug)).toEqual(created);
  expect(listed.map((url) => url.id)).toEqual(created.map((_, i) => i + 1));
  expect(await suite.probe.slugs()).toEqual(created);
});
