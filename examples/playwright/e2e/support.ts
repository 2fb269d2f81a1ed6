import { expect } from '@pgwork/playwright';
import type { APIRequestContext } from '@playwright/test';
import { Client } from 'pg';

/** A link as the API returns it. */
export interface ApiLink {
  id: number;
  slug: string;
  target: string;
  clicks: number;
  createdAt: string;
}

export const slugs = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i + 1}`);

/** Lets other workers' requests interleave with this test's, as real test work would. */
export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const targetOf = (slug: string) => `https://example.com/${slug}`;

/** POST /api/links, which must answer 201: a 409 here means the slug was taken by someone else's rows. */
export async function createLink(request: APIRequestContext, slug: string, target = targetOf(slug)): Promise<ApiLink> {
  const response = await request.post('/api/links', { data: { slug, target } });
  expect(response.status(), `POST /api/links ${slug}: ${await response.text()}`).toBe(201);
  return response.json();
}

export async function listLinks(request: APIRequestContext): Promise<ApiLink[]> {
  const response = await request.get('/api/links');
  expect(response.status()).toBe(200);
  return response.json();
}

export async function countLinks(request: APIRequestContext): Promise<number> {
  const response = await request.get('/api/links/count');
  expect(response.status()).toBe(200);
  return (await response.json()).count;
}

/** Follows a short link as a client that does not chase the redirect: the click is recorded, the target returned. */
export async function followLink(request: APIRequestContext, slug: string): Promise<string | undefined> {
  const response = await request.get(`/${slug}`, { maxRedirects: 0 });
  expect(response.status(), `GET /${slug}`).toBe(302);
  return response.headers().location;
}

/** One query on a connection of its own to `databaseUrl`: what is really stored, not what the app reads back. */
export async function queryDatabase<Row extends object>(
  databaseUrl: string,
  sql: string,
  params: unknown[] = [],
): Promise<Row[]> {
  const client = new Client({ connectionString: databaseUrl, application_name: 'shortener-e2e-probe' });
  await client.connect();
  try {
    return (await client.query<Row>(sql, params)).rows;
  } finally {
    await client.end();
  }
}
