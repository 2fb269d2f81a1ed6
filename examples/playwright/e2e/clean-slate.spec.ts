// Whatever ran before, on this worker or another, every test starts on an empty
// database. The same twelve slugs in every round: two workers sharing a database
// would refuse each other's (a unique violation), or count each other's rows.
import { expect, test } from '@pgwork/playwright';
import { countLinks, createLink, pause, slugs } from './support';

for (const round of [1, 2, 3, 4, 5]) {
  test(`round ${round}: starts empty and ends with exactly its own links`, async ({ request }) => {
    expect(await countLinks(request)).toBe(0);
    for (const slug of slugs('slate', 12)) await createLink(request, slug, `https://example.com/round-${round}`);
    await pause(15);
    expect(await countLinks(request)).toBe(12);
  });
}
