import { pause, useSuite } from '../probe';

const suite = useSuite();

test('an app-level transaction that fails leaves nothing behind', async () => {
  await expect(suite.app.createUrlWithClicks('rolled-back', 'https://example.com', 5, true)).rejects.toThrow();
  await pause(20);
  expect(await suite.probe.count('urls')).toBe(0);
  expect(await suite.probe.count('clicks')).toBe(0);
});

test('an app-level transaction that succeeds leaves exactly its rows', async () => {
  const url = await suite.app.createUrlWithClicks('committed', 'https://example.com', 3);
  expect(url.id).toBe(1);
  await pause(20);
  expect(await suite.probe.count('urls')).toBe(1);
  expect(await suite.probe.count('clicks', `url_id = ${url.id}`)).toBe(3);
  expect(await suite.app.countClicks(url.id)).toBe(3);
});
