import { pause, useSuite } from '../probe';

const suite = useSuite();

test('deleting a url deletes its clicks and nothing else', async () => {
  const doomed = await suite.app.createUrl('doomed', 'https://example.com/doomed');
  const kept = await suite.app.createUrl('kept', 'https://example.com/kept');
  for (let i = 0; i < 10; i++) await suite.app.recordClick(doomed.id);
  for (let i = 0; i < 4; i++) await suite.app.recordClick(kept.id);
  await pause(20);
  expect(await suite.probe.count('clicks')).toBe(14);
  await suite.app.deleteUrl(doomed.id);
  expect(await suite.probe.count('clicks')).toBe(4);
  expect(await suite.probe.count('clicks', `url_id = ${kept.id}`)).toBe(4);
  expect(await suite.probe.slugs()).toEqual(['kept']);
});

test('clicks of the previous test are gone', async () => {
  expect(await suite.probe.count('clicks')).toBe(0);
  expect(await suite.probe.count('urls')).toBe(0);
});
