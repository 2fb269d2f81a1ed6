// Identity values restart before every test: the first link a test creates has
// id 1, whatever this worker or any other created before.
import { expect, test } from '@pgwork/playwright';
import { createLink, listLinks, pause, slugs } from './support';

test('the first link of a test gets id 1, the tenth id 10', async ({ request }) => {
  const first = await createLink(request, 'first');
  expect(first.id).toBe(1);
  for (const slug of slugs('next', 9)) await createLink(request, slug);
  await pause(25);
  expect((await listLinks(request)).map((link) => link.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

test('identities restart before every test, even after deletes', async ({ request }) => {
  const first = await createLink(request, 'again-first');
  expect(first.id).toBe(1);
  expect((await request.delete('/api/links/again-first')).status()).toBe(204);
  const next = await createLink(request, 'after-delete');
  expect(next.id).toBe(2);
  await pause(25);
  expect((await listLinks(request)).map((link) => link.id)).toEqual([2]);
});
