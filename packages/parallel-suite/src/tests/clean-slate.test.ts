import { pause, slugs, useSuite } from '../probe';

const suite = useSuite();

// Whatever ran before, in this file or on another worker, every test starts empty.
// A loop rather than describe.each, which node:test and Mocha do not have.
for (const round of [1, 2, 3, 4, 5]) {
  describe(`round ${round}`, () => {
    test('starts empty and ends with exactly its own rows', async () => {
      expect(await suite.probe.count('urls')).toBe(0);
      for (const slug of slugs(`slate-${round}`, 12)) await suite.app.createUrl(slug, 'https://example.com');
      await pause(15);
      expect(await suite.app.countUrls()).toBe(12);
    });
  });
}
