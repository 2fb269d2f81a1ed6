// API tests: the `request` fixture only, no browser. Each asserts on everything in
// the database, so they pass only when no other worker writes to it or resets it.
import { expect, test } from '@pgwork/playwright';
import { countLinks, createLink, followLink, listLinks, pause, slugs } from './support';

test('after creating 25 links the list is exactly those 25, in order', async ({ request }) => {
  const created = slugs('mine', 25);
  for (const slug of created) await createLink(request, slug);
  await pause(25);
  const listed = await listLinks(request);
  expect(listed.map((link) => link.slug)).toEqual(created);
  expect(listed.map((link) => link.id)).toEqual(created.map((_, i) => i + 1));
});

test('the count is the number of links this test created', async ({ request }) => {
  expect(await countLinks(request)).toBe(0);
  for (const slug of slugs('counted', 25)) await createLink(request, slug);
  await pause(25);
  expect(await countLinks(request)).toBe(25);
});

test('a duplicate slug is refused with 409 and the first link is kept', async ({ request }) => {
  const distinct = slugs('unique', 20);
  for (const slug of distinct.slice(0, 10)) await createLink(request, slug);
  const duplicate = await request.post('/api/links', {
    data: { slug: 'unique-7', target: 'https://duplicate.example.com' },
  });
  expect(duplicate.status()).toBe(409);
  expect(await duplicate.json()).toEqual({ error: 'the slug "unique-7" is already taken' });
  for (const slug of distinct.slice(10)) await createLink(request, slug);
  await pause(25);
  expect(await countLinks(request)).toBe(20);
  const kept = await request.get('/api/links/unique-7');
  expect((await kept.json()).target).toBe('https://example.com/unique-7');
});

test('a slug another test used is free again: every test starts empty', async ({ request }) => {
  const link = await createLink(request, 'unique-7', 'https://again.example.com');
  expect(link).toMatchObject({ id: 1, slug: 'unique-7', clicks: 0 });
  await pause(25);
  expect(await countLinks(request)).toBe(1);
});

test('a short link answers 302 to its target and counts every visit', async ({ request }) => {
  await createLink(request, 'visited', 'https://example.com/visited');
  for (let visit = 0; visit < 3; visit++)
    expect(await followLink(request, 'visited')).toBe('https://example.com/visited');
  await pause(25);
  const link = await request.get('/api/links/visited');
  expect(await link.json()).toMatchObject({ id: 1, slug: 'visited', clicks: 3 });
  expect((await request.get('/unknown', { maxRedirects: 0 })).status()).toBe(404);
});
