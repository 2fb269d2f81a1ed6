// Browser tests: the HTML page, driven the way a user would, on this worker's own
// server and database. The page shows every link in the database, so another
// worker's rows (or its reset) would show up here.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test as pgworkTest, expect } from '@pgwork/playwright';
import type { Page } from '@playwright/test';
import { createLink, pause, slugs, targetOf } from './support';

// Where the short links lead: a page of this worker's own, since the browser here has no
// network (and a route() stand-in for an outside site is only consulted after a failed attempt).
const test = pgworkTest.extend<object, { targetSite: string }>({
  targetSite: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright requires a fixture's first parameter to be an object pattern
    async ({}, use) => {
      const site = createServer((req, res) => {
        const path = new URL(req.url ?? '/', 'http://target').pathname.replace(/[^\w/-]/g, '');
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(`<!doctype html><title>Target site</title><h1>Target site: ${path}</h1>`);
      });
      await new Promise<void>((listening) => site.listen(0, '127.0.0.1', listening));
      await use(`http://127.0.0.1:${(site.address() as AddressInfo).port}`);
      site.closeAllConnections();
      await new Promise((closed) => site.close(closed));
    },
    { scope: 'worker' },
  ],
});

async function submitLink(page: Page, slug: string, target: string) {
  await page.getByLabel('Slug').fill(slug);
  await page.getByLabel('Target URL').fill(target);
  await page.getByRole('button', { name: 'Create link' }).click();
}

const rowOf = (page: Page, slug: string) =>
  page.getByTestId('link').filter({ has: page.getByRole('link', { name: slug, exact: true }) });

test('a link created through the form is listed, with no clicks', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByText('No links yet.')).toBeVisible();
  await submitLink(page, 'docs', 'https://example.com/docs');
  await expect(page).toHaveURL('/');
  await expect(page.getByTestId('link-count')).toHaveText('1 link');
  const row = rowOf(page, 'docs');
  await expect(row.getByRole('cell')).toHaveText(['docs', 'https://example.com/docs', '0']);
});

test('the form refuses a slug that is taken, says why, and keeps what was typed', async ({ page }) => {
  await page.goto('/');
  await submitLink(page, 'taken', 'https://example.com/first');
  await expect(page.getByTestId('link-count')).toHaveText('1 link');
  await submitLink(page, 'taken', 'https://example.com/second');
  await expect(page.getByRole('alert')).toHaveText('the slug "taken" is already taken');
  await expect(page.getByLabel('Target URL')).toHaveValue('https://example.com/second');
  await expect(page.getByTestId('link')).toHaveCount(1);
  await expect(rowOf(page, 'taken').getByRole('cell').nth(1)).toHaveText('https://example.com/first');
});

test('following a short link lands on its target and each visit counts', async ({ page, request, targetSite }) => {
  const target = `${targetSite}/news`;
  await createLink(request, 'news', target);
  await page.goto('/');
  await expect(rowOf(page, 'news').getByTestId('clicks')).toHaveText('0');

  for (const visits of ['1', '2']) {
    await page.getByRole('link', { name: 'news', exact: true }).click();
    await expect(page).toHaveURL(target);
    await expect(page.getByRole('heading')).toHaveText('Target site: /news');
    await page.goto('/');
    await expect(rowOf(page, 'news').getByTestId('clicks')).toHaveText(visits);
  }
});

test('the page lists exactly the links this test created, in order', async ({ page, request }) => {
  const created = slugs('listed', 10);
  for (const slug of created) await createLink(request, slug, targetOf(slug));
  await pause(25);
  await page.goto('/');
  await expect(page.getByTestId('link-count')).toHaveText('10 links');
  await expect(page.getByTestId('link').getByRole('link')).toHaveText(created);
});
