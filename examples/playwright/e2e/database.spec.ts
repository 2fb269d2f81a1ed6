// The test and the app server on one database: this worker's. What the API writes
// is in the database the test reaches through `databaseUrl`, and what the test
// writes there is what the API serves.
import { expect, test } from '@pgwork/playwright';
import { createLink, followLink, listLinks, pause, queryDatabase, slugs } from './support';

test("DATABASE_URL, databaseUrl and baseURL all lead to this worker's own database and server", async ({
  databaseUrl,
  webServer,
  baseURL,
}) => {
  expect(process.env.DATABASE_URL).toBe(databaseUrl);
  expect(webServer?.url).toBe(`http://127.0.0.1:${webServer?.port}`);
  expect(baseURL).toBe(webServer?.url);
  const [row] = await queryDatabase<{ tables: string[] }>(
    databaseUrl,
    "SELECT array_agg(tablename::text ORDER BY tablename) AS tables FROM pg_tables WHERE tablename IN ('urls', 'clicks')",
  );
  expect(row!.tables).toEqual(['clicks', 'urls']);
});

test('the database holds exactly what the API wrote', async ({ request, databaseUrl }) => {
  const created = slugs('written', 10);
  for (const slug of created) await createLink(request, slug);
  for (const slug of ['written-2', 'written-2', 'written-5']) await followLink(request, slug);
  await pause(25);
  const urls = await queryDatabase<{ id: number; slug: string }>(databaseUrl, 'SELECT id, slug FROM urls ORDER BY id');
  expect(urls).toEqual(created.map((slug, i) => ({ id: i + 1, slug })));
  const clicks = await queryDatabase<{ slug: string; n: number }>(
    databaseUrl,
    'SELECT u.slug, count(*)::int AS n FROM clicks c JOIN urls u ON u.id = c.url_id GROUP BY u.slug ORDER BY u.slug',
  );
  expect(clicks).toEqual([
    { slug: 'written-2', n: 2 },
    { slug: 'written-5', n: 1 },
  ]);
});

test('rows inserted straight into the database are what the API serves', async ({ request, databaseUrl }) => {
  const inserted = slugs('direct', 10);
  await queryDatabase(databaseUrl, 'INSERT INTO urls (slug, target) SELECT s, $2 || s FROM unnest($1::text[]) AS s', [
    inserted,
    'https://example.com/',
  ]);
  await pause(25);
  const listed = await listLinks(request);
  expect(listed.map((link) => [link.id, link.slug, link.clicks])).toEqual(inserted.map((slug, i) => [i + 1, slug, 0]));
});

test('deleting a link through the API deletes its clicks from the database', async ({ request, databaseUrl }) => {
  await createLink(request, 'doomed');
  await createLink(request, 'kept');
  for (const slug of ['doomed', 'doomed', 'kept']) await followLink(request, slug);
  expect((await request.delete('/api/links/doomed')).status()).toBe(204);
  await pause(25);
  const clicks = await queryDatabase<{ slug: string }>(
    databaseUrl,
    'SELECT u.slug FROM clicks c JOIN urls u ON u.id = c.url_id ORDER BY c.id',
  );
  expect(clicks).toEqual([{ slug: 'kept' }]);
  expect(await queryDatabase(databaseUrl, 'SELECT count(*)::int AS n FROM clicks')).toEqual([{ n: 1 }]);
});
