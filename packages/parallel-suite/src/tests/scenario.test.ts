/**
 * A scenario, as real suites write them: each test builds on the state the one
 * before left, so the file asks pgwork to reset once, before its first test.
 * @pgwork-reset-before file
 */
import { pause, useSuite } from '../probe';

const suite = useSuite();

test('a new short link starts with no clicks', async () => {
  const url = await suite.app.createUrl('launch', 'https://example.com/launch');
  expect(url.id).toBe(1);
  await pause(20);
  expect(await suite.app.countClicks(url.id)).toBe(0);
});

test('clicks on the link from the previous test are counted', async () => {
  const url = await suite.app.findUrl('launch');
  expect(url).toMatchObject({ id: 1, slug: 'launch' });
  for (let i = 0; i < 3; i++) await suite.app.recordClick(url!.id);
  await pause(20);
  expect(await suite.app.countClicks(url!.id)).toBe(3);
  expect(await suite.probe.count('clicks')).toBe(3);
});

test('deleting the link takes its clicks with it', async () => {
  expect(await suite.probe.count('clicks')).toBe(3);
  await suite.app.deleteUrl(1);
  await pause(20);
  expect(await suite.probe.count('urls')).toBe(0);
  expect(await suite.probe.count('clicks')).toBe(0);
});
